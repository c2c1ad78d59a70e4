package banner

import (
	"bytes"
	"fmt"
	"html/template"
	"net/url"
	"strings"

	"github.com/consentgate/consentgate/rules"
)

// markupSource is the banner markup every page carries: only what the
// visitor's state needs at once. An undecided visitor gets the first layer
// (Accept all, Reject all, Settings); a decided one only the "Cookie
// settings" toggle. The settings dialog is not in the page: the script
// fetches it on demand (Banner.Dialog), and without JavaScript the
// Settings link leads to the settings page (Banner.SettingsPage). Its line
// breaks fall between tags and are removed, with the indentation, when it
// is parsed.
const markupSource = `
<div id="consentgate" class="cg-root{{if .Decided}} cg-decided{{end}}" lang="{{.Lang}}"
 data-cg-prefix="{{.Prefix}}" data-cg-decided="{{.Decided}}" data-cg-accepted="{{.Accepted}}"
 data-cg-offered="{{.Offered}}" data-cg-gpc="{{.GPC}}" data-cg-consent-mode="{{.ConsentMode}}"
 data-cg-anchor="{{.Anchor}}" data-cg-dialog="{{.Dialog}}" data-cg-texts="{{.ScriptTexts}}"{{if .Vendors}} data-cg-vendors="{{.Vendors}}"{{end}}>
	<form class="cg-form" method="post" action="{{.Action}}">
		<input type="hidden" name="return" value="{{.Return}}">
		{{if not .Decided}}<section class="cg-banner" role="dialog" aria-modal="false" aria-labelledby="cg-title" aria-describedby="cg-intro">
			<h2 class="cg-title" id="cg-title">{{.T.title}}</h2>
			{{if .PolicyChanged}}<p class="cg-notice cg-policy-changed">{{.T.policy_changed}}</p>{{end}}
			<p class="cg-text" id="cg-intro">{{.T.intro}}{{if .PolicyURL}} <a class="cg-link" href="{{.PolicyURL}}">{{.T.policy_link}}</a>{{end}}</p>
			{{.Recipients}}
			{{if .GPC}}<p class="cg-notice cg-gpc">{{.T.gpc_notice}}</p>{{end}}
			<p class="cg-error" role="alert" hidden></p>
			<div class="cg-buttons">
				<button class="cg-btn" type="submit" name="action" value="accept_all">{{.T.accept_all}}</button>
				<button class="cg-btn" type="submit" name="action" value="reject_all">{{.T.reject_all}}</button>
				<a class="cg-btn" href="{{.Settings}}" aria-haspopup="dialog" data-cg-open="">{{.T.settings}}</a>
			</div>
		</section>{{end}}
	</form>
	<a class="cg-toggle" href="{{.Settings}}" data-cg-open="">{{.T.cookie_settings}}</a>
</div>`

// dialogSource is the settings dialog: fetched by the script (the Dialog
// asset, the same for every visitor of a language: the script ticks the
// boxes and shows the GPC notice), or inside the settings page without
// JavaScript (rendered for the visitor, open, services listed).
const dialogSource = `
<dialog class="cg-settings" id="{{.Anchor}}" aria-labelledby="cg-settings-title" aria-describedby="cg-settings-intro"{{if .Page}} open{{else}} data-cg-texts="{{.DialogTexts}}"{{end}}>
	<h2 class="cg-title" id="cg-settings-title" tabindex="-1">{{.T.settings_title}}</h2>
	<p class="cg-text" id="cg-settings-intro">{{.T.settings_intro}}{{if .PolicyURL}} <a class="cg-link" href="{{.PolicyURL}}">{{.T.policy_link}}</a>{{end}}</p>
	{{if .Page}}{{if .PolicyChanged}}<p class="cg-notice cg-policy-changed">{{.T.policy_changed}}</p>{{end}}{{end}}
	{{if .Page}}{{if .GPC}}<p class="cg-notice cg-gpc">{{.T.gpc_notice}}</p>{{end}}{{else}}<p class="cg-notice cg-gpc" hidden>{{.T.gpc_notice}}</p>{{end}}
	<ul class="cg-cats">
		<li class="cg-cat">
			<input class="cg-check" type="checkbox" id="cg-cat-necessary" name="category" value="necessary" checked disabled aria-describedby="cg-cat-necessary-desc">
			<label class="cg-label" for="cg-cat-necessary">{{.T.category_necessary}} <span class="cg-always">({{.T.always_on}})</span></label>
			<p class="cg-desc" id="cg-cat-necessary-desc">{{.T.category_necessary_description}}</p>
		</li>
		{{range .Cats}}<li class="cg-cat">
			<input class="cg-check" type="checkbox" id="cg-cat-{{.ID}}" name="category" value="{{.ID}}"{{if .Checked}} checked{{end}} aria-describedby="cg-cat-{{.ID}}-desc">
			<label class="cg-label" for="cg-cat-{{.ID}}">{{.Name}}</label>
			<p class="cg-desc" id="cg-cat-{{.ID}}-desc">{{.Desc}}</p>
			{{if .Services}}<ul class="cg-services" aria-label="{{.ServicesLabel}}">
				{{range .Services}}<li class="cg-service">
					<input class="cg-check" type="checkbox" id="cg-svc-{{.ID}}" name="service" value="{{.ID}}"{{if .Granted}} checked{{end}} data-cg-category="{{.Category}}">
					<label class="cg-label" for="cg-svc-{{.ID}}">{{.Name}}</label>
				</li>{{end}}
			</ul>{{end}}
		</li>{{end}}
	</ul>
	{{/* The visitor's consent ID, the date of their decision and a link
	     to what was recorded; the script fills it in. */}}
	<p class="cg-text cg-record" hidden></p>
	<p class="cg-error" role="alert" hidden></p>
	<div class="cg-buttons">
		<button class="cg-btn" type="submit" name="action" value="save">{{.T.save}}</button>
		{{/* Withdrawing is as easy as consenting (GDPR art. 7(3)): the
		     first layer's two buttons, as prominent, wherever the choice
		     is reopened. */}}
		<button class="cg-btn" type="submit" name="action" value="accept_all">{{.T.accept_all}}</button>
		<button class="cg-btn" type="submit" name="action" value="reject_all">{{.T.reject_all}}</button>
		{{if .Page}}<a class="cg-btn cg-btn-quiet" href="{{.Return}}">{{.T.close}}</a>{{else}}<button class="cg-btn cg-btn-quiet cg-close-btn" type="button" data-cg-close="">{{.T.close}}</button>{{end}}
	</div>
</dialog>`

// pageSource is the settings page, for visitors without JavaScript: the
// dialog, open, in a document of its own with the banner's stylesheet;
// its form posts to the consent endpoint, which answers 303 back to the
// page the visitor came from.
const pageSource = `<!DOCTYPE html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.T.settings_title}}</title>
<link rel="stylesheet" href="{{.CSS}}">
</head>
<body class="cg-page">
<div id="consentgate" class="cg-root cg-standalone" lang="{{.Lang}}">
<form class="cg-form" method="post" action="{{.Action}}">
<input type="hidden" name="return" value="{{.Return}}">
{{template "dialog" .}}
</form>
</div>
</body>
</html>
`

// markup, dialog and settingsPage are the parsed templates.
var (
	markup       = template.Must(template.New("banner").Option("missingkey=error").Parse(compact(markupSource)))
	dialog       = template.Must(template.New("dialog").Option("missingkey=error").Parse(compact(dialogSource)))
	settingsPage = template.Must(template.Must(dialog.Clone()).New("page").Parse(pageSource))
)

// compact removes the line breaks of the template source and the
// indentation after them.
func compact(s string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(s, "\n") {
		b.WriteString(strings.TrimLeft(line, "\t"))
	}
	return b.String()
}

// view is what the templates render.
type view struct {
	Lang, Prefix, Action, Anchor, Return string
	Settings, Dialog, CSS                string
	Recipients                           string
	Decided, GPC, PolicyChanged          bool
	ConsentMode                          bool
	// Page: the settings page (no JavaScript), not the fetched dialog.
	Page                 bool
	Accepted, Offered    string
	PolicyURL            string
	ScriptTexts, Vendors string
	DialogTexts          string
	T                    map[string]string
	Cats                 []catView
}

type catView struct {
	ID, Name, Desc string
	Checked        bool
	ServicesLabel  string
	Services       []ServiceChoice
}

// ServiceChoice is one service the settings page lists under its
// category, with its own switch.
type ServiceChoice struct {
	// ID is the vendor ID, Name what the switch says.
	ID, Name string
	// Category is the service's category; services of categories not
	// offered are left out.
	Category rules.Category
	// Granted ticks the switch.
	Granted bool
}

// The sentinels stand in for the per-request parts in the cached markup;
// no escaping changes them.
const (
	// returnSentinel is the return path in the form's hidden field.
	returnSentinel = "cgRETURNPATHcg"
	// returnQuerySentinel is the return path in the settings link's query.
	returnQuerySentinel = "cgRETURNQUERYcg"
	// recipientsSentinel is the recipients line (State.Recipients).
	recipientsSentinel = "cgRECIPIENTScg"
)

// The holes of the rendered markup.
const (
	holeNone = iota
	holeReturn
	holeReturnQuery
	holeRecipients
)

// piece is literal markup, then a hole (or none).
type piece struct {
	lit  []byte
	hole int
}

// rendered is the markup of one language and state, split around the
// per-request parts.
type rendered struct{ pieces []piece }

// split cuts html at the sentinels.
func split(html string) (*rendered, error) {
	holes := map[string]int{returnSentinel: holeReturn, returnQuerySentinel: holeReturnQuery, recipientsSentinel: holeRecipients}
	seen := map[int]int{}
	r := &rendered{}
	for {
		at, which := -1, ""
		for s := range holes {
			if i := strings.Index(html, s); i >= 0 && (at < 0 || i < at) {
				at, which = i, s
			}
		}
		if at < 0 {
			r.pieces = append(r.pieces, piece{lit: []byte(html)})
			break
		}
		r.pieces = append(r.pieces, piece{lit: []byte(html[:at]), hole: holes[which]})
		seen[holes[which]]++
		html = html[at+len(which):]
	}
	if seen[holeReturn] != 1 || seen[holeRecipients] > 1 {
		return nil, fmt.Errorf("the return path placeholder is not in the markup once")
	}
	return r, nil
}

// stateKeys is the number of distinct states per language: decided, GPC,
// policy changed, and the accepted categories other than necessary.
const stateKeys = 1 << 7

func stateKey(s State) int {
	k := int(s.Accepted&rules.AllSet) >> 1
	if s.Decided && !s.PolicyChanged {
		k |= 1 << 4
	}
	if s.GPC {
		k |= 1 << 5
	}
	if s.PolicyChanged {
		k |= 1 << 6
	}
	return k
}

// baseView is the part of the view every template shares.
func (b *Banner) baseView(l *language) view {
	return view{
		Lang:        l.tag,
		Prefix:      b.cfg.Prefix,
		Action:      b.cfg.Prefix + "consent",
		Settings:    b.cfg.Prefix + "consent?view=settings&return=" + returnQuerySentinel,
		Anchor:      b.cfg.SettingsAnchor,
		Return:      returnSentinel,
		Recipients:  recipientsSentinel,
		ConsentMode: b.cfg.ConsentMode,
		Offered:     rules.SetOf(b.cats...).String(),
		PolicyURL:   b.cfg.PolicyURL,
		ScriptTexts: l.scriptTexts,
		DialogTexts: l.dialogTexts,
		Vendors:     b.vendors,
		T:           l.shown,
	}
}

// render returns the markup of l in state s (ReturnPath aside), from the
// cache when it was rendered before.
func (b *Banner) render(l *language, s State) (*rendered, error) {
	slot := &b.cache[l.index*stateKeys+stateKey(s)]
	if r := slot.Load(); r != nil {
		return r, nil
	}
	accepted := (s.Accepted & rules.AllSet).With(rules.Necessary)
	// Asking again after a policy change shows the first layer, as if
	// nothing had been decided.
	v := b.baseView(l)
	v.Decided = s.Decided && !s.PolicyChanged
	v.GPC = s.GPC
	v.PolicyChanged = s.PolicyChanged
	v.Accepted = accepted.String()
	v.Dialog = l.dialogName
	var buf bytes.Buffer
	if err := markup.Execute(&buf, v); err != nil {
		return nil, err
	}
	r, err := split(string(appendASCII(nil, buf.String())))
	if err != nil {
		return nil, err
	}
	slot.Store(r)
	return r, nil
}

// appendRendered appends r with the holes filled in for s.
func (b *Banner) appendRendered(dst []byte, r *rendered, s State) []byte {
	ret := safeReturnPath(s.ReturnPath)
	for _, p := range r.pieces {
		dst = append(dst, p.lit...)
		switch p.hole {
		case holeReturn:
			dst = escapeAttr(dst, ret)
		case holeReturnQuery:
			dst = escapeAttr(dst, url.QueryEscape(ret))
		case holeRecipients:
			line := s.Recipients.line(b, s.Lang)
			if before, after, ok := bytes.Cut(line, []byte(returnQuerySentinel)); ok {
				dst = append(dst, before...)
				dst = escapeAttr(dst, url.QueryEscape(ret))
				line = after
			}
			dst = append(dst, line...)
		}
	}
	return dst
}

// renderDialog renders the dialog asset of l: no box ticked, the GPC
// notice hidden; the script sets both from the visitor's state.
func (b *Banner) renderDialog(l *language) ([]byte, error) {
	v := b.baseView(l)
	v.Cats = b.catViews(l, 0, nil)
	var buf bytes.Buffer
	if err := dialog.Execute(&buf, v); err != nil {
		return nil, err
	}
	out := appendASCII(nil, buf.String())
	if bytes.Contains(out, []byte("cgRETURN")) || bytes.Contains(out, []byte(recipientsSentinel)) {
		return nil, fmt.Errorf("the dialog holds a per-request placeholder")
	}
	return out, nil
}

// catViews returns the offered categories, ticked as accepted says, with
// their services.
func (b *Banner) catViews(l *language, accepted rules.Set, services []ServiceChoice) []catView {
	var out []catView
	for _, c := range b.cats {
		cv := catView{
			ID:      c.String(),
			Name:    l.shown[CategoryNameKey(c)],
			Desc:    l.shown[CategoryDescriptionKey(c)],
			Checked: accepted.Has(c),
		}
		cv.ServicesLabel = strings.ReplaceAll(l.full[KeyServicesIn], "{category}", cv.Name)
		for _, s := range services {
			if s.Category == c && s.ID != "" && isASCIIPrintable(s.ID) && checkText(s.Name) == nil {
				cv.Services = append(cv.Services, s)
			}
		}
		out = append(out, cv)
	}
	return out
}

// SettingsPage returns the settings page for the visitor in s, for
// browsers without JavaScript (and pages whose policy refuses the
// fetched dialog): a whole HTML document (UTF-8, ASCII-only) with the
// settings dialog open, the visitor's choices ticked, services listed
// under their categories, and a form that posts to the consent endpoint
// with s.ReturnPath (made same-origin) to come back to. It needs no
// script and no inline style.
func (b *Banner) SettingsPage(s State, services []ServiceChoice) ([]byte, error) {
	l := b.lang(s.Lang)
	decided := s.Decided && !s.PolicyChanged
	var accepted rules.Set
	if decided {
		// Nothing is pre-ticked: only a decision ticks a box.
		accepted = (s.Accepted & rules.AllSet).With(rules.Necessary)
	}
	v := b.baseView(l)
	v.Page = true
	v.GPC = s.GPC
	v.PolicyChanged = s.PolicyChanged
	v.CSS = b.cfg.Prefix + b.assets[0].Name
	v.Return = safeReturnPath(s.ReturnPath)
	if !decided {
		services = untick(services)
	}
	v.Cats = b.catViews(l, accepted, services)
	var buf bytes.Buffer
	if err := settingsPage.Execute(&buf, v); err != nil {
		return nil, fmt.Errorf("banner: settings page: %w", err)
	}
	return appendASCII(nil, buf.String()), nil
}

func untick(ss []ServiceChoice) []ServiceChoice {
	out := make([]ServiceChoice, len(ss))
	for i, s := range ss {
		s.Granted = false
		out[i] = s
	}
	return out
}
