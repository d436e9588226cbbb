//go:build !unix

package main

import "time"

// processCPU is not measured here (the table then shows no CPU cost).
func processCPU() time.Duration { return 0 }

// kernelShare is not measured here.
func kernelShare() kernel { return kernel{} }
