package caddymodule

import (
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"testing"
)

// informationalHeaders GETs url and returns the headers of every 1xx
// response (103 Early Hints) that came before the final one.
func informationalHeaders(t *testing.T, url string) []http.Header {
	t.Helper()
	var hints []http.Header
	req := mustRequest(t, "GET", url)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		Got1xxResponse: func(code int, header textproto.MIMEHeader) error {
			hints = append(hints, http.Header(header))
			return nil
		},
	}))
	resp, err := client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return hints
}
