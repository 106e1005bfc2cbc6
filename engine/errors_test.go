package engine

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
	"github.com/hostwall/hostwall/xtables/nft"
)

// TestLockWaitZeroValue: Options{} waits DefaultLockWait for the lock,
// NoLockWait not at all.
func TestLockWaitZeroValue(t *testing.T) {
	for in, want := range map[time.Duration]time.Duration{0: DefaultLockWait, NoLockWait: 0, -time.Second: 0, time.Second: time.Second} {
		if got := lockWait(in); got != want {
			t.Errorf("lockWait(%v) = %v, want %v", in, got, want)
		}
	}
}

// TestErrNotSupported: the lower packages' "not supported" errors and
// the native backend's refusals match engine.ErrNotSupported.
func TestErrNotSupported(t *testing.T) {
	if !errors.Is(fmt.Errorf("open: %w", nft.ErrNotSupported), ErrNotSupported) {
		t.Error("nft.ErrNotSupported does not match ErrNotSupported")
	}
	d, err := policy.ReadDesired("f", []byte("*nat\n:PREROUTING ACCEPT [0:0]\n:FILTERS - [0:0]\nCOMMIT\n"), policy.DesiredOptions{Family: xtables.IPv4})
	if err != nil {
		t.Fatal(err)
	}
	if err := checkNative(d); !errors.Is(err, ErrNotSupported) {
		t.Errorf("native with a nat table: %v, want ErrNotSupported", err)
	}
	if ErrLockBusy != xtables.ErrLockBusy {
		t.Error("ErrLockBusy is not xtables.ErrLockBusy")
	}
}

// TestRuleRefusedNFT: a rule the kernel refuses in an nf_tables batch
// comes back as a *RuleRefusedError with its file:line, the errno still
// matched.
func TestRuleRefusedNFT(t *testing.T) {
	text := "*raw\n:PREROUTING ACCEPT [0:0]\n:FILTERS - [0:0]\n-A PREROUTING -j FILTERS\n-A FILTERS -p tcp -j CT --helper nosuchhelper\nCOMMIT\n"
	d, err := policy.ReadDesired("rules.v4", []byte(text), policy.DesiredOptions{Family: xtables.IPv4})
	if err != nil {
		t.Fatal(err)
	}
	dt := d.Tables[0]
	r := dt.Owned[0].Rules[0]
	added := addedRule{d, dt, "FILTERS", r}
	kernel := &nft.RefusedError{What: added.String(), Ref: added, Err: unix.ENOENT}
	err = nothingWritten(context.Background(), []*policy.Desired{d}, asRuleRefused(kernel))
	var re *RuleRefusedError
	if !errors.As(err, &re) || !errors.Is(err, ErrRuleRefused) || !errors.Is(err, unix.ENOENT) {
		t.Fatalf("%v: not a RuleRefusedError matching ErrRuleRefused and ENOENT", err)
	}
	if re.Pos.File != "rules.v4" || re.Pos.Line != 5 || re.Table != "raw" || re.Chain != "FILTERS" || re.Family != xtables.IPv4 {
		t.Errorf("got %+v", re)
	}
	if re.Rule != "-A FILTERS -p tcp -j CT --helper nosuchhelper" {
		t.Errorf("rule %q", re.Rule)
	}
	if err := asRuleRefused(unix.EINVAL); err != unix.EINVAL {
		t.Errorf("another error changed: %v", err)
	}
}

// TestNoFamily: options without a family fail, they do not panic.
func TestNoFamily(t *testing.T) {
	if _, err := policy.ReadDesired("f", []byte("*filter\n:FILTERS - [0:0]\nCOMMIT\n"), policy.DesiredOptions{}); err == nil {
		t.Error("ReadDesired without a family: no error")
	}
	var h Host
	if _, err := h.ReadPolicy(context.Background(), Policy{Data: []byte("*filter\nCOMMIT\n")}); err == nil {
		t.Error("ReadPolicy without a family: no error")
	}
	if _, err := h.ApplyPolicy(context.Background(), Options{}, Policy{Family: xtables.IPv4}); err == nil {
		t.Error("ApplyPolicy on a Host not opened: no error")
	}
}
