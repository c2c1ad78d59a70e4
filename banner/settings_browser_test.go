package banner

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/consentgate/consentgate/internal/browsertest"
)

// The settings dialog, fetched on demand and open in the page, and the
// settings page served without JavaScript pass axe-core with no serious
// or critical violation, in both languages.
func TestSettingsAccessibility(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	src := browsertest.AxeJS(t)
	site := newTestSite(t)
	browser := browsertest.Start(t, browsertest.Options{Proxy: site.srv.URL})
	for _, lang := range []string{"en", "nl"} {
		t.Run(lang, func(t *testing.T) {
			tb := newTab(t, browser)
			tb.Open(site.srv.URL + "/?lang=" + lang)
			tb.Do(chromedp.Click(chromedp.CSS(openSettings)))
			tb.WaitFor("the dialog", dialogOpen)
			browsertest.CheckAxe(t, lang+" dialog", browsertest.RunAxe(tb.Tab, src))

			tb = newTab(t, browser)
			tb.Do(chromedp.Navigate(site.srv.URL+"/.well-known/consent/consent?view=settings&return=%2F&lang="+lang),
				chromedp.WaitVisible(chromedp.CSS(saveSettings)))
			if got := evalJS[string](tb, `document.documentElement.lang`); got != lang {
				t.Errorf("the settings page is in %q", got)
			}
			browsertest.CheckAxe(t, lang+" settings page", browsertest.RunAxe(tb.Tab, src))
		})
	}
}
