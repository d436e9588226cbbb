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

// kernelShare is the process's system CPU time, minor page faults and
// context switches so far: on this project's VM a page fault costs
// microseconds of system time, and a hash in fresh 19 MiB of memory faults
// thousands of times (the hasher's slots keep theirs: see
// infra/security/argon2id); every switch puts another thread on a core a
// hash was running on.
func kernelShare() kernel {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return kernel{}
	}
	return kernel{Sys: time.Duration(ru.Stime.Nano()), Faults: float64(ru.Minflt), Switches: float64(ru.Nvcsw + ru.Nivcsw)}
}
