package engine

import "testing"

// Removing takes the owned chain and its hooks away, keeps everything
// else (with its counters), and is a no-op the second time.
func TestPlanRemove(t *testing.T) {
	applied, err := PlanTable(kernelTable(t, dockerKernel), desired(t, policyV1))
	if err != nil {
		t.Fatal(err)
	}
	p, err := planFor(applied.Next, desired(t, policyV1), true)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := saveText(t, p.Next), saveText(t, kernelTable(t, dockerKernel)); got != want {
		t.Errorf("after remove:\n%s\nwant:\n%s", got, want)
	}
	if len(p.HooksRemoved) != 2 || len(p.ChainsCreated) != 0 {
		t.Errorf("hooks removed %q, chains created %q", p.HooksRemoved, p.ChainsCreated)
	}
	again, err := planFor(p.Next, desired(t, policyV1), true)
	if err != nil {
		t.Fatal(err)
	}
	if again.Changed() || len(again.Diff) != 0 {
		t.Errorf("second remove changes: %q", again.Diff)
	}
}
