//go:build unix

package main

import (
	"syscall"
	"time"
)

// processCPU is the process's user plus system CPU time so far: on a
// shared machine it says what a phase cost whatever else was running.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
