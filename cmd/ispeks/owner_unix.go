//go:build unix

package main

import (
	"os"
	"syscall"
)

// fileOwner is the user ID that owns path, if it can be told.
func fileOwner(path string) (uid int, ok bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
