// Package banner is the consent banner a visitor sees: its texts, the
// markup rendered per visitor, the stylesheet and the client script.
//
// The gateway inserts three pieces into every HTML page it rewrites
// (see rewrite.Page): HeadStart right after <head> (only with Google
// Consent Mode), HeadEnd before </head> (the stylesheet and the deferred
// script), and BodyStart right after <body> (the banner). It serves the
// files of Assets under Config.Prefix. Everything inserted is ASCII-only,
// every non-ASCII character written as a numeric character reference
// (é as &#233;), so a page in any charset stays intact, and every text is
// HTML-escaped. There are no inline scripts, styles or event handlers, so
// a Content-Security-Policy of script-src 'self' works.
//
// # Markup
//
// BodyStart renders, in the visitor's language, only what the visitor's
// state needs at once:
//
//	<div id="consentgate" class="cg-root [cg-decided]" lang data-cg-*>
//	  <form class="cg-form" method="post" action="{Prefix}consent">
//	    <input type="hidden" name="return" value="{ReturnPath}">
//	    <section class="cg-banner" role="dialog" aria-labelledby aria-describedby>
//	      (undecided only) title, [policy change line], intro naming the
//	      controller and purposes + policy link, [recipients], [GPC
//	      notice], error line, and three equal class="cg-btn" controls:
//	      accept_all, reject_all (submit, name="action") and Settings
//	      (a link to the settings page, data-cg-open)
//	    </section>
//	  </form>
//	  <a class="cg-toggle" href="{settings page}" data-cg-open>Cookie settings</a>
//	</div>
//
// A decided visitor (State.Decided) gets no first layer: only the
// persistent "Cookie settings" control shows. The settings dialog is not
// in the page. It is an asset per language (Dialog names it, Assets holds
// it: settings-<lang>.<hash>.html, cached for good), fetched by the script
// when the visitor opens the settings:
//
//	<dialog class="cg-settings" id="{SettingsAnchor}" aria-labelledby aria-describedby data-cg-texts>
//	  title, intro + policy link, GPC notice (hidden; the script shows it),
//	  a checkbox name="category" per category (necessary checked and
//	  disabled; the script ticks the others the decision accepted),
//	  record line, error line; Save (submit, action=save), Accept all,
//	  Reject all and Close
//	</dialog>
//
// The script puts it into the form right after the return field, so that
// its Save is the form's default button: Enter on a checkbox saves, it
// never accepts all. Nothing is ticked before a decision, with or without
// GPC.
//
// The settings page (SettingsPage, served by the consent endpoint at
// {Prefix}consent?view=settings&return={ReturnPath}) is the same dialog,
// open, in a document of its own with the banner's stylesheet: the
// visitor's choices ticked and the site's services listed by the server,
// Close a link back to the page. It is where Settings and Cookie settings
// lead without JavaScript, and where the script sends the visitor when
// the page refuses inserted markup (a CSP requiring Trusted Types that
// allows no policy of the script's own).
//
// Without JavaScript the form posts to the consent endpoint, which answers
// 303 back to "return". With JavaScript the script opens the fetched
// dialog for Settings, Cookie settings, links to #{SettingsAnchor}
// anywhere and a hash change to it, as a modal dialog: focus moves to its
// title and back on close, Tab stays inside, Escape closes it.
//
// The root element carries what the script reads:
//
//	data-cg-prefix        Config.Prefix
//	data-cg-decided       "true" or "false"
//	data-cg-accepted      accepted categories, space-separated (necessary always)
//	data-cg-offered       offered optional categories, space-separated
//	data-cg-gpc           "true" or "false"
//	data-cg-consent-mode  "true" or "false"
//	data-cg-anchor        Config.SettingsAnchor
//	data-cg-dialog        the settings dialog asset's name, under the prefix
//	data-cg-texts         JSON: embed_notice, embed_load, embed_always, error,
//	                      category_<id> (the dialog's own data-cg-texts adds
//	                      services_in, record, history_link)
//	data-cg-vendors       the name of the asset of Config.VendorNames (JSON:
//	                      vendor id -> name), fetched for the first
//	                      placeholder; only with Config.VendorNames
//
// The script adds the class cg-js when it starts and data-cg-ready once
// it has set up every control, and sets aria-busy while a decision is
// sent.
//
// # Texts
//
// Dutch (nl) and English (en) are built in; Config.Texts overrides any
// text per language, and a language that is not built in must give every
// text it shows. The keys (see Keys) are title, intro (with {controller}
// and {purposes}), purpose_<category> (joined into {purposes} with "and"),
// policy_link, accept_all, reject_all, settings, save, close,
// cookie_settings, settings_title, settings_intro, always_on,
// category_<category> and category_<category>_description for each of
// necessary, statistics, preferences, marketing and unclassified,
// gpc_notice, embed_notice (with {vendor} and {category}), embed_load,
// policy_changed and error. Banner.Texts returns exactly what is shown and
// Banner.TextsHash its SHA-256, for the proof log.
//
// # Attribute contract
//
// The script restores what the rewriter neutralised (rewrite.AttrCategory
// and friends), on load and after each decision, in document order: every
// element with data-consent-category whose categories (space-separated;
// unknown names count as unclassified) are all accepted. A script that is
// inert (type="text/plain", or with data-consent-src) is replaced by a new
// script with the same attributes, data-consent-src as src and
// data-consent-type as type (no type when absent), its text copied and the
// page's CSP nonce set. Classic scripts run one after the other, an
// external one loading before the next runs; defer and module scripts run
// after them, async ones when they load. Other elements get
// data-consent-src, -srcset, -href and -data back as src, srcset, href and
// data. A blocked iframe shows a placeholder of its size naming the
// vendor (data-consent-vendor) and the category, with a button that
// accepts the category and loads it.
//
// # Consent endpoint
//
// POST {Prefix}consent with Content-Type application/json and the body
// {"action":"accept_all"|"reject_all"|"save","categories":[...]}
// (categories only with save) answers 200 with
// {"decided":true,"id":...,"categories":{"necessary":true,...},
// "policy_version":...,"time":...,"withdrawn":[...]} and sets the HttpOnly
// consent cookie; errors are 4xx/5xx with {"error":...}. The script then
// hides the banner, ticks the boxes, calls Consent Mode's update and
// restores what became accepted without a reload, unless something was
// withdrawn: then it reloads, since scripts that ran cannot be stopped.
// On an error it shows the error text and keeps the dialog open. The same
// URL takes the form post (action, category..., return) and answers 303;
// GET answers the current state (used when a page comes back from the
// back-forward cache).
//
// # Google Consent Mode v2
//
// With Config.ConsentMode, HeadStart is a synchronous external script
// whose tag carries data-cg-decided and data-cg-accepted. It defines
// dataLayer and gtag when absent, calls gtag('consent','default',{...})
// with ad_storage, ad_user_data, ad_personalization and analytics_storage
// all 'denied', then, when decided, an update for what was accepted. The
// banner script calls the same update on every decision: statistics sets
// analytics_storage; marketing sets ad_storage, ad_user_data and
// ad_personalization. This is basic mode: Google's tags stay neutralised
// until their category is accepted.
package banner
