package caddymodule

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/fileserver"
)

// This file finds a cookie_consent handler placed where it cannot work:
// after a handler that answers in the same chain (it never runs: no
// banner, trackers live), or a second one on the requests a first one
// already handles (two banners). Caddy runs a route's handlers in order,
// and a handler that answers does not call the next; so both are
// configuration errors, reported by `caddy validate` and `caddy run` with
// the site and the fix.

// answering are the handlers that write the response themselves and never
// call the next handler (file_server only without pass_thru).
var answering = map[string]bool{
	"file_server":     true,
	"reverse_proxy":   true,
	"static_response": true,
	"error":           true,
	"copy_response":   true,
	"acme_server":     true,
	"metrics":         true,
}

// routeNode is one route of a route list, read either from its JSON (not
// yet provisioned) or from its provisioned handlers: the check runs while
// Caddy provisions the HTTP app, so it sees both.
type routeNode struct {
	// conditional says the route does not run on every request that
	// reaches its list: it has matchers, or shares a group where only the
	// first match runs.
	conditional bool
	hosts       []string
	handlers    []handlerNode
}

type handlerNode struct {
	name   string
	answer bool
	sub    []routeNode // a subroute's routes
	// consentJSON is a not yet provisioned cookie_consent handler's
	// configuration, as configJSON gives it (see siteOf).
	consentJSON string
}

// placementCache remembers the result for the HTTP app being provisioned,
// so a config with many cookie_consent handlers is walked once.
var placementCache struct {
	sync.Mutex
	app *caddyhttp.App
	err error
}

// checkPlacement reports a misplaced cookie_consent anywhere in the HTTP
// app being provisioned. Outside an HTTP app (tests that provision the
// handler alone) there is nothing to check.
func checkPlacement(ctx caddy.Context) error {
	var app *caddyhttp.App
	for _, m := range ctx.Modules() {
		if a, ok := m.(*caddyhttp.App); ok {
			app = a
			break
		}
	}
	if app == nil {
		return nil
	}
	placementCache.Lock()
	defer placementCache.Unlock()
	if placementCache.app == app {
		return placementCache.err
	}
	err := checkApp(app)
	placementCache.app, placementCache.err = app, err
	return err
}

func checkApp(app *caddyhttp.App) error {
	names := make([]string, 0, len(app.Servers))
	for name := range app.Servers {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		srv := app.Servers[name]
		where := "server " + name
		if len(srv.Listen) > 0 {
			where += " (" + strings.Join(srv.Listen, ", ") + ")"
		}
		c := &placementCheck{}
		c.walk(routesOf(srv.Routes), chainState{}, where)
		errs = append(errs, c.errs...)
	}
	return errors.Join(errs...)
}

// chainState is what came before in the chain of handlers a request runs.
type chainState struct {
	// consent: a cookie_consent runs on every request reaching here;
	// maybe: on some of them (a route with matchers in this same list).
	consent, maybe bool
	// answered names a handler that answers every request reaching here.
	answered string
}

type placementCheck struct {
	errs []error
	seen map[string]bool
}

func (c *placementCheck) fail(err error) {
	if c.seen == nil {
		c.seen = make(map[string]bool)
	}
	if !c.seen[err.Error()] {
		c.seen[err.Error()] = true
		c.errs = append(c.errs, err)
	}
}

// walk checks a route list entered in state st and returns the state
// after it, for every request that passes it.
func (c *placementCheck) walk(routes []routeNode, st chainState, where string) chainState {
	for _, r := range routes {
		site := where
		if len(r.hosts) > 0 {
			site = "site " + strings.Join(r.hosts, ", ") + " (" + where + ")"
		}
		local := st
		for _, h := range r.handlers {
			switch {
			case h.name == "cookie_consent":
				switch {
				case local.answered != "":
					c.fail(fmt.Errorf("%s: cookie_consent comes after %s, which answers the request itself, so cookie_consent never runs (no banner, trackers live); "+
						"put cookie_consent before %s in the route block, or move it out of the route block so the Caddyfile orders it before the handlers that answer",
						site, local.answered, local.answered))
				case local.consent || local.maybe && !r.conditional:
					c.fail(fmt.Errorf("%s: two cookie_consent handlers run on the same requests (two banners, decisions recorded twice); "+
						"keep one cookie_consent per site, or give each a matcher so that no request reaches both", site))
				}
				local.consent = true
			case h.sub != nil:
				in := local
				if r.conditional {
					in.maybe = false // the inner list sees only this route's requests
				}
				out := c.walk(h.sub, in, site)
				local.consent = local.consent || out.consent
				local.maybe = local.maybe || out.maybe
				if local.answered == "" {
					local.answered = out.answered
				}
			case h.answer && local.answered == "":
				local.answered = h.name
			}
		}
		if r.conditional {
			st.maybe = st.maybe || local.consent || local.maybe
			continue
		}
		st = local
	}
	return st
}

// routesOf reads a route list in whatever state provisioning left it.
func routesOf(list caddyhttp.RouteList) []routeNode {
	groups := make(map[string]int)
	for _, r := range list {
		if r.Group != "" {
			groups[r.Group]++
		}
	}
	out := make([]routeNode, 0, len(list))
	for _, r := range list {
		n := routeNode{conditional: len(r.MatcherSetsRaw) > 0 || len(r.MatcherSets) > 0 || groups[r.Group] > 1}
		for _, set := range r.MatcherSetsRaw {
			n.hosts = append(n.hosts, rawHosts(set)...)
		}
		for _, set := range r.MatcherSets {
			for _, m := range set {
				if h, ok := m.(caddyhttp.MatchHost); ok {
					n.hosts = append(n.hosts, h...)
				} else if h, ok := m.(*caddyhttp.MatchHost); ok {
					n.hosts = append(n.hosts, *h...)
				}
			}
		}
		if len(r.HandlersRaw) > 0 {
			for _, raw := range r.HandlersRaw {
				n.handlers = append(n.handlers, rawHandler(raw))
			}
		} else {
			for _, h := range r.Handlers {
				n.handlers = append(n.handlers, handlerOf(h))
			}
		}
		out = append(out, n)
	}
	return out
}

func rawHosts(set caddy.ModuleMap) []string {
	var hosts []string
	if raw, ok := set["host"]; ok {
		_ = json.Unmarshal(raw, &hosts)
	}
	return hosts
}

// rawRoute is the JSON of a route, as far as the check reads it.
type rawRoute struct {
	Group  string                       `json:"group"`
	Match  []map[string]json.RawMessage `json:"match"`
	Handle []json.RawMessage            `json:"handle"`
}

func rawHandler(raw json.RawMessage) handlerNode {
	var h struct {
		Handler  string     `json:"handler"`
		PassThru bool       `json:"pass_thru"`
		Routes   []rawRoute `json:"routes"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return handlerNode{name: "?"}
	}
	n := handlerNode{name: h.Handler, answer: answering[h.Handler] && !(h.Handler == "file_server" && h.PassThru)}
	if h.Handler == "cookie_consent" {
		var cc Handler
		if json.Unmarshal(raw, &cc) == nil {
			n.consentJSON = configJSON(&cc)
		}
	}
	if h.Handler == "subroute" {
		n.sub = rawRoutes(h.Routes)
		if n.sub == nil {
			n.sub = []routeNode{}
		}
	}
	return n
}

func rawRoutes(list []rawRoute) []routeNode {
	groups := make(map[string]int)
	for _, r := range list {
		if r.Group != "" {
			groups[r.Group]++
		}
	}
	out := make([]routeNode, 0, len(list))
	for _, r := range list {
		n := routeNode{conditional: len(r.Match) > 0 || groups[r.Group] > 1}
		for _, set := range r.Match {
			if raw, ok := set["host"]; ok {
				var hosts []string
				_ = json.Unmarshal(raw, &hosts)
				n.hosts = append(n.hosts, hosts...)
			}
		}
		for _, h := range r.Handle {
			n.handlers = append(n.handlers, rawHandler(h))
		}
		out = append(out, n)
	}
	return out
}

func handlerOf(h caddyhttp.MiddlewareHandler) handlerNode {
	switch v := h.(type) {
	case *Handler:
		return handlerNode{name: "cookie_consent"}
	case *caddyhttp.Subroute:
		return handlerNode{name: "subroute", sub: routesOf(v.Routes)}
	case *fileserver.FileServer:
		return handlerNode{name: "file_server", answer: !v.PassThru}
	}
	m, ok := h.(caddy.Module)
	if !ok {
		return handlerNode{name: fmt.Sprintf("%T", h)}
	}
	name := strings.TrimPrefix(string(m.CaddyModule().ID), "http.handlers.")
	return handlerNode{name: name, answer: answering[name]}
}

// configJSON is a cookie_consent handler's configuration in one canonical
// JSON form, to find a handler being provisioned among the raw routes.
func configJSON(h *Handler) string {
	b, err := json.Marshal(h)
	if err != nil {
		return ""
	}
	return string(b)
}

// siteOf names the site(s) whose routes hold a cookie_consent handler
// configured as self (its configJSON before provisioning), for
// provision-time errors: Caddy does not tell a handler which site it
// serves. Two sites with the very same cookie_consent block are both
// named. Outside an HTTP app it returns "".
func siteOf(ctx caddy.Context, self string) string {
	var app *caddyhttp.App
	for _, m := range ctx.Modules() {
		if a, ok := m.(*caddyhttp.App); ok {
			app = a
			break
		}
	}
	if app == nil || self == "" {
		return ""
	}
	names := make([]string, 0, len(app.Servers))
	for name := range app.Servers {
		names = append(names, name)
	}
	sort.Strings(names)
	var found []string
	var walk func(routes []routeNode, where string)
	walk = func(routes []routeNode, where string) {
		for _, r := range routes {
			site := where
			if len(r.hosts) > 0 {
				site = "site " + strings.Join(r.hosts, ", ") + " (" + where + ")"
			}
			for _, h := range r.handlers {
				switch {
				case h.consentJSON == self && !slices.Contains(found, site):
					found = append(found, site)
				case h.sub != nil:
					walk(h.sub, site)
				}
			}
		}
	}
	for _, name := range names {
		srv := app.Servers[name]
		where := "server " + name
		if len(srv.Listen) > 0 {
			where += " (" + strings.Join(srv.Listen, ", ") + ")"
		}
		walk(routesOf(srv.Routes), where)
	}
	return strings.Join(found, "; ")
}
