package commands

import (
	"context"
	"time"
)

// WithStopGrace returns the context to run commands on for a caller that
// may be stopped (Ctrl-C, a client gone) while they append. It is not
// cancelled with ctx: an append cut off may still commit after its caller
// gave up on it, and the caller would report as not stored what was. It is
// cancelled grace after ctx ends, so a stuck store does not hold the stop
// for ever. release frees its timers; call it when the commands are done.
func WithStopGrace(ctx context.Context, grace time.Duration) (run context.Context, release func()) {
	run, stop := context.WithCancel(context.WithoutCancel(ctx))
	graceOver := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(grace, stop)
		context.AfterFunc(run, func() { t.Stop() })
	})
	return run, func() {
		graceOver()
		stop()
	}
}
