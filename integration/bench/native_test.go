package main

import (
	"strings"
	"testing"
)

// TestGenKubeProxy: the kube-proxy table has exactly the rules the
// native rows name, and every chain a rule jumps or goes to is declared.
// Offline: no kernel, no root.
func TestGenKubeProxy(t *testing.T) {
	for _, n := range []int{0, len(kubeProxySkeleton), len(kubeProxySkeleton) + 1, 500, 25000} {
		text, chains, err := genKubeProxy(n)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(text, "add rule "); got != n {
			t.Errorf("kube-proxy %d: %d rules", n, got)
		}
		if got := strings.Count(text, "add chain "); got != chains {
			t.Errorf("kube-proxy %d: %d chains, says %d", n, got, chains)
		}
		declared := map[string]bool{}
		for _, l := range strings.Split(text, "\n") {
			if f := strings.Fields(l); len(f) >= 5 && f[0] == "add" && f[1] == "chain" {
				declared[f[4]] = true
			}
		}
		for _, l := range strings.Split(text, "\n") {
			f := strings.Fields(l)
			for i := 0; i+1 < len(f); i++ {
				if f[i] == "jump" || f[i] == "goto" {
					if c := strings.TrimRight(f[i+1], ",}"); !declared[c] {
						t.Fatalf("kube-proxy %d: %q names undeclared chain %s", n, l, c)
					}
				}
			}
		}
	}
	if _, _, err := genKubeProxy(1); err == nil {
		t.Error("kube-proxy 1: no error")
	}
	if k, f := nativeSplit(50000); k+f != 50000 || f < minForeign {
		t.Errorf("split 50000: %d + %d", k, f)
	}
}
