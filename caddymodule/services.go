package caddymodule

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/consentgate/consentgate/banner"
	"github.com/consentgate/consentgate/consent"
	"github.com/consentgate/consentgate/rules"
)

// maxSiteServices bounds the services the gateway remembers a site using:
// the second layer lists them, under their categories.
const maxSiteServices = 200

// siteServices is the set of services (vendors) a site uses: those the
// operator names in the config and those the rules matched on its pages.
// Vendor IDs come from the rules only, so a visitor cannot add any.
type siteServices struct {
	mu  sync.RWMutex
	ids map[string]bool
	// version counts changes to ids; recipients is the first layer's
	// line for one version.
	version    atomic.Uint64
	recipients atomic.Pointer[recipientsLine]
	// epoch tells this set's versions from those of the set a config
	// reload replaced, for the ETag variant.
	epoch string
}

type recipientsLine struct {
	version uint64
	line    *banner.Recipients
}

func newSiteServices(configured []string) *siteServices {
	s := &siteServices{ids: make(map[string]bool), epoch: strconv.FormatInt(time.Now().UnixNano(), 36)}
	for _, id := range configured {
		s.ids[id] = true
	}
	return s
}

// observe records a vendor seen on a page.
func (s *siteServices) observe(id string) {
	s.mu.RLock()
	known := s.ids[id]
	full := len(s.ids) >= maxSiteServices
	s.mu.RUnlock()
	if known || full {
		return // the common case, without the write lock
	}
	s.mu.Lock()
	if len(s.ids) < maxSiteServices && !s.ids[id] {
		s.ids[id] = true
		s.version.Add(1)
	}
	s.mu.Unlock()
}

// serviceState is one service in the consent endpoint's answer.
type serviceState struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Category string `json:"category"`
	// Granted says the service may run: by itself, or with its whole
	// category.
	Granted bool `json:"granted"`
}

// list returns the site's services in offered categories, in banner
// order (category, then name), with whether d grants each.
func (s *siteServices) list(rs *rules.Ruleset, offered, accepted rules.Set, d *consent.Decision) []serviceState {
	s.mu.RLock()
	ids := make([]string, 0, len(s.ids))
	for id := range s.ids {
		ids = append(ids, id)
	}
	s.mu.RUnlock()
	out := make([]serviceState, 0, len(ids))
	for _, id := range ids {
		v := rs.Vendor(id)
		if v == nil || v.Category == rules.Necessary || !offered.Has(v.Category) {
			continue
		}
		granted := accepted.Has(v.Category) || d != nil && d.HasService(id)
		out = append(out, serviceState{ID: id, Name: v.Name, Category: v.Category.String(), Granted: granted})
	}
	order := func(c string) int {
		cat, _ := rules.ParseCategory(c)
		return int(cat)
	}
	slices.SortFunc(out, func(a, b serviceState) int {
		if d := order(a.Category) - order(b.Category); d != 0 {
			return d
		}
		if a.Name != b.Name {
			if a.Name < b.Name {
				return -1
			}
			return 1
		}
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	return out
}

// recipientsLine returns the first layer's line naming who receives the
// data, grouped by category; it is built again only when the set changed.
func (h *Handler) recipientsLine() *banner.Recipients {
	s := h.siteServices
	v := s.version.Load()
	if r := s.recipients.Load(); r != nil && r.version == v {
		return r.line
	}
	var groups [][]string
	last := ""
	for _, svc := range s.list(h.ruleset, h.offered, 0, nil) {
		if svc.Category != last || len(groups) == 0 {
			groups = append(groups, nil)
			last = svc.Category
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], svc.Name)
	}
	line := h.banner.Recipients(groups)
	s.recipients.Store(&recipientsLine{version: v, line: line})
	return line
}

// checkConfiguredServices checks the services option: each must be a
// vendor of the rules in an offered category.
func checkConfiguredServices(rs *rules.Ruleset, offered rules.Set, ids []string) error {
	for _, id := range ids {
		v := rs.Vendor(id)
		switch {
		case v == nil:
			return fmt.Errorf("services: %q is no vendor of the rules (see `caddy consent scan` or rules/default.json for IDs)", id)
		case v.Category == rules.Necessary:
			return fmt.Errorf("services: %q is necessary; only optional services can be chosen", id)
		case !offered.Has(v.Category):
			return fmt.Errorf("services: %q is in category %s, which is not offered", id, v.Category)
		}
	}
	return nil
}
