//go:build !linux

package security

import "time"

// threadCPU is not measured here: DerivationCPU stays zero.
func threadCPU() (time.Duration, bool) { return 0, false }
