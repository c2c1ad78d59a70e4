package rewrite

import "github.com/consentgate/consentgate/rules"

// Element is the kind of element an event is about.
type Element uint8

// The element kinds the rewriter acts on.
const (
	ScriptSrc    Element = iota // <script src>
	ScriptInline                // <script> with a body
	IFrame                      // <iframe src>
	Img                         // <img src|srcset>
	Embed                       // <embed src>
	Object                      // <object data>
	Link                        // <link rel=preconnect|dns-prefetch|preload|prefetch|modulepreload|stylesheet|...>
	Noscript                    // a <noscript> too large to inspect
	Media                       // <video src|poster>, <audio src>, <source src|srcset>, <track src>
	Frame                       // <frame src>
	InputImage                  // <input type=image src>
	Background                  // <body|table|td|th background>
	Ping                        // <a|area ping>
	Refresh                     // <meta http-equiv=refresh content>
	CSS                         // a style attribute or <style> sheet: url(), image-set(), @import
	Base                        // <base href> on a tracker's host
	Speculation                 // <script type=speculationrules>
	Oversize                    // a tag larger than the hold limit

	// NumElements counts the element kinds.
	NumElements
)

var elementNames = [NumElements]string{"script_src", "script_inline", "iframe", "img", "embed", "object", "link", "noscript",
	"media", "frame", "input_image", "background", "ping", "refresh", "css", "base", "speculation", "oversize"}

// String returns the element kind as used in logs and metric labels.
func (e Element) String() string {
	if e < NumElements {
		return elementNames[e]
	}
	return "unknown"
}

// Action says what the rewriter did, or in report-only mode would have
// done, to an element.
type Action uint8

// The actions reported to an Observer.
const (
	// Neutralised: the element was made inert but restorable.
	Neutralised Action = iota
	// Stripped: the element was removed from the page.
	Stripped
	// WouldNeutralise and WouldStrip are the report-only counterparts: the
	// element passed unchanged.
	WouldNeutralise
	WouldStrip
	// UnknownThirdParty: a script from another site that no rule knows. It
	// runs unless the unknown-script policy is block, in which case a
	// Neutralised or Stripped event follows.
	UnknownThirdParty
	// Uninspected: an inline script or noscript larger than the hold limit;
	// its decision was taken on the part that was inspected.
	Uninspected
)

var actionNames = [...]string{"neutralised", "stripped", "would_neutralise", "would_strip", "unknown_third_party", "uninspected"}

// String returns the action as used in logs and metric labels.
func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "unknown"
}

// Event reports one decision of the rewriter.
type Event struct {
	Action  Action
	Element Element
	// Vendor is the matching rule's vendor; nil for operator-marked
	// elements and unknown third parties.
	Vendor *rules.Vendor
	// Category is the first category of the element the visitor has not
	// accepted (for unknown third parties: unclassified).
	Category rules.Category
	// Host is the host of an unknown third party's script.
	Host string
}

// Observer receives the rewriter's events, for logs and metrics. It is
// called synchronously from Write and must not retain the event's slices.
type Observer interface {
	Observe(Event)
}
