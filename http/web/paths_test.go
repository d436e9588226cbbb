package web

import "testing"

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
