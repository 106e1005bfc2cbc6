package watch

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// RunDir is where hostwall keeps its runtime state (the watcher's
// status, the lockout guard's state): $HOSTWALL_RUN_DIR, else
// /run/hostwall.
func RunDir() string {
	if d := os.Getenv("HOSTWALL_RUN_DIR"); d != "" {
		return d
	}
	return "/run/hostwall"
}

// StatusFile is the watcher's status, rewritten after every reconcile.
func StatusFile() string { return filepath.Join(RunDir(), "watch.json") }

// Status is what a watcher has done so far: what `hostwall status`
// prints and the metrics endpoint serves.
type Status struct {
	PID     int       `json:"pid"`
	Backend string    `json:"backend"`
	Files   []string  `json:"files"`
	Started time.Time `json:"started"`

	LastReconcile time.Time `json:"last_reconcile"`
	LastResult    string    `json:"last_result"` // "changed", "no change", "error: …"
	LastReason    string    `json:"last_reason"`
	LastChanges   []string  `json:"last_changes,omitempty"`
	LastWrite     time.Time `json:"last_write"`

	Reconciles int  `json:"reconciles"`
	Writes     int  `json:"writes"`
	Repairs    int  `json:"drift_repairs"`
	Conflicts  int  `json:"conflict_repairs"`
	Errors     int  `json:"errors"`
	InConflict bool `json:"in_conflict"`
}

// Tracker keeps a Status up to date from reconcile results and, when
// it has a path, on disk (written to a temporary file and renamed, so a
// reader never sees half of it).
type Tracker struct {
	mu   sync.Mutex
	st   Status
	path string
}

// NewTracker starts a Status; path "" keeps it in memory only.
func NewTracker(st Status, path string) *Tracker {
	if st.PID == 0 {
		st.PID = os.Getpid()
	}
	if st.Started.IsZero() {
		st.Started = time.Now()
	}
	t := &Tracker{st: st, path: path}
	t.save()
	return t
}

// Note records a reconcile.
func (t *Tracker) Note(res Result) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := &t.st
	s.Reconciles++
	s.LastReconcile = res.Time
	s.LastReason = res.Reasons()
	s.LastChanges = res.Changes()
	switch {
	case res.Err != nil:
		s.Errors++
		s.LastResult = "error: " + res.Err.Error()
	case res.Changed:
		s.LastResult = "changed"
	default:
		s.LastResult = "no change"
	}
	if res.Changed {
		s.Writes++
		s.LastWrite = res.Time
	}
	if res.Repair {
		s.Repairs++
	}
	if res.Conflict {
		s.Conflicts++
	}
	s.InConflict = res.Conflict || (s.InConflict && res.Repair)
	t.saveLocked()
}

// SetBackend records the backend in use.
func (t *Tracker) SetBackend(b string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.st.Backend = b
	t.saveLocked()
}

// Status returns a copy of the status.
func (t *Tracker) Status() Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.st
	return s
}

// Remove deletes the status file (the watcher stopped).
func (t *Tracker) Remove() {
	if t.path != "" {
		os.Remove(t.path)
	}
}

func (t *Tracker) save() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.saveLocked()
}

func (t *Tracker) saveLocked() {
	if t.path == "" {
		return
	}
	data, err := json.MarshalIndent(t.st, "", "  ")
	if err != nil {
		return
	}
	_ = WriteFileAtomic(t.path, data)
}

// WriteFileAtomic writes data to path through a temporary file in the
// same directory (made if missing), renamed over it.
func WriteFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// ReadStatus reads a watcher's status file.
func ReadStatus(path string) (*Status, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Status
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	return &s, nil
}
