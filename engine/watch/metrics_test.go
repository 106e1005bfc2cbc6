package watch

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hostwall/hostwall/engine"
	"github.com/hostwall/hostwall/xtables"
)

// scrape is one GET /metrics with the Accept header given.
func scrape(t *testing.T, c *Collector, accept string) (contentType, body string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	w := httptest.NewRecorder()
	c.metrics(w, req)
	b, _ := io.ReadAll(w.Result().Body)
	return w.Result().Header.Get("Content-Type"), string(b)
}

// TestMetricsExposition: the text a scraper gets (sorted families and
// labels, a rule's text escaped), the counter of failed counter reads
// growing over scrapes, and the protobuf format to a scraper asking
// for it.
func TestMetricsExposition(t *testing.T) {
	tr := NewTracker(Status{Backend: "nft"}, "")
	fail := false
	c := &Collector{Tracker: tr, Counters: func(context.Context) ([]engine.RuleCounters, error) {
		if fail {
			return nil, errors.New("kernel said no")
		}
		return []engine.RuleCounters{{Family: xtables.IPv4, Table: "filter", Chain: "FILTERS", Index: 1,
			Text: `-A FILTERS -m comment --comment "a \ b" -j ACCEPT`, Counters: xtables.Counters{Packets: 3, Bytes: 180}}}, nil
	}}
	ct, body := scrape(t, c, "")
	if !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("content type %q", ct)
	}
	for _, want := range []string{
		"# TYPE hostwall_rule_packets_total counter\n",
		`hostwall_rule_packets_total{chain="FILTERS",family="IPv4",hook="false",rule="1",table="filter",text="-A FILTERS -m comment --comment \"a \\ b\" -j ACCEPT"} 3` + "\n",
		`hostwall_rule_bytes_total{chain="FILTERS",family="IPv4",hook="false",rule="1",table="filter",text="-A FILTERS -m comment --comment \"a \\ b\" -j ACCEPT"} 180` + "\n",
		`hostwall_backend_info{backend="nft"} 1` + "\n",
		"hostwall_counters_read_errors_total 0\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q in:\n%s", want, body)
		}
	}
	if i, j := strings.Index(body, "hostwall_backend_info"), strings.Index(body, "hostwall_reconciles_total"); i < 0 || j < i {
		t.Errorf("families not sorted by name:\n%s", body)
	}
	fail = true
	scrape(t, c, "")
	_, body = scrape(t, c, "")
	if !strings.Contains(body, "hostwall_counters_read_errors_total 2\n") || strings.Contains(body, "hostwall_rule_packets_total") {
		t.Errorf("after two failed reads:\n%s", body)
	}
	ct, _ = scrape(t, c, "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited")
	if !strings.Contains(ct, "application/vnd.google.protobuf") {
		t.Errorf("protobuf asked for, got %q", ct)
	}
}
