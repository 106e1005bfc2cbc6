package engine

import (
	"context"
	"math/rand/v2"
	"time"
)

// maxGenAttempts bounds how often an nf_tables read-plan-write starts
// again because another writer committed in between. The generation is
// netns-wide, so under churn (kube-proxy resyncing, Docker starting
// containers, an admin's loop of iptables-nft) a few attempts can all be
// beaten; iptables-nft itself retries without a bound.
const maxGenAttempts = 40

// retryAfterGenChange reports whether attempt may be followed by another
// and, if so, first waits a short, growing, jittered while, so that two
// writers that keep beating each other fall out of step.
func retryAfterGenChange(ctx context.Context, attempt int) bool {
	if attempt >= maxGenAttempts {
		return false
	}
	d := time.Duration(min(attempt, 10)) * time.Millisecond
	d += time.Duration(rand.Int64N(int64(d) + 1))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
