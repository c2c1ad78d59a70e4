package caddymodule

import (
	"context"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
)

// withInformationalTrace records the header of every 1xx response.
func withInformationalTrace(ctx context.Context, into *[]http.Header) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		Got1xxResponse: func(code int, header textproto.MIMEHeader) error {
			*into = append(*into, http.Header(header))
			return nil
		},
	})
}
