package caddymodule

import (
	"io"
	"strings"
	"testing"
)

// The first layer names who receives the data: the services the config
// names and those seen on the site's pages, grouped by category.
func TestFirstLayerNamesTheSitesRecipients(t *testing.T) {
	base, _ := consentGateway(t, "{\n\t\tservices hotjar\n\t}")
	page := func() string {
		t.Helper()
		req := mustRequest(t, "GET", base+"/")
		req.Header.Set("Accept-Language", "en")
		resp, err := client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	first := page() // the rules see Google Analytics, the Meta pixel and YouTube
	if !strings.Contains(first, `<p class="cg-text cg-recipients">With your consent, these parties receive data: Hotjar`) {
		t.Errorf("the first page does not name the configured service:\n%s", first)
	}
	want := `<p class="cg-text cg-recipients">With your consent, these parties receive data: Google Analytics, Hotjar; Meta (Facebook) Pixel, YouTube.</p>`
	if got := page(); !strings.Contains(got, want) {
		t.Errorf("the next page lacks %s:\n%s", want, got)
	}
}
