package caddymodule

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/consentgate/consentgate/rewrite"
)

// metrics are the gateway's Prometheus metrics, registered in the registry
// Caddy gives the config, so they appear on Caddy's own metrics endpoint.
// Labels are few and bounded: categories, element kinds, outcomes; never a
// URL, cookie value or address.
type metrics struct {
	decisions       *prometheus.CounterVec // category, outcome
	decisionMethods *prometheus.CounterVec // method
	refusals        *prometheus.CounterVec // status
	banners         prometheus.Counter
	elements        *prometheus.CounterVec // category, element, action
	unknownScripts  prometheus.Counter
	cookiesRemoved  *prometheus.CounterVec // category, where
	analytics       *prometheus.CounterVec // outcome
	proofAppends    *prometheus.CounterVec // result
	proofLatency    prometheus.Histogram
	rewriteDuration prometheus.Histogram
	rewriteBytes    prometheus.Counter

	elementCache [5 * int(rewrite.NumElements) * numActions]atomic.Pointer[prometheus.Counter]
}

const metricsNamespace = "consentgate"

func newMetrics(reg prometheus.Registerer) *metrics {
	counterVec := func(name, help string, labels ...string) *prometheus.CounterVec {
		return register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace, Name: name, Help: help}, labels))
	}
	counter := func(name, help string) prometheus.Counter {
		return register(reg, prometheus.NewCounter(prometheus.CounterOpts{Namespace: metricsNamespace, Name: name, Help: help}))
	}
	histogram := func(name, help string, buckets []float64) prometheus.Histogram {
		return register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: metricsNamespace, Name: name, Help: help, Buckets: buckets}))
	}
	return &metrics{
		decisions:       counterVec("decisions_total", "Consent decisions recorded, per category and whether it was granted or denied.", "category", "outcome"),
		decisionMethods: counterVec("decision_methods_total", "Consent decisions recorded, per way of giving them.", "method"),
		refusals:        counterVec("decision_refusals_total", "Consent requests refused, per HTTP status.", "status"),
		banners:         counter("banner_injections_total", "Pages the banner was inserted into."),
		elements:        counterVec("elements_total", "Elements acted on, per category, element kind and action (neutralised, stripped, would_*).", "category", "element", "action"),
		unknownScripts:  counter("unknown_third_party_scripts_total", "Third-party scripts no rule knows, seen in pages."),
		cookiesRemoved:  counterVec("cookies_removed_total", "Cookies of categories not accepted removed (or, in report-only mode, that would be), per category and where: response (Set-Cookie) or request (Cookie header).", "category", "where"),
		analytics:       counterVec("analytics_requests_total", "Analytics requests, per outcome: forwarded (masked) or answered (no consent).", "outcome"),
		proofAppends:    counterVec("proof_log_appends_total", "Proof log appends, per result.", "result"),
		proofLatency:    histogram("proof_log_append_seconds", "Time until a decision is durable in the proof log.", prometheus.ExponentialBuckets(0.0005, 2, 14)),
		rewriteDuration: histogram("rewrite_seconds", "Time spent rewriting one HTML response (in the rewriter, not waiting for the upstream).", prometheus.ExponentialBuckets(0.00005, 2, 14)),
		rewriteBytes:    counter("rewrite_bytes_total", "Bytes of HTML the rewriter read."),
	}
}

// register registers c, or returns the collector already registered under
// its name (several handlers in one config share the registry).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

func (m *metrics) element(e rewrite.Event) {
	switch e.Action {
	case rewrite.UnknownThirdParty:
		m.unknownScripts.Inc()
	case rewrite.Uninspected:
	default:
		m.elementCounter(e).Inc()
	}
}

// elementCounter returns the counter of an element event, looked up once
// per label combination rather than hashed on every element.
func (m *metrics) elementCounter(e rewrite.Event) prometheus.Counter {
	i := (int(e.Category)*int(rewrite.NumElements)+int(e.Element))*numActions + int(e.Action)
	if i < 0 || i >= len(m.elementCache) {
		return m.elements.WithLabelValues(e.Category.String(), e.Element.String(), e.Action.String())
	}
	if c := m.elementCache[i].Load(); c != nil {
		return *c
	}
	c := m.elements.WithLabelValues(e.Category.String(), e.Element.String(), e.Action.String())
	m.elementCache[i].Store(&c)
	return c
}

// numActions bounds rewrite.Action values, for elementCache.
const numActions = 8

// rateLimitedWarnings logs a warning about a name (an unknown cookie or
// script host) at most once per interval, tracking a bounded number of
// names, so a busy site does not flood the log.
type rateLimitedWarnings struct {
	mu       sync.Mutex
	last     map[string]time.Time
	interval time.Duration
	max      int
}

func newRateLimitedWarnings(interval time.Duration, max int) *rateLimitedWarnings {
	return &rateLimitedWarnings{last: make(map[string]time.Time), interval: interval, max: max}
}

// allow reports whether a warning about key may be logged now.
func (w *rateLimitedWarnings) allow(key string, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if t, ok := w.last[key]; ok && now.Sub(t) < w.interval {
		return false
	}
	if len(w.last) >= w.max {
		for k, t := range w.last {
			if now.Sub(t) >= w.interval {
				delete(w.last, k)
			}
		}
		if len(w.last) >= w.max {
			return false
		}
	}
	w.last[key] = now
	return true
}

func (h *Handler) warnUnknown(kind, name string) {
	if h.warnings.allow(kind+"\x00"+name, time.Now()) {
		h.logger.Warn("seen something no rule knows; classify it with a rule (it is treated as unclassified)", zap.String("kind", kind), zap.String("name", name))
	}
}
