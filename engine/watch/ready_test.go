package watch

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// /readyz: not ready before the first reconcile and after a failed one,
// ready after one that applied (written or not), in conflict too.
func TestReady(t *testing.T) {
	tr := NewTracker(Status{Backend: "nft"}, "")
	c := &Collector{Tracker: tr}
	probe := func(when string, want int, body string) {
		t.Helper()
		rec := httptest.NewRecorder()
		c.ready(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if rec.Code != want || !strings.Contains(rec.Body.String(), body) {
			t.Errorf("%s: %d %q, want %d and %q", when, rec.Code, rec.Body.String(), want, body)
		}
	}
	probe("before the first reconcile", http.StatusServiceUnavailable, "no reconcile yet")
	tr.Note(Result{Time: time.Now(), Changed: true})
	probe("after a write", http.StatusOK, "ready: backend nft")
	tr.Note(Result{Time: time.Now(), Err: errors.New("rules.v4:3: bad rule")})
	probe("after a failed reconcile", http.StatusServiceUnavailable, "rules.v4:3: bad rule")
	tr.Note(Result{Time: time.Now(), Changed: true, Repair: true, Conflict: true})
	probe("in conflict", http.StatusOK, "changed")
}
