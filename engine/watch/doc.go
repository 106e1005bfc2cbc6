// Package watch is hostwall's long-running half: a reconciler that
// applies the rules files at start and again whenever the desired state
// and the kernel can differ — a rules file changed, SIGHUP, the kernel's
// tables changed under it, interfaces came or went — and never fights
// another program in a tight loop.
//
// The reconciler knows nothing of kernels or files: it is driven by
// Sources (small goroutines that send Events) and acts through two
// functions, Load and Apply, so tests drive it with fakes. The real
// sources are in sources.go.
package watch
