package server_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/http/server"
)

// Benchmarks of the whole middleware stack: a constant JSON route (the
// issue 5 baseline) and full HTML pages, anonymous and logged in.
func benchServer(b *testing.B) (*harness, *browser) {
	h := newHarness(b, func(_ *server.Config, d *server.Deps) {
		d.API = []func(*gin.RouterGroup){func(g *gin.RouterGroup) {
			g.GET("/const", func(c *gin.Context) { c.JSON(200, gin.H{"status": "ok", "n": 42}) })
		}}
	})
	return h, h.browser()
}

func runBench(b *testing.B, h *harness, target string, cookies []*http.Cookie) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest("GET", target, nil)
			for _, c := range cookies {
				r.AddCookie(c)
			}
			w := httptest.NewRecorder()
			h.srv.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatalf("%s: %d", target, w.Code)
			}
		}
	})
}

func BenchmarkConstJSON(b *testing.B) {
	h, _ := benchServer(b)
	runBench(b, h, "/api/v1/const", nil)
}

func BenchmarkLandingPage(b *testing.B) {
	h, _ := benchServer(b)
	runBench(b, h, "/", nil)
}

func BenchmarkHomePageLoggedIn(b *testing.B) {
	h, br := benchServer(b)
	br.login("u1", "", false)
	var cookies []*http.Cookie
	for _, c := range br.cookies {
		cookies = append(cookies, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	runBench(b, h, "/utama", cookies)
}

func BenchmarkComingPageLoggedIn(b *testing.B) {
	h, br := benchServer(b)
	br.login("u1", "", false)
	var cookies []*http.Cookie
	for _, c := range br.cookies {
		cookies = append(cookies, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	runBench(b, h, "/penyata-gaji", cookies)
}
