package caddymodule

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/consentgate/consentgate/internal/testenv"
)

// metricValue reads one sample from a Prometheus text exposition.
func metricValue(t *testing.T, exposition, name string, labels ...string) float64 {
	t.Helper()
	for _, line := range strings.Split(exposition, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, l := range labels {
			if !strings.Contains(line, l) {
				ok = false
			}
		}
		if !ok {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("reading %q: %v", line, err)
		}
		return v
	}
	return 0
}

func TestMetricsMoveAfterAScriptedVisit(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "_ga", Value: "GA1.2.3", Path: "/"})
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, trackerPage+`<script src="https://widgets.unknown.example/w.js"></script>`)
	}))
	defer up.Close()
	port, mport := testenv.FreePort(t), testenv.FreePort(t)
	logDir := filepath.Join(t.TempDir(), "prooflog")
	startCaddy(t, fmt.Sprintf(`http://:%d {
	bind 127.0.0.1
	cookie_consent {
		rate_limit off
		analytics /g/collect
		proof_log {
			dir %s
		}
	}
	reverse_proxy %s
}
http://:%d {
	bind 127.0.0.1
	metrics
}
`, port, logDir, strings.TrimPrefix(up.URL, "http://"), mport))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	testenv.WaitListening(t, fmt.Sprintf("127.0.0.1:%d", port))
	testenv.WaitListening(t, fmt.Sprintf("127.0.0.1:%d", mport))

	// The visit: a page without consent, an analytics hit answered locally,
	// a refused decision, then a decision for statistics.
	get(t, base+"/")
	get(t, base+"/g/collect?v=2")
	post(t, base, "application/json", `{"action":"save","categories":["tracking"]}`, map[string]string{"Origin": base})
	post(t, base, "application/json", `{"action":"save","categories":["statistics"]}`, map[string]string{"Origin": base})

	var exposition string
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, exposition = get(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", mport))
		if strings.Contains(exposition, "consentgate_decisions_total") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"consentgate_banner_injections_total", nil, 1},
		{"consentgate_elements_total", []string{`category="statistics"`, `element="script_src"`, `action="neutralised"`}, 1},
		{"consentgate_elements_total", []string{`category="statistics"`, `element="script_inline"`, `action="neutralised"`}, 1},
		{"consentgate_elements_total", []string{`category="marketing"`, `element="img"`, `action="neutralised"`}, 1},
		{"consentgate_elements_total", []string{`category="marketing"`, `element="iframe"`, `action="neutralised"`}, 1},
		{"consentgate_unknown_third_party_scripts_total", nil, 1},
		{"consentgate_cookies_removed_total", []string{`category="statistics"`, `where="response"`}, 1},
		{"consentgate_analytics_requests_total", []string{`outcome="answered"`}, 1},
		{"consentgate_decision_refusals_total", []string{`status="400"`}, 1},
		{"consentgate_decisions_total", []string{`category="statistics"`, `outcome="granted"`}, 1},
		{"consentgate_decisions_total", []string{`category="marketing"`, `outcome="denied"`}, 1},
		{"consentgate_decision_methods_total", []string{`method="settings"`}, 1},
		{"consentgate_proof_log_appends_total", []string{`result="ok"`}, 1},
		{"consentgate_proof_log_append_seconds_count", nil, 1},
		{"consentgate_rewrite_seconds_count", nil, 1},
	}
	for _, c := range checks {
		if got := metricValue(t, exposition, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := metricValue(t, exposition, "consentgate_rewrite_bytes_total"); got < float64(len(trackerPage)) {
		t.Errorf("rewrite bytes %v", got)
	}
	// Low cardinality: no URL, address or cookie value in any label.
	for _, bad := range []string{"googletagmanager", "127.0.0", "GA1.2", "widgets.unknown"} {
		if regexp.MustCompile(`consentgate_[^\n]*` + regexp.QuoteMeta(bad)).MatchString(exposition) {
			t.Errorf("a consentgate metric carries %q", bad)
		}
	}
}

// TestDashboardQueriesExistingMetrics keeps the Grafana dashboard in
// configs/ honest: every metric it queries is one the gateway registers.
func TestDashboardQueriesExistingMetrics(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "configs", "monitoring", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	// Histograms and vectors only appear once observed.
	m.proofLatency.Observe(0)
	m.rewriteDuration.Observe(0)
	m.decisions.WithLabelValues("statistics", "granted")
	m.decisionMethods.WithLabelValues("settings")
	m.refusals.WithLabelValues("400")
	m.elements.WithLabelValues("statistics", "img", "neutralised")
	m.cookiesRemoved.WithLabelValues("statistics", "response")
	m.analytics.WithLabelValues("forwarded")
	m.proofAppends.WithLabelValues("ok")
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, f := range families {
		known[f.GetName()] = true
	}
	for _, name := range regexp.MustCompile(`consentgate_[a-z_]+`).FindAllString(string(data), -1) {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_count"), "_sum")
		if !known[base] {
			t.Errorf("the dashboard queries %s, which the gateway does not register", name)
		}
	}
}
