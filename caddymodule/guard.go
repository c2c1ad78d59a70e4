package caddymodule

import (
	"fmt"
	"net"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/consentgate/consentgate/banner"
	"github.com/consentgate/consentgate/rules"
)

// guardConfig is the runtime guard's configuration: the rules compiled
// into the table the guard matches with, and the policies the rewrite
// follows too. Nil when the guard is off.
func (h *Handler) guardConfig() (*banner.GuardConfig, error) {
	if h.NoGuard {
		return nil, nil
	}
	table, err := rules.GuardTable(h.ruleset)
	if err != nil {
		return nil, fmt.Errorf("runtime guard: %w", err)
	}
	return &banner.GuardConfig{
		Table:        table,
		ReportOnly:   h.ReportOnly,
		BlockUnknown: h.UnknownScripts == "block",
	}, nil
}

// guardSite returns the registrable domain (eTLD+1) of a request's host,
// which the guard needs to tell third-party scripts from first-party ones
// when unknown scripts are blocked; "" otherwise.
func (h *Handler) guardSite(host string) string {
	if h.UnknownScripts != "block" || h.NoGuard {
		return ""
	}
	if hh, _, err := net.SplitHostPort(host); err == nil {
		host = hh
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if net.ParseIP(host) != nil {
		return host
	}
	if site, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return site
	}
	return host
}
