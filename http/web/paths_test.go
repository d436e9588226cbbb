package web

import (
	"slices"
	"testing"

	"github.com/melaka-gov/ispeks/http/session"
)

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/pentadbir":             "/pentadbir",
		"/pentadbir?ic=1&x=2":    "/pentadbir?ic=1&x=2",
		"":                       "/utama",
		"https://evil.example/":  "/utama",
		"//evil.example/":        "/utama",
		"/\\evil.example":        "/utama",
		"javascript:alert(1)":    "/utama",
		"/ok\r\nSet-Cookie: x=1": "/utama",
		"utama":                  "/utama",
		"/%2F%2Fevil.example":    "/%2F%2Fevil.example",
	} {
		if got := LocalPath(in, PathHome); got != want {
			t.Errorf("LocalPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMenuFor: each role combination sees exactly the items it may, in
// menu order, however often asked (menuFor shares one slice per set).
func TestMenuFor(t *testing.T) {
	if len(menu) > 64 {
		t.Fatalf("menu has %d items; menuFor's mask holds 64", len(menu))
	}
	labels := func(items []MenuItem) []string {
		var out []string
		for _, it := range items {
			out = append(out, it.Label)
		}
		return out
	}
	for _, roles := range [][]string{nil, {session.RoleAdmin}, {session.RoleAuditor}, {session.RoleAuditor, session.RoleAdmin}} {
		s := session.Session{Roles: roles}
		var want []string
		for _, it := range menu {
			if len(it.Roles) == 0 || slices.ContainsFunc(it.Roles, func(r string) bool { return slices.Contains(roles, r) }) {
				want = append(want, it.Label)
			}
		}
		for range 2 {
			if got := labels(menuFor(s)); !slices.Equal(got, want) {
				t.Fatalf("roles %v: %v, want %v", roles, got, want)
			}
		}
	}
	if got := labels(menuFor(session.Session{})); slices.Contains(got, "nav.pentadbir") || slices.Contains(got, "nav.audit") || !slices.Contains(got, "nav.penyata_gaji") {
		t.Fatalf("staff menu: %v", got)
	}
}

func TestMenuCurrent(t *testing.T) {
	for path, want := range map[string]string{
		PathPenyataGaji:                   PathPenyataGaji,
		PathPenyataGaji + "/SG-2026-03-B": PathPenyataGaji,
		PathPenyataGaji + "x":             "",
		PathTwoFactor + "/mula":           PathTwoFactor,
		PathHome:                          PathHome,
		"/":                               "",
		"":                                "",
	} {
		if got := menuCurrent(path); got != want {
			t.Errorf("menuCurrent(%q) = %q, want %q", path, got, want)
		}
	}
}
