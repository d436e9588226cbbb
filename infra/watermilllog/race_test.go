//go:build race

package watermilllog_test

const raceEnabled = true
