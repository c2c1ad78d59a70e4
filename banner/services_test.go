package banner

import (
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules"
)

// The guard's tag carries the services accepted one by one as "+id"
// beside the categories, so the guard lets their loads pass.
func TestGuardTagCarriesServices(t *testing.T) {
	b, _ := guardBanner(t, defaultGuardRules(t), GuardConfig{})
	plain := string(b.Guard(State{Accepted: rules.SetOf(rules.Statistics)}))
	if !strings.Contains(plain, `data-cg-accepted="necessary statistics"`) {
		t.Errorf("guard tag without services: %s", plain)
	}
	with := string(b.Guard(State{Accepted: rules.SetOf(rules.Statistics), Services: []string{"google-maps", "youtube"}}))
	if !strings.Contains(with, `data-cg-accepted="necessary statistics +google-maps +youtube"`) {
		t.Errorf("guard tag with services: %s", with)
	}
	if again := string(b.Guard(State{Accepted: rules.SetOf(rules.Statistics)})); again != plain {
		t.Errorf("a tag with services changed the cached one: %s", again)
	}
}
