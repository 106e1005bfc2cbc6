package watch

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/hostwall/hostwall/engine"
)

// The metrics are built at each scrape as metric families and encoded by
// Prometheus' own exposition library (expfmt, with the content type the
// scraper negotiates). client_golang's registry is not used: its package
// initialisation (the default registry's Go and process collectors) cost
// every hostwall command, apply included, about half a millisecond of
// start-up for nothing a one-shot command needs.

// Collector serves a watcher's status and the counters of hostwall's
// rules in the Prometheus format. Counters are read from the kernel at
// each scrape, through Counters.
type Collector struct {
	Tracker  *Tracker
	Counters func(ctx context.Context) ([]engine.RuleCounters, error)
	Log      *slog.Logger

	scrapeErrors atomic.Uint64 // counter reads that failed, over the process's life
}

// family is one metric family under construction.
type family struct{ mf *dto.MetricFamily }

func newFamily(name, help string, typ dto.MetricType) *family {
	return &family{&dto.MetricFamily{Name: &name, Help: &help, Type: &typ}}
}

// add appends a sample with the label pairs names[i]=values[i].
func (f *family) add(v float64, names []string, values ...string) {
	m := &dto.Metric{}
	for i, n := range names {
		m.Label = append(m.Label, &dto.LabelPair{Name: &n, Value: &values[i]})
	}
	// Sorted by name, as client_golang's registry writes them.
	slices.SortFunc(m.Label, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
	switch f.mf.GetType() {
	case dto.MetricType_COUNTER:
		m.Counter = &dto.Counter{Value: &v}
	default:
		m.Gauge = &dto.Gauge{Value: &v}
	}
	f.mf.Metric = append(f.mf.Metric, m)
}

var ruleLabels = []string{"family", "table", "chain", "rule", "hook", "text"}

// families is one scrape: the watcher's status and, read from the
// kernel now, the counters of every owned rule and hook.
func (c *Collector) families(ctx context.Context) []*dto.MetricFamily {
	s := c.Tracker.Status()
	unchanged := s.Reconciles - s.Writes - s.Errors
	reconciles := newFamily("hostwall_reconciles_total", "Reconciles run, by result (changed, unchanged, error).", dto.MetricType_COUNTER)
	reconciles.add(float64(s.Writes), []string{"result"}, "changed")
	reconciles.add(float64(max(unchanged, 0)), []string{"result"}, "unchanged")
	reconciles.add(float64(s.Errors), []string{"result"}, "error")
	one := func(name, help string, typ dto.MetricType, v float64) *family {
		f := newFamily(name, help, typ)
		f.add(v, nil)
		return f
	}
	backend := newFamily("hostwall_backend_info", "The backend in use.", dto.MetricType_GAUGE)
	backend.add(1, []string{"backend"}, s.Backend)
	fams := []*family{
		reconciles,
		one("hostwall_drift_repairs_total", "Writes made because the kernel's tables changed under hostwall.", dto.MetricType_COUNTER, float64(s.Repairs)),
		one("hostwall_conflict_repairs_total", "Repairs made while another program kept undoing hostwall's rules (rate-limited).", dto.MetricType_COUNTER, float64(s.Conflicts)),
		one("hostwall_in_conflict", "1 while repairs are rate-limited because another program keeps undoing them.", dto.MetricType_GAUGE, b2f(s.InConflict)),
		one("hostwall_last_reconcile_timestamp_seconds", "When the last reconcile ran (Unix time).", dto.MetricType_GAUGE, unix(s.LastReconcile)),
		one("hostwall_last_write_timestamp_seconds", "When hostwall last wrote to the kernel (Unix time).", dto.MetricType_GAUGE, unix(s.LastWrite)),
		backend,
	}
	if c.Counters != nil {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		rcs, err := c.Counters(ctx)
		if err != nil {
			c.scrapeErrors.Add(1)
			if c.Log != nil {
				c.Log.Error("metrics: read counters", "err", err)
			}
		}
		packets := newFamily("hostwall_rule_packets_total", "Packets matched by each rule of an owned chain and each hook.", dto.MetricType_COUNTER)
		bytes := newFamily("hostwall_rule_bytes_total", "Bytes matched by each rule of an owned chain and each hook.", dto.MetricType_COUNTER)
		for _, rc := range rcs {
			labels := []string{rc.Family.String(), rc.Table, rc.Chain, strconv.Itoa(rc.Index), strconv.FormatBool(rc.Hook), rc.Text}
			packets.add(float64(rc.Counters.Packets), ruleLabels, labels...)
			bytes.add(float64(rc.Counters.Bytes), ruleLabels, labels...)
		}
		fams = append(fams, one("hostwall_counters_read_errors_total", "Scrapes whose counter read failed.", dto.MetricType_COUNTER, float64(c.scrapeErrors.Load())))
		if len(rcs) > 0 {
			fams = append(fams, packets, bytes)
		}
	}
	out := make([]*dto.MetricFamily, len(fams))
	for i, f := range fams {
		out[i] = f.mf
	}
	slices.SortFunc(out, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	return out
}

// metrics is /metrics: one scrape, in the format the scraper asked for.
func (c *Collector) metrics(w http.ResponseWriter, r *http.Request) {
	format := expfmt.Negotiate(r.Header)
	w.Header().Set("Content-Type", string(format))
	enc := expfmt.NewEncoder(w, format)
	for _, mf := range c.families(r.Context()) {
		if err := enc.Encode(mf); err != nil {
			if c.Log != nil {
				c.Log.Error("metrics: encode", "err", err)
			}
			return
		}
	}
	if closer, ok := enc.(expfmt.Closer); ok {
		closer.Close()
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
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", c.metrics)
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
