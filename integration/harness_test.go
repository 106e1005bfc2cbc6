// Package integration tests hostwall against the real kernel and the real
// iptables-legacy tools, each test in network namespaces of its own. It
// needs root; with CI=true a missing prerequisite fails the test instead
// of skipping it, so a green CI run always means the tests ran.
package integration

import (
	"testing"

	"github.com/hostwall/hostwall/integration/nstest"
)

func TestMain(m *testing.M) { nstest.Main(m, "../cmd/hostwall") }
