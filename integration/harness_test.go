// Package integration tests hostwall against the real kernel and the real
// iptables-legacy tools, each test in network namespaces of its own. It
// needs root; with CI=true a missing prerequisite fails the test instead
// of skipping it, so a green CI run always means the tests ran.
package integration

import (
	"os"
	"strconv"
	"testing"

	"github.com/hostwall/hostwall/integration/nstest"
)

func TestMain(m *testing.M) { gateExamples(); nstest.Main(m, "../cmd/hostwall") }

// knob is the positive integer in the environment variable name, or def
// when it is unset. integration/vm/init sets knobs to run the heaviest
// loops fewer times under qemu's software emulation (README, make
// vm-test): a knob changes how many times a test repeats what it checks,
// never what it checks.
func knob(t testing.TB, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}
