package apiauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/apiclient"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/http/apiauth"
	"github.com/melaka-gov/ispeks/http/httpx"
	evsqlite "github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
	rssqlite "github.com/melaka-gov/ispeks/infra/readstore/sqlite"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/apiclients"
	"github.com/melaka-gov/ispeks/projections/engine"
)

// rig: SQLite event store and read store, the engine projecting API
// clients, and a Gin router with the authenticator.
type rig struct {
	t      *testing.T
	events *evsqlite.Store
	eng    *engine.Engine
	runner commands.Runner
	router *gin.Engine
	clock  *fakeClock
	reads  *reads // the authenticator's read-model lookups
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newRig(t *testing.T, cfg apiauth.Config) *rig {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	events, err := evsqlite.Open(ctx, filepath.Join(dir, "events.db"), evsqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = events.Close() })
	views, err := rssqlite.Open(ctx, filepath.Join(dir, "views.db"), rssqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = views.Close() })
	reg := eventlog.NewRegistry()
	apiclient.Register(reg)
	eng, err := engine.New(engine.Config{Log: events, Store: views, Registry: reg, Projectors: []projections.Projector{apiclients.Projector{}}})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- eng.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })

	clock := &fakeClock{t: time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)}
	cfg.Now = clock.Now
	r := &rig{t: t, events: events, eng: eng, clock: clock, reads: &reads{Clients: apiclients.Queries{Reader: views}},
		runner: commands.Runner{Store: events, Registry: reg, Now: clock.Now}}

	gin.SetMode(gin.ReleaseMode)
	router := gin.New()
	auth := apiauth.New(r.reads, cfg)
	api := router.Group("/api/v1", auth.Middleware())
	api.GET("/whoami", apiauth.RequireScope(apiclient.ScopeEventsRead), func(c *gin.Context) {
		client, _ := apiauth.FromContext(c.Request.Context())
		c.JSON(http.StatusOK, gin.H{"client": client.ID, "actor": apiauth.Actor(c)})
	})
	// A write: the client revokes another client (a stand-in for any
	// command), recording itself as the actor.
	api.POST("/clients/:id/revoke", apiauth.RequireScope(apiclient.ScopePaymentsWrite), func(c *gin.Context) {
		res, err := commands.RevokeAPIClientHandler{Runner: r.runner}.Handle(c.Request.Context(), commands.RevokeAPIClient{
			Meta:     commands.Meta{CommandID: uuid.New(), Actor: apiauth.Actor(c)},
			ClientID: c.Param("id"),
		})
		if err != nil {
			c.JSON(http.StatusConflict, gin.H{"error": err.Error()})
			return
		}
		c.JSON(http.StatusOK, gin.H{"position": res.Position})
	})
	r.router = router
	return r
}

func (r *rig) add(id string, scopes ...string) string {
	r.t.Helper()
	cmd, err := commands.AddAPIClient{Meta: commands.Meta{CommandID: uuid.New(), Actor: eventlog.Actor{Kind: eventlog.ActorAdmin, ID: "cli"}}, ClientID: id, Name: "Sistem " + id, Scopes: scopes}.WithNewToken()
	if err != nil {
		r.t.Fatal(err)
	}
	res, err := commands.AddAPIClientHandler{Runner: r.runner}.Handle(context.Background(), cmd)
	if err != nil {
		r.t.Fatal(err)
	}
	r.wait(res.Position)
	return cmd.Token
}

func (r *rig) wait(pos uint64) {
	r.t.Helper()
	if err := r.eng.WaitFor(context.Background(), pos, "apiclients"); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) do(method, path, auth string) (*httptest.ResponseRecorder, httpx.JSONError) {
	r.t.Helper()
	return r.doFrom("", method, path, auth)
}

// doFrom is do from the client address ip ("": httptest's default).
func (r *rig) doFrom(ip, method, path, auth string) (*httptest.ResponseRecorder, httpx.JSONError) {
	r.t.Helper()
	req := httptest.NewRequest(method, path, nil)
	if ip != "" {
		req.RemoteAddr = ip + ":4321"
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	r.router.ServeHTTP(w, req)
	var je httpx.JSONError
	if w.Code >= 400 {
		if err := json.Unmarshal(w.Body.Bytes(), &je); err != nil {
			r.t.Fatalf("%s %s: %d with a non-JSON body %q", method, path, w.Code, w.Body.String())
		}
	}
	return w, je
}

func TestBearerAuthentication(t *testing.T) {
	r := newRig(t, apiauth.Config{})
	reader := r.add("feed", apiclient.ScopeEventsRead)
	writer := r.add("payroll", apiclient.ScopePaymentsWrite)
	victim := r.add("oldsys", apiclient.ScopeEventsRead)

	w, _ := r.do("GET", "/api/v1/whoami", "Bearer "+reader)
	if w.Code != http.StatusOK {
		t.Fatalf("valid token: %d %s", w.Code, w.Body)
	}
	var who struct {
		Client string         `json:"client"`
		Actor  eventlog.Actor `json:"actor"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &who); err != nil || who.Client != "feed" || who.Actor != (eventlog.Actor{Kind: "client", ID: "feed"}) {
		t.Fatalf("whoami: %s", w.Body)
	}
	// The scheme is case-insensitive.
	if w, _ := r.do("GET", "/api/v1/whoami", "bearer "+reader); w.Code != http.StatusOK {
		t.Fatalf("lower-case scheme: %d", w.Code)
	}

	forged := reader[:len(reader)-4] + "AAAA"
	if forged == reader {
		forged = reader[:len(reader)-4] + "BBBB"
	}
	cases := []struct {
		name, auth string
		status     int
		code       string
	}{
		{"no header", "", 401, "auth.missing_token"},
		{"basic auth", "Basic dXNlcjpwYXNz", 401, "auth.missing_token"},
		{"empty bearer", "Bearer ", 401, "auth.missing_token"},
		{"garbage", "Bearer hello", 401, "auth.invalid_token"},
		{"wrong secret", "Bearer " + forged, 401, "auth.invalid_token"},
		{"unknown client", "Bearer isp_nobody_" + strings.Repeat("A", 43), 401, "auth.invalid_token"},
		{"token of another client's id", "Bearer " + strings.Replace(reader, "isp_feed_", "isp_payroll_", 1), 401, "auth.invalid_token"},
		{"missing scope", "Bearer " + writer, 403, "auth.insufficient_scope"},
	}
	for _, tc := range cases {
		w, je := r.do("GET", "/api/v1/whoami", tc.auth)
		if w.Code != tc.status || je.Error.Code != tc.code || je.Error.Message == "" {
			t.Errorf("%s: %d %+v, want %d %s", tc.name, w.Code, je, tc.status, tc.code)
		}
		if w.Code == 401 && w.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s: no WWW-Authenticate header", tc.name)
		}
	}
	if _, je := r.do("GET", "/api/v1/whoami", "Bearer "+writer); !strings.Contains(je.Error.Message, "events:read") {
		t.Errorf("scope error does not name the scope: %q", je.Error.Message)
	}

	// A write records the client as the actor.
	w, _ = r.do("POST", "/api/v1/clients/oldsys/revoke", "Bearer "+writer)
	if w.Code != http.StatusOK {
		t.Fatalf("revoke: %d %s", w.Code, w.Body)
	}
	recs, err := r.events.ReadStream(context.Background(), apiclient.Stream("oldsys"), 0, eventlog.Backwards, 1)
	if err != nil || len(recs) != 1 || recs[0].Type != "apiclient.Revoked.v1" {
		t.Fatalf("revoked event: %v %v", recs, err)
	}
	if recs[0].Metadata.Actor != (eventlog.Actor{Kind: eventlog.ActorClient, ID: "payroll"}) {
		t.Fatalf("actor %+v, want the client", recs[0].Metadata.Actor)
	}
	r.wait(recs[0].Position)
	// From then on the revoked client's right token is refused.
	if w, je := r.do("GET", "/api/v1/whoami", "Bearer "+victim); w.Code != 401 || je.Error.Code != "auth.token_revoked" {
		t.Fatalf("revoked client: %d %+v", w.Code, je)
	}
}

func TestPerClientRateLimit(t *testing.T) {
	// FailBurst above the 20 bad tokens below: this is about the client's
	// own bucket, not the address's failure limit.
	r := newRig(t, apiauth.Config{RateBurst: 5, RateEvery: time.Second, FailBurst: 100})
	a := r.add("alpha", apiclient.ScopeEventsRead)
	b := r.add("beta", apiclient.ScopeEventsRead)
	for i := 0; i < 5; i++ {
		if w, _ := r.do("GET", "/api/v1/whoami", "Bearer "+a); w.Code != http.StatusOK {
			t.Fatalf("request %d within the burst: %d", i, w.Code)
		}
	}
	w, je := r.do("GET", "/api/v1/whoami", "Bearer "+a)
	if w.Code != http.StatusTooManyRequests || je.Error.Code != "auth.rate_limited" || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("over the limit: %d %+v Retry-After=%q", w.Code, je, w.Header().Get("Retry-After"))
	}
	// Another client has its own bucket.
	if w, _ := r.do("GET", "/api/v1/whoami", "Bearer "+b); w.Code != http.StatusOK {
		t.Fatalf("other client: %d", w.Code)
	}
	// Tokens come back with time.
	r.clock.Add(2 * time.Second)
	for i := 0; i < 2; i++ {
		if w, _ := r.do("GET", "/api/v1/whoami", "Bearer "+a); w.Code != http.StatusOK {
			t.Fatalf("after refill, request %d: %d", i, w.Code)
		}
	}
	if w, _ := r.do("GET", "/api/v1/whoami", "Bearer "+a); w.Code != http.StatusTooManyRequests {
		t.Fatalf("refill gave more than it earned: %d", w.Code)
	}
	// Failed authentications do not spend the client's tokens.
	r.clock.Add(10 * time.Second)
	for i := 0; i < 20; i++ {
		r.do("GET", "/api/v1/whoami", "Bearer "+a[:len(a)-2]+"xx")
	}
	if w, _ := r.do("GET", "/api/v1/whoami", "Bearer "+a); w.Code != http.StatusOK {
		t.Fatalf("bad tokens spent the client's budget: %d", w.Code)
	}
}

// A request with two Authorization headers is refused, whichever comes
// first: the header holds one credential (RFC 9110 §11.6.2), and a proxy
// or gateway in front that checks or adds one of them may not check the
// one this server reads. Before, the first was used and the second
// ignored, so a valid token followed by anything passed.
func TestTwoAuthorizationHeadersAreRefused(t *testing.T) {
	r := newRig(t, apiauth.Config{})
	reader := r.add("feed", apiclient.ScopeEventsRead)
	for _, pair := range [][2]string{
		{"Bearer " + reader, "Bearer isp_nobody_" + strings.Repeat("A", 43)},
		{"Bearer " + reader, "Basic dXNlcjpwYXNz"},
		{"Bearer " + reader, "Bearer " + reader},
	} {
		req := httptest.NewRequest("GET", "/api/v1/whoami", nil)
		req.Header.Add("Authorization", pair[0])
		req.Header.Add("Authorization", pair[1])
		w := httptest.NewRecorder()
		r.router.ServeHTTP(w, req)
		var je httpx.JSONError
		if err := json.Unmarshal(w.Body.Bytes(), &je); err != nil || w.Code != http.StatusUnauthorized || je.Error.Code != "auth.invalid_token" {
			t.Errorf("%q then %q: %d %s, want 401 auth.invalid_token", pair[0][:12], pair[1][:12], w.Code, w.Body)
		}
		if w.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%q then %q: no WWW-Authenticate", pair[0][:12], pair[1][:12])
		}
	}
	if w, _ := r.do("GET", "/api/v1/whoami", "Bearer "+reader); w.Code != http.StatusOK {
		t.Fatalf("one header: %d", w.Code)
	}
}

// reads counts the read-model lookups the authenticator makes.
type reads struct {
	apiauth.Clients
	mu sync.Mutex
	n  int
}

func (r *reads) Get(ctx context.Context, id string) (apiclients.Client, bool, error) {
	r.mu.Lock()
	r.n++
	r.mu.Unlock()
	return r.Clients.Get(ctx, id)
}

func (r *reads) count() int { r.mu.Lock(); defer r.mu.Unlock(); return r.n }

// Failed token authentications are limited per client address: past the
// limit a request is refused (429 auth.too_many_failures, Retry-After)
// before its token is looked up, a valid token from that address too,
// while other addresses are unaffected; failures are earned back with time.
// Before, every bad or unknown token cost a read-model lookup, without end.
func TestFailedAuthenticationsAreLimitedPerAddress(t *testing.T) {
	r := newRig(t, apiauth.Config{FailBurst: 4, FailEvery: 10 * time.Second})
	good := r.add("feed", apiclient.ScopeEventsRead)
	revoked := r.add("oldsys", apiclient.ScopeEventsRead)
	res, err := commands.RevokeAPIClientHandler{Runner: r.runner}.Handle(context.Background(), commands.RevokeAPIClient{
		Meta: commands.Meta{CommandID: uuid.New(), Actor: eventlog.Actor{Kind: eventlog.ActorAdmin, ID: "cli"}}, ClientID: "oldsys"})
	if err != nil {
		t.Fatal(err)
	}
	r.wait(res.Position)
	from := func(ip, auth string) (*httptest.ResponseRecorder, httpx.JSONError) {
		return r.doFrom(ip, "GET", "/api/v1/whoami", auth)
	}
	unknown := "Bearer isp_nobody_" + strings.Repeat("A", 43)
	wrong := "Bearer " + good[:len(good)-2] + "xx"
	// Four failures of different kinds (unknown, wrong secret, revoked,
	// garbage) use up the burst; a missing token is no failure.
	for i, auth := range []string{unknown, wrong, "Bearer " + revoked, "", "Bearer garbage"} {
		if w, _ := from("198.51.100.7", auth); w.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, w.Code)
		}
	}
	before := r.reads.count()
	for _, auth := range []string{unknown, "Bearer " + good} {
		w, je := from("198.51.100.7", auth)
		if w.Code != http.StatusTooManyRequests || je.Error.Code != "auth.too_many_failures" || je.Error.Message == "" ||
			w.Header().Get("Retry-After") != "10" {
			t.Fatalf("over the failure limit: %d %+v Retry-After=%q", w.Code, je, w.Header().Get("Retry-After"))
		}
	}
	if n := r.reads.count() - before; n != 0 {
		t.Fatalf("%d read-model lookups for refused requests, want none", n)
	}
	// Another address is not held back.
	if w, _ := from("198.51.100.8", "Bearer "+good); w.Code != http.StatusOK {
		t.Fatalf("other address: %d", w.Code)
	}
	// One failure is earned back after FailEvery: the valid token passes,
	// and successes spend nothing.
	r.clock.Add(10 * time.Second)
	for i := 0; i < 3; i++ {
		if w, _ := from("198.51.100.7", "Bearer "+good); w.Code != http.StatusOK {
			t.Fatalf("valid token after the wait, request %d: %d", i, w.Code)
		}
	}
	if w, _ := from("198.51.100.7", unknown); w.Code != http.StatusUnauthorized {
		t.Fatalf("the failure earned back: %d", w.Code)
	}
	if w, _ := from("198.51.100.7", "Bearer "+good); w.Code != http.StatusTooManyRequests {
		t.Fatalf("after the next failure: %d", w.Code)
	}
}
