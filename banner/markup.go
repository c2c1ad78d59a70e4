package banner

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"

	"github.com/consentgate/consentgate/rules"
)

// markupSource is the banner markup. Its line breaks fall between tags and
// are removed, with the indentation, when it is parsed.
const markupSource = `
<div id="consentgate" class="cg-root{{if .Decided}} cg-decided{{end}}" lang="{{.Lang}}"
 data-cg-prefix="{{.Prefix}}" data-cg-decided="{{.Decided}}" data-cg-accepted="{{.Accepted}}"
 data-cg-offered="{{.Offered}}" data-cg-gpc="{{.GPC}}" data-cg-consent-mode="{{.ConsentMode}}"
 data-cg-anchor="{{.Anchor}}" data-cg-texts="{{.ScriptTexts}}"{{if .Vendors}} data-cg-vendors="{{.Vendors}}"{{end}}>
	<form class="cg-form" method="post" action="{{.Action}}">
		<input type="hidden" name="return" value="{{.Return}}">
		{{/* The settings come first: their Save is then the form's default
		     button, which Enter on a checkbox submits. */}}
		<dialog class="cg-settings" id="{{.Anchor}}" aria-labelledby="cg-settings-title" aria-describedby="cg-settings-intro">
			<h2 class="cg-title" id="cg-settings-title" tabindex="-1">{{.T.settings_title}}</h2>
			<p class="cg-text" id="cg-settings-intro">{{.T.settings_intro}}{{if .PolicyURL}} <a class="cg-link" href="{{.PolicyURL}}">{{.T.policy_link}}</a>{{end}}</p>
			{{if .GPC}}<p class="cg-notice cg-gpc">{{.T.gpc_notice}}</p>{{end}}
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
				</li>{{end}}
			</ul>
			{{/* The visitor's consent ID, the date of their decision and a
			     link to what was recorded; the script fills it in. */}}
			<p class="cg-text cg-record" hidden></p>
			<p class="cg-error" role="alert" hidden></p>
			<div class="cg-buttons">
				<button class="cg-btn" type="submit" name="action" value="save">{{.T.save}}</button>
				{{/* Withdrawing is as easy as consenting (GDPR art. 7(3)):
				     the first layer's two buttons, as prominent, wherever the
				     choice is reopened. */}}
				<button class="cg-btn" type="submit" name="action" value="accept_all">{{.T.accept_all}}</button>
				<button class="cg-btn" type="submit" name="action" value="reject_all">{{.T.reject_all}}</button>
				<button class="cg-btn cg-btn-quiet cg-close-btn" type="button" commandfor="{{.Anchor}}" command="close" data-cg-close="">{{.T.close}}</button>
				<a class="cg-btn cg-btn-quiet cg-close-link" href="#consentgate" data-cg-close="">{{.T.close}}</a>
			</div>
		</dialog>
		<section class="cg-banner" role="dialog" aria-modal="false" aria-labelledby="cg-title" aria-describedby="cg-intro"{{if .Decided}} hidden{{end}}>
			<h2 class="cg-title" id="cg-title">{{.T.title}}</h2>
			{{if .PolicyChanged}}<p class="cg-notice cg-policy-changed">{{.T.policy_changed}}</p>{{end}}
			<p class="cg-text" id="cg-intro">{{.T.intro}}{{if .PolicyURL}} <a class="cg-link" href="{{.PolicyURL}}">{{.T.policy_link}}</a>{{end}}</p>
			{{.Recipients}}
			{{if .GPC}}<p class="cg-notice cg-gpc">{{.T.gpc_notice}}</p>{{end}}
			<p class="cg-error" role="alert" hidden></p>
			<div class="cg-buttons">
				<button class="cg-btn" type="submit" name="action" value="accept_all">{{.T.accept_all}}</button>
				<button class="cg-btn" type="submit" name="action" value="reject_all">{{.T.reject_all}}</button>
				<button class="cg-btn" type="button" commandfor="{{.Anchor}}" command="show-modal" aria-haspopup="dialog" data-cg-open="">{{.T.settings}}</button>
			</div>
		</section>
	</form>
	<a class="cg-toggle" href="#{{.Anchor}}" data-cg-open="">{{.T.cookie_settings}}</a>
</div>`

// markup is the parsed banner template.
var markup = template.Must(template.New("banner").Option("missingkey=error").Parse(compact(markupSource)))

// compact removes the line breaks of the template source and the
// indentation after them.
func compact(s string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(s, "\n") {
		b.WriteString(strings.TrimLeft(line, "\t"))
	}
	return b.String()
}

// view is what the template renders.
type view struct {
	Lang, Prefix, Action, Anchor, Return string
	Recipients                           string
	Decided, GPC, PolicyChanged          bool
	ConsentMode                          bool
	Accepted, Offered                    string
	PolicyURL                            string
	ScriptTexts, Vendors                 string
	T                                    map[string]string
	Cats                                 []catView
}

type catView struct {
	ID, Name, Desc string
	Checked        bool
}

// returnSentinel stands in for the return path in the cached markup; no
// escaping changes it.
const returnSentinel = "cgRETURNPATHcg"

// recipientsSentinel stands in for the recipients line (State.Recipients)
// in the cached markup.
const recipientsSentinel = "cgRECIPIENTScg"

// rendered is the markup of one language and state, split around the
// return path and the recipients line.
type rendered struct{ before, middle, after []byte }

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
	decided := s.Decided && !s.PolicyChanged
	v := view{
		Lang:          l.tag,
		Prefix:        b.cfg.Prefix,
		Action:        b.cfg.Prefix + "consent",
		Anchor:        b.cfg.SettingsAnchor,
		Return:        returnSentinel,
		Recipients:    recipientsSentinel,
		Decided:       decided,
		GPC:           s.GPC,
		PolicyChanged: s.PolicyChanged,
		ConsentMode:   b.cfg.ConsentMode,
		Accepted:      accepted.String(),
		Offered:       rules.SetOf(b.cats...).String(),
		PolicyURL:     b.cfg.PolicyURL,
		ScriptTexts:   l.scriptTexts,
		Vendors:       b.vendors,
		T:             l.shown,
	}
	for _, c := range b.cats {
		v.Cats = append(v.Cats, catView{
			ID:   c.String(),
			Name: l.shown[CategoryNameKey(c)],
			Desc: l.shown[CategoryDescriptionKey(c)],
			// Nothing is pre-ticked: only a decision ticks a box.
			Checked: decided && accepted.Has(c),
		})
	}
	var buf bytes.Buffer
	if err := markup.Execute(&buf, v); err != nil {
		return nil, err
	}
	html := string(appendASCII(nil, buf.String()))
	before, after, ok := strings.Cut(html, returnSentinel)
	if !ok || strings.Contains(after, returnSentinel) {
		return nil, fmt.Errorf("the return path placeholder is not in the markup once")
	}
	middle, after, ok := strings.Cut(after, recipientsSentinel)
	if !ok || strings.Contains(after, recipientsSentinel) {
		return nil, fmt.Errorf("the recipients placeholder is not in the markup once, after the return path")
	}
	r := &rendered{before: []byte(before), middle: []byte(middle), after: []byte(after)}
	slot.Store(r)
	return r, nil
}
