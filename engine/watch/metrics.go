package watch

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hostwall/hostwall/engine"
)

// Collector serves a watcher's status and the counters of hostwall's
// rules in the Prometheus format. Counters are read from the kernel at
// each scrape, through Counters.
type Collector struct {
	Tracker  *Tracker
	Counters func(ctx context.Context) ([]engine.RuleCounters, error)
	Log      *slog.Logger
}

var (
	descReconciles = prometheus.NewDesc("hostwall_reconciles_total", "Reconciles run, by result (changed, unchanged, error).", []string{"result"}, nil)
	descRepairs    = prometheus.NewDesc("hostwall_drift_repairs_total", "Writes made because the kernel's tables changed under hostwall.", nil, nil)
	descConflicts  = prometheus.NewDesc("hostwall_conflict_repairs_total", "Repairs made while another program kept undoing hostwall's rules (rate-limited).", nil, nil)
	descInConflict = prometheus.NewDesc("hostwall_in_conflict", "1 while repairs are rate-limited because another program keeps undoing them.", nil, nil)
	descLast       = prometheus.NewDesc("hostwall_last_reconcile_timestamp_seconds", "When the last reconcile ran (Unix time).", nil, nil)
	descLastWrite  = prometheus.NewDesc("hostwall_last_write_timestamp_seconds", "When hostwall last wrote to the kernel (Unix time).", nil, nil)
	descBackend    = prometheus.NewDesc("hostwall_backend_info", "The backend in use.", []string{"backend"}, nil)
	ruleLabels     = []string{"family", "table", "chain", "rule", "hook", "text"}
	descPackets    = prometheus.NewDesc("hostwall_rule_packets_total", "Packets matched by each rule of an owned chain and each hook.", ruleLabels, nil)
	descBytes      = prometheus.NewDesc("hostwall_rule_bytes_total", "Bytes matched by each rule of an owned chain and each hook.", ruleLabels, nil)
	descScrapeErr  = prometheus.NewDesc("hostwall_counters_read_errors_total", "Scrapes whose counter read failed.", nil, nil)
)

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descReconciles, descRepairs, descConflicts, descInConflict, descLast, descLastWrite, descBackend, descPackets, descBytes, descScrapeErr} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.Tracker.Status()
	unchanged := s.Reconciles - s.Writes - s.Errors
	ch <- prometheus.MustNewConstMetric(descReconciles, prometheus.CounterValue, float64(s.Writes), "changed")
	ch <- prometheus.MustNewConstMetric(descReconciles, prometheus.CounterValue, float64(max(unchanged, 0)), "unchanged")
	ch <- prometheus.MustNewConstMetric(descReconciles, prometheus.CounterValue, float64(s.Errors), "error")
	ch <- prometheus.MustNewConstMetric(descRepairs, prometheus.CounterValue, float64(s.Repairs))
	ch <- prometheus.MustNewConstMetric(descConflicts, prometheus.CounterValue, float64(s.Conflicts))
	ch <- prometheus.MustNewConstMetric(descInConflict, prometheus.GaugeValue, b2f(s.InConflict))
	ch <- prometheus.MustNewConstMetric(descLast, prometheus.GaugeValue, unix(s.LastReconcile))
	ch <- prometheus.MustNewConstMetric(descLastWrite, prometheus.GaugeValue, unix(s.LastWrite))
	ch <- prometheus.MustNewConstMetric(descBackend, prometheus.GaugeValue, 1, s.Backend)
	if c.Counters == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rcs, err := c.Counters(ctx)
	if err != nil && c.Log != nil {
		c.Log.Error("metrics: read counters", "err", err)
	}
	failed := 0.0
	if err != nil {
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(descScrapeErr, prometheus.CounterValue, failed)
	for _, rc := range rcs {
		labels := []string{rc.Family.String(), rc.Table, rc.Chain, strconv.Itoa(rc.Index), strconv.FormatBool(rc.Hook), rc.Text}
		ch <- prometheus.MustNewConstMetric(descPackets, prometheus.CounterValue, float64(rc.Counters.Packets), labels...)
		ch <- prometheus.MustNewConstMetric(descBytes, prometheus.CounterValue, float64(rc.Counters.Bytes), labels...)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

// ready is /readyz, for a readiness probe (the DaemonSet's): 200 once
// a reconcile has made the kernel what the files say (written, or found
// so), 503 before the first one and while the last one failed. A
// watcher in conflict is ready: its rules are in place, repairs are only
// slowed down.
func (c *Collector) ready(w http.ResponseWriter, _ *http.Request) {
	s := c.Tracker.Status()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.Reconciles == 0 || strings.HasPrefix(s.LastResult, "error") {
		w.WriteHeader(http.StatusServiceUnavailable)
		if s.Reconciles == 0 {
			fmt.Fprintln(w, "not ready: no reconcile yet")
		} else {
			fmt.Fprintf(w, "not ready: last reconcile %s: %s\n", s.LastReconcile.Format(time.RFC3339), s.LastResult)
		}
		return
	}
	fmt.Fprintf(w, "ready: backend %s, last reconcile %s: %s\n", s.Backend, s.LastReconcile.Format(time.RFC3339), s.LastResult)
}

// ServeMetrics serves /metrics, and /readyz (ready), on addr until ctx
// is done. An address
// without a host ("9101", ":9101") is bound to loopback: the counters
// tell what a firewall drops, not for the world to read.
func ServeMetrics(ctx context.Context, addr string, c *Collector) (net.Addr, error) {
	addr = LoopbackDefault(addr)
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/readyz", c.ready)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	context.AfterFunc(ctx, func() { srv.Close() })
	return ln.Addr(), nil
}

// LoopbackDefault puts 127.0.0.1 in front of an address without a host.
func LoopbackDefault(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return net.JoinHostPort("127.0.0.1", addr)
	}
	if host == "" {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return addr
}
