package web

import "time"

// SetForgotQueueTimes shortens the Lupa Kata Laluan queue's waits for a
// test: how long a page waits for a free slot in a full queue, and the
// pauses between the attempts of a command that failed for the
// infrastructure (len(backoff)+1 attempts). Call it before the first
// request: the workers read the pauses once a command fails.
func SetForgotQueueTimes(s *Site, slotWait time.Duration, backoff ...time.Duration) {
	s.forgotJobs.slotWait = slotWait
	s.forgotJobs.backoff = backoff
}
