// Package apiauth authenticates the finance systems that call the JSON API:
// a bearer token (isp_<clientID>_<secret>) checked against the SHA-256 hash
// in the apiclients read model in constant time, a per-client rate limit
// (token bucket), a per-address limit on failed authentications, and scope
// checks per route. The client ID is put in the
// Gin and request contexts so commands record the client as their actor.
//
// Refusals are JSON in the API's error shape with stable codes:
//
//	401 auth.missing_token      no or non-Bearer Authorization header
//	401 auth.invalid_token      malformed, unknown, or wrong token, or two
//	                            Authorization headers
//	401 auth.token_revoked      the right token of a revoked client
//	403 auth.insufficient_scope the client lacks the route's scope
//	429 auth.rate_limited       over the client's rate (Retry-After set)
//	429 auth.too_many_failures  too many failed authentications from the
//	                            client's address (Retry-After set)
//	503 unavailable             the read model could not be read
package apiauth

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/domain/apiclient"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/i18n"
	"github.com/melaka-gov/ispeks/projections/apiclients"
)

// Clients finds a client in the read model (apiclients.Queries).
type Clients interface {
	Get(ctx context.Context, id string) (apiclients.Client, bool, error)
}

// Config tunes the authenticator.
type Config struct {
	// RateBurst requests may come at once; one more is allowed every
	// RateEvery. Defaults 200 and 5 ms (200 requests a second sustained
	// per client: a payroll run streams its batch as NDJSON in a few
	// requests, so this bounds a misbehaving client, not a normal one).
	RateBurst int
	RateEvery time.Duration
	// FailBurst failed token authentications may come from one client
	// address (httpx.ClientKey) at once; one more is allowed every
	// FailEvery. Defaults 20 and 3 s, as the per-IP login throttle.
	FailBurst int
	FailEvery time.Duration
	Now       func() time.Time
	Log       *slog.Logger
}

// Authenticator is the bearer-token middleware.
type Authenticator struct {
	clients  Clients
	limit    *httpx.Throttle
	failures *httpx.Throttle // per client address: failed authentications
	log      *slog.Logger
}

// New returns an authenticator over the clients read model.
func New(clients Clients, cfg Config) *Authenticator {
	if cfg.RateBurst <= 0 {
		cfg.RateBurst = 200
	}
	if cfg.RateEvery <= 0 {
		cfg.RateEvery = 5 * time.Millisecond
	}
	if cfg.FailBurst <= 0 {
		cfg.FailBurst = 20
	}
	if cfg.FailEvery <= 0 {
		cfg.FailEvery = 3 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Authenticator{
		clients:  clients,
		limit:    httpx.NewThrottle(httpx.ThrottleConfig{Burst: cfg.RateBurst, Every: cfg.RateEvery}, cfg.Now),
		failures: httpx.NewThrottle(httpx.ThrottleConfig{Burst: cfg.FailBurst, Every: cfg.FailEvery}, cfg.Now),
		log:      cfg.Log,
	}
}

type ctxKey struct{}

const ginKey = "apiauth.client"

// Problems the middleware answers with.
var (
	problemMissing = httpx.Problem{Status: http.StatusUnauthorized, Code: "auth.missing_token", Message: i18n.Text{
		MS: "Token pelanggan API diperlukan (Authorization: Bearer …).",
		EN: "An API client token is required (Authorization: Bearer …)."}}
	problemInvalid = httpx.Problem{Status: http.StatusUnauthorized, Code: "auth.invalid_token", Message: i18n.Text{
		MS: "Token pelanggan API tidak sah.",
		EN: "The API client token is not valid."}}
	problemRevoked = httpx.Problem{Status: http.StatusUnauthorized, Code: "auth.token_revoked", Message: i18n.Text{
		MS: "Token pelanggan API ini telah dibatalkan.",
		EN: "This API client token has been revoked."}}
	problemLimited = httpx.Problem{Status: http.StatusTooManyRequests, Code: "auth.rate_limited", Message: i18n.Text{
		MS: "Terlalu banyak permintaan. Cuba lagi sebentar lagi.",
		EN: "Too many requests. Try again shortly."}}
	problemFailures = httpx.Problem{Status: http.StatusTooManyRequests, Code: "auth.too_many_failures", Message: i18n.Text{
		MS: "Terlalu banyak token tidak sah dari alamat ini. Cuba lagi sebentar lagi.",
		EN: "Too many invalid tokens from this address. Try again shortly."}}
	problemUnavailable = httpx.Problem{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: i18n.Text{
		MS: "Sistem tidak dapat diakses.",
		EN: "The system cannot be reached."}, Internal: true}
)

// A hash no token has, so an unknown client costs the same comparison as a
// known one.
var dummyHash = apiclient.HashToken("isp_unknown_client")

// Middleware authenticates the request and applies the client's rate
// limit. Put it on the API group; add RequireScope per route.
//
// Failed authentications (a malformed, unknown, wrong or revoked token, or
// two Authorization headers; not a missing one) are counted per client
// address. An address over its limit is refused (429
// auth.too_many_failures) before its token is read or looked up — a valid
// token too: telling it from a guess is the lookup the limit saves, and a
// finance system sharing the address waits Retry-After like the rest.
func (a *Authenticator) Middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		values := c.Request.Header.Values("Authorization")
		token, ok := bearer(c.GetHeader("Authorization"))
		if len(values) <= 1 && !ok {
			refuse(c, problemMissing)
			return
		}
		addr := httpx.ClientKey(c.ClientIP())
		if ok, wait := a.failures.Peek(addr); !ok {
			p := problemFailures
			p.RetryAfter = wait
			refuse(c, p)
			return
		}
		fail := func(p httpx.Problem) {
			a.failures.Allow(addr)
			refuse(c, p)
		}
		// One credential only: with two Authorization headers a proxy in
		// front may have checked (or added) another one than this reads.
		if len(values) > 1 {
			fail(problemInvalid)
			return
		}
		id, err := apiclient.ParseToken(token)
		if err != nil {
			apiclient.VerifyToken(token, dummyHash)
			fail(problemInvalid)
			return
		}
		client, found, err := a.clients.Get(c.Request.Context(), id)
		if err != nil {
			p := problemUnavailable
			p.Incident = httpx.NewIncidentID()
			a.log.ErrorContext(c.Request.Context(), "apiauth: read api clients", "incident", p.Incident, "err", err)
			refuse(c, p)
			return
		}
		hash := dummyHash
		if found {
			hash = client.TokenHash
		}
		if !apiclient.VerifyToken(token, hash) || !found {
			fail(problemInvalid)
			return
		}
		if client.Revoked {
			fail(problemRevoked)
			return
		}
		if ok, wait := a.limit.Allow(client.ID); !ok {
			p := problemLimited
			p.RetryAfter = wait
			refuse(c, p)
			return
		}
		c.Set(ginKey, client)
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), ctxKey{}, client))
		c.Next()
	}
}

// RequireScope refuses a request whose client lacks scope. It must come
// after Middleware (without it every request is refused as unauthenticated).
func RequireScope(scope string) gin.HandlerFunc {
	if !apiclient.ValidScope(scope) {
		panic("apiauth: unknown scope " + scope) // a programming error in route setup
	}
	return func(c *gin.Context) {
		client, ok := FromGin(c)
		if !ok {
			refuse(c, problemMissing)
			return
		}
		if !client.HasScope(scope) {
			p := problemInsufficient(scope)
			refuse(c, p)
			return
		}
		c.Next()
	}
}

func problemInsufficient(scope string) httpx.Problem {
	return httpx.Problem{Status: http.StatusForbidden, Code: "auth.insufficient_scope", Message: i18n.Text{
		MS: "Pelanggan API ini tidak mempunyai skop " + scope + ".",
		EN: "This API client lacks the " + scope + " scope."}}
}

// FromGin returns the authenticated client of a request.
func FromGin(c *gin.Context) (apiclients.Client, bool) {
	v, ok := c.Get(ginKey)
	if !ok {
		return apiclients.Client{}, false
	}
	client, ok := v.(apiclients.Client)
	return client, ok
}

// FromContext returns the authenticated client from a request context.
func FromContext(ctx context.Context) (apiclients.Client, bool) {
	client, ok := ctx.Value(ctxKey{}).(apiclients.Client)
	return client, ok
}

// Actor is the event actor of the request's client ({client, ID}); the zero
// Actor when the request is not authenticated.
func Actor(c *gin.Context) eventlog.Actor {
	client, ok := FromGin(c)
	if !ok {
		return eventlog.Actor{}
	}
	return eventlog.Actor{Kind: eventlog.ActorClient, ID: client.ID}
}

func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func refuse(c *gin.Context, p httpx.Problem) {
	h := c.Writer.Header()
	h.Set("Cache-Control", "no-store")
	if p.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="ispeks-api"`)
	}
	if p.RetryAfter > 0 {
		secs := int((p.RetryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.Itoa(max(secs, 1)))
	}
	httpx.WriteJSONProblem(c, p)
	c.Abort()
}
