package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// stopSignals are the signals that stop ispeks: Ctrl-C, and SIGTERM from
// systemd or a container runtime.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

// notifyStop returns a context that ends at the first stop signal, which
// starts the graceful stop (serve drains its requests, an import finishes
// the row it is on). A second signal ends the process at once, after
// saying so on w, through exit with the shell's status for the signal
// (130 for Ctrl-C): an operator whose stop hangs, or who changed their
// mind about waiting, is not left with a process that ignores Ctrl-C.
// What was committed stays committed; the event store is crash-safe, as it
// must be for a power cut. release stops listening.
func notifyStop(w io.Writer, exit func(code int)) (ctx context.Context, release func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, stopSignals...)
	ctx, cancel := context.WithCancel(context.Background())
	released := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-released:
			return
		}
		select {
		case sig := <-sigs:
			fmt.Fprintf(w, "\nispeks: second stop signal (%s): stopping now, without finishing the graceful stop\n", sig)
			exit(signalStatus(sig))
		case <-released:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(released)
		cancel()
	}
}

// signalStatus is the exit status a shell gives a process a signal ended.
func signalStatus(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 1
}
