package engine

import (
	"context"
	"errors"
	"testing"

	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
)

// TestRestoreNative: restore has no meaning for hostwall's own table and
// says so, rather than falling into another backend's path.
func TestRestoreNative(t *testing.T) {
	h := &Host{Backend: NativeBackend}
	err := h.Restore(context.Background(), xtables.IPv4, &policy.File{}, RestoreOptions{})
	if !errors.Is(err, ErrNotSupported) {
		t.Fatalf("restore on native: %v", err)
	}
}
