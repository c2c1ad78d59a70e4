package caddymodule

import (
	"strings"
	"testing"
	"time"
)

// An embed's placeholder asks for exactly itself: on a page with a YouTube
// embed, a Google Maps embed, a Vimeo embed and the Meta pixel, Load
// content on YouTube's starts YouTube and nothing else; Always allow makes
// that last, and still nothing else starts.
func TestEmbedLoadsExactlyItself(t *testing.T) {
	r := newBrowserRig(t)
	post := r.base + "/hello-world/"
	youtube := `.cg-placeholder[data-cg-vendor="youtube"]`
	video := `document.querySelector('iframe[title^="Zuurdesem"]')`
	onlyYouTube := func(t *testing.T, reqs []string) {
		t.Helper()
		seen := false
		for _, u := range reqs {
			if strings.HasPrefix(u, "www.youtube.com/") {
				seen = true
				continue
			}
			t.Errorf("a request besides YouTube: %s", u)
		}
		if !seen {
			t.Errorf("no request to YouTube (got %v)", reqs)
		}
	}

	// seen waits until the stand-ins saw a request starting with prefix:
	// on a busy machine the frame's request can come after settle().
	seen := func(prefix string) {
		t.Helper()
		r.trackers.waitFor(t, prefix)
		settle()
	}
	tb := r.tab(t)
	tb.Open(post)
	tb.WaitFor("the placeholders", `document.querySelectorAll('.cg-placeholder').length >= 3`)
	if got := r.trackers.take(); len(got) != 0 {
		t.Fatalf("tracker requests before a decision: %v", got)
	}
	labels := tb.eval(`Array.from(document.querySelectorAll('` + youtube + ` button')).map(function (b) { return b.textContent; }).join('|')`)
	if labels != "Inhoud laden|YouTube altijd toestaan" {
		t.Errorf("YouTube's placeholder offers %q", labels)
	}

	t.Run("Load content", func(t *testing.T) {
		// The first layer covers the bottom of the page, where a pointer
		// click at the button's place would land: click the button itself.
		tb.eval(`document.querySelector('` + youtube + ` button').click(), ''`)
		tb.WaitFor("the video", video+`.getAttribute('src') && !document.querySelector('`+youtube+`')`)
		seen("www.youtube.com/")
		onlyYouTube(t, r.trackers.take())
		if got := tb.ran(); got != "" {
			t.Errorf("ran %q", got)
		}
		if n := tb.eval(`String(document.querySelectorAll('.cg-placeholder').length)`); n != "2" {
			t.Errorf("%s placeholders left, want Maps' and Vimeo's", n)
		}
		if tb.eval(`document.querySelector('#consentgate .cg-banner').hidden ? 'hidden' : 'shown'`) != "shown" {
			t.Error("loading one embed answered the banner")
		}
		// For this page view only: the next one asks again.
		tb.Open(post)
		tb.WaitFor("the placeholder again", `document.querySelector('`+youtube+`')`)
		settle()
		if got := r.trackers.take(); len(got) != 0 {
			t.Errorf("requests on the next page: %v", got)
		}
	})

	t.Run("Always allow", func(t *testing.T) {
		tb.eval(`document.querySelector('` + youtube + ` button + button').click(), ''`)
		tb.WaitFor("the video", video+`.getAttribute('src') && !document.querySelector('`+youtube+`')`)
		seen("www.youtube.com/")
		onlyYouTube(t, r.trackers.take())
		// The next page has YouTube live from the server, and only it.
		tb.Open(post)
		seen("www.youtube.com/")
		if tb.eval(video+`.getAttribute('src') || ''`) == "" {
			t.Error("after Always allow, the next page holds YouTube")
		}
		onlyYouTube(t, r.trackers.take())
		if got := tb.ran(); got != "" {
			t.Errorf("ran %q", got)
		}
		if n := tb.eval(`String(document.querySelectorAll('.cg-placeholder').length)`); n != "2" {
			t.Errorf("%s placeholders, want Maps' and Vimeo's", n)
		}
	})
}

// waitFor waits up to 15 s until a request starting with prefix was seen
// (without taking it).
func (s *trackerStandIns) waitFor(t *testing.T, prefix string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, u := range s.requests {
			if strings.HasPrefix(u, prefix) {
				s.mu.Unlock()
				return
			}
		}
		s.mu.Unlock()
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("no request to %s", prefix)
}
