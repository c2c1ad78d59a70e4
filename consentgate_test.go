package consentgate_test

import (
	"testing"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	// What `xcaddy build --with github.com/consentgate/consentgate` adds
	// to Caddy's main package.
	_ "github.com/consentgate/consentgate"
)

// TestThePluginImportRegistersTheModule: the import xcaddy writes for
// the usual plug-in line registers the handler and the subcommand.
func TestThePluginImportRegistersTheModule(t *testing.T) {
	if _, err := caddy.GetModule("http.handlers.cookie_consent"); err != nil {
		t.Fatal(err)
	}
	if _, ok := caddycmd.Commands()["consent"]; !ok {
		t.Fatal("no `caddy consent` subcommand")
	}
}
