// Package e2e holds the end-to-end tests: the real ispeks binary started as
// `ispeks serve --demo` and the manual's walkthrough driven in a real
// headless Chromium (DESIGN.md, Tests). The package has no code of its own;
// `go test ./e2e` builds the binary once, skips with a message when
// chromium is not installed (scripts/test installs it), and writes the
// screenshots to $ISPEKS_E2E_SCREENSHOTS when set. ISPEKS_E2E_BINARY names a
// prebuilt binary to test instead of building one.
package e2e
