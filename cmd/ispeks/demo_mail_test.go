package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemoRefusesSMTP: the demo's staff have made-up names at the state's
// real domain (siti.aminah@melaka.gov.my), and anyone who opens the demo may
// register them. With SMTP configured (ISPEKS_SMTP_URL left in the
// environment of a host that runs the real portal too) their temporary
// passwords went to those real mailboxes, and /demo/mailbox stayed empty.
// serve --demo refuses it before it touches the data directory.
func TestDemoRefusesSMTP(t *testing.T) {
	for _, how := range []string{"flag", "environment"} {
		t.Run(how, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "demo")
			args := []string{"serve", "--demo", "--data", dir, "--listen", "127.0.0.1:0", "--log-level", "error"}
			if how == "flag" {
				args = append(args, "--smtp", "smtp://relay.melaka.gov.my:25")
			} else {
				t.Setenv("ISPEKS_SMTP_URL", "smtp://relay.melaka.gov.my:25")
			}
			// Without the check it serves until this ends.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := execute(ctx, args...)
			if err == nil || !strings.HasPrefix(err.Error(), "--demo: ") || !strings.Contains(err.Error(), "ISPEKS_SMTP_URL") {
				t.Fatalf("serve --demo with SMTP: %v", err)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Fatalf("the data directory was made: %v", err)
			}
		})
	}
}

// TestSMTPMailNeedsAPublicBaseURL: without --base-url the mails' link is
// derived from the listen address; behind a proxy that is 127.0.0.1 (or
// localhost for a wildcard), which only the server itself opens. Mail that
// leaves through --smtp would send every staff member there, so serve and
// mail resend refuse it and ask for the public URL; an explicit --base-url
// or a listen address others reach is accepted.
func TestSMTPMailNeedsAPublicBaseURL(t *testing.T) {
	const relay = "smtp://127.0.0.1:1?starttls=off"
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"serve on loopback", []string{"serve", "--listen", "127.0.0.1:0", "--smtp", relay}},
		{"serve on every address", []string{"serve", "--listen", ":0", "--smtp", relay}},
		{"resend on the default listen address", []string{"mail", "resend", "1", "--smtp", relay}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "d")
			// Without the check serve runs until this ends.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := execute(ctx, append(tc.args, "--data", dir, "--log-level", "error")...)
			if err == nil || !strings.HasPrefix(err.Error(), "--base-url: ") || !strings.Contains(err.Error(), "only this machine") {
				t.Fatalf("%v: %v", tc.args, err)
			}
		})
	}
}

// TestProxiedPortalNeedsABaseURL: behind proxies the listen address is not
// the portal's, and PDFs would print a verification link to it even with
// no mail sent; serve asks for the public URL, and starts with it.
func TestProxiedPortalNeedsABaseURL(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := execute(ctx, "serve", "--listen", "127.0.0.1:0", "--trusted-proxies", "10.0.0.1", "--data", dir, "--log-level", "error")
	if err == nil || !strings.HasPrefix(err.Error(), "--base-url: ") || !strings.Contains(err.Error(), "verification link") {
		t.Fatalf("serve behind a proxy without --base-url: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the refused start made its data directory: %v", err)
	}
	stop := serveInBackground(t, ctx, dir, "--trusted-proxies", "10.0.0.1", "--base-url", "https://ispeks.melaka.gov.my")
	stop()
}
