package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// SIGINT and SIGTERM cancel the command's context; they never kill
// hostwall outright. An apply stopped by one before it wrote anything
// says so and exits 128 + the signal's number (130, 143), as a shell
// reports a program the signal ended; one that had started writing
// finishes its write, verification and any rollback (the engine no
// longer heeds the context then) and exits as it would have.

// signals are caught from the start of the program, so that one sent
// while hostwall starts up is not the runtime's default (death).
var signals = make(chan os.Signal, 4)

func init() { signal.Notify(signals, os.Interrupt, syscall.SIGTERM) }

// signalError is the cause of a context a signal cancelled.
type signalError struct{ sig syscall.Signal }

func (e *signalError) Error() string { return "interrupted by " + unix.SignalName(e.sig) }

// signalContext is cancelled by the first SIGINT or SIGTERM, with a
// *signalError as its cause; later ones are caught and ignored. stop
// ends that.
func signalContext() (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan struct{})
	go func() {
		select {
		case s := <-signals:
			if sig, ok := s.(syscall.Signal); ok {
				cancel(&signalError{sig})
			}
		case <-done:
		}
	}()
	return ctx, func() { close(done); cancel(nil) }
}

// signalStatus is the exit status of a command that failed after a
// signal cancelled ctx: 128 + the signal's number.
func signalStatus(ctx context.Context) (int, bool) {
	se, ok := context.Cause(ctx).(*signalError)
	if !ok {
		return 0, false
	}
	return 128 + int(se.sig), true
}
