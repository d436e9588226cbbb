package httpx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

// RequestIDHeader carries the request ID in and out.
const RequestIDHeader = "X-Request-ID"

const (
	keyRequestID = "ispeks.request_id"
	keyOrigBody  = "ispeks.orig_body"
)

type requestIDKey struct{}

// RequestID gives every request an ID: the caller's X-Request-ID when it is
// a plain token (a proxy's), otherwise a fresh random one. It is echoed in
// the response, logged, and put in the request context (commands use it as
// the correlation ID).
func RequestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(RequestIDHeader)
		if !validRequestID(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Set(keyRequestID, id)
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), requestIDKey{}, id))
		c.Header(RequestIDHeader, id)
		c.Next()
	}
}

func validRequestID(s string) bool {
	if len(s) < 8 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// RequestIDOf returns the request's ID ("" before RequestID ran).
func RequestIDOf(c *gin.Context) string { return c.GetString(keyRequestID) }

// RequestIDFromContext returns the request ID carried by ctx.
func RequestIDFromContext(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey{}).(string)
	return s
}

// Route is the matched route template ("/api/v1/payments/:id"), never the
// raw path: raw paths and queries may carry IC numbers. Unmatched requests
// are "unmatched" so a scan of random URLs cannot blow up metric labels.
func Route(c *gin.Context) string {
	if p := c.FullPath(); p != "" {
		return p
	}
	return "unmatched"
}

// quietRoutes are logged at debug level: probes hit them every few seconds.
var quietRoutes = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// AccessLog writes one structured line per request: method, route template,
// status, duration, size, client IP and request ID. No path, query, user ID
// or form value is logged, because the user ID is the IC number.
func AccessLog(log *slog.Logger) gin.HandlerFunc {
	if log == nil {
		log = slog.Default()
	}
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := Route(c)
		level := slog.LevelInfo
		if quietRoutes[route] {
			level = slog.LevelDebug
		}
		log.LogAttrs(c.Request.Context(), level, "http",
			slog.String("request_id", RequestIDOf(c)),
			slog.String("method", c.Request.Method),
			slog.String("route", route),
			slog.Int("status", c.Writer.Status()),
			slog.Float64("ms", float64(time.Since(start).Microseconds())/1000),
			slog.Int("bytes", max(c.Writer.Size(), 0)),
			slog.String("ip", c.ClientIP()))
	}
}

// ContentSecurityPolicy allows no script at all: no page needs one. Styles
// and images come only from this origin (data: images for generated QR
// codes); no framing, no plugins, forms post only here.
const ContentSecurityPolicy = "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// SecurityHeaders sets the headers every response carries. Responses are
// not cacheable unless a handler says otherwise (static assets do): pages
// show personal data. secure reports whether the request came over TLS,
// for HSTS.
func SecurityHeaders(secure func(*http.Request) bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		// same-origin keeps Origin on our own POSTs (the CSRF check reads
		// it) and sends nothing to other sites.
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
		h.Set("Cache-Control", "no-store")
		if secure != nil && secure(c.Request) {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		c.Next()
	}
}

// DefaultBodyLimit is the request body limit unless a route sets its own.
const DefaultBodyLimit = 1 << 20

// The server sets no ReadTimeout (a batch upload streams for minutes), so
// BodyLimit bounds how long a body may take instead: bodyTimeBase plus the
// limit at bodyMinRate (1 MiB: about a minute; the 256 MiB batch: over two
// hours), counted from the start of the request. A client that trickles its body byte by byte to hold connections
// open is cut off then, with 408.
var bodyTimeBase = 30 * time.Second

const bodyMinRate = 32 << 10 // bytes per second

// ErrBodyTimeout: the request body did not arrive within its time (408).
var ErrBodyTimeout = errors.New("httpx: request body not received in time")

// BodyLimit caps the request body at n bytes; reading past it fails with
// *http.MaxBytesError, which the ErrorMap answers with 413. It also bounds
// the time the body may take to arrive (bodyTimeBase + n at bodyMinRate);
// past that a read fails with ErrBodyTimeout (408). Installed globally with
// the default, and again on a route that needs another limit (an upload, a
// streaming batch): the route's limit and time replace the global ones.
// n <= 0 means no limit and no time bound (the route must bound what it
// reads itself).
func BodyLimit(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		orig, ok := c.Get(keyOrigBody)
		if !ok {
			orig = c.Request.Body
			c.Set(keyOrigBody, orig)
		}
		body := orig.(io.ReadCloser)
		if body != nil && body != http.NoBody {
			// Set here, not at the first read: a handler that never reads
			// the body leaves net/http to discard it, under this bound too.
			// Errors: only test recorders cannot set deadlines.
			rc := http.NewResponseController(c.Writer)
			if n > 0 {
				_ = rc.SetReadDeadline(time.Now().Add(bodyTimeBase + time.Duration(n/bodyMinRate)*time.Second))
				body = http.MaxBytesReader(c.Writer, &timedBody{ReadCloser: body, rc: rc}, n)
			} else {
				_ = rc.SetReadDeadline(time.Time{}) // the global one's
			}
		}
		c.Request.Body = body
		c.Next()
	}
}

// timedBody clears the read deadline once the body has ended: net/http then
// reads the connection in the background to notice a client going away, and
// a deadline left set would cancel a request still being processed.
type timedBody struct {
	io.ReadCloser
	rc *http.ResponseController
}

func (b *timedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == io.EOF:
		_ = b.rc.SetReadDeadline(time.Time{})
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The deadline stays: net/http would otherwise wait, with no
		// bound, for the rest of the body before sending the 408.
		err = fmt.Errorf("%w: %w", ErrBodyTimeout, err)
	}
	return n, err
}

// Networks is a set of addresses and CIDRs (trusted proxies, the clients
// allowed to read /metrics).
type Networks struct{ nets []netip.Prefix }

// Proxies is the set of reverse proxies whose X-Forwarded-* headers are
// believed.
type Proxies = Networks

// ParseNetworks reads CIDRs or single addresses; what names the list in
// errors ("trusted proxy").
func ParseNetworks(what string, list []string) (Networks, error) {
	var p Networks
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return Networks{}, fmt.Errorf("httpx: %s %q: %w", what, s, err)
			}
			a = a.Unmap()
			p.nets = append(p.nets, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		n, err := netip.ParsePrefix(s)
		if err != nil {
			return Networks{}, fmt.Errorf("httpx: %s %q: %w", what, s, err)
		}
		p.nets = append(p.nets, n.Masked())
	}
	return p, nil
}

// ParseProxies reads the trusted proxies' CIDRs or single addresses.
func ParseProxies(list []string) (Proxies, error) { return ParseNetworks("trusted proxy", list) }

// Contains reports whether the address host (an IP, without port) is in
// the set.
func (p Networks) Contains(host string) bool {
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, n := range p.nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// Trusted reports whether the peer of r is a trusted proxy.
func (p Proxies) Trusted(r *http.Request) bool { return p.Contains(peer(r)) }

// peer is the address of the connection's other end, without port.
func peer(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// OnlyFrom lets a request through only when it comes straight from an
// address in allowed: a request that names a forwarded client at all
// (X-Forwarded-For, X-Real-IP, Forwarded) came through a proxy, which may
// be one on this host that --trusted-proxies does not list, or one that
// passes a client's own header on. Any other gets the 404 of an unknown
// path. /metrics uses it: its series name every route and show the
// runtime's state, and a scraper connects directly.
func OnlyFrom(allowed Networks) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Request.Header
		if h.Get("X-Forwarded-For") != "" || h.Get("X-Real-Ip") != "" || h.Get("Forwarded") != "" || !allowed.Contains(peer(c.Request)) {
			Abort(c, ErrNotFound)
			return
		}
		c.Next()
	}
}

// SecureRequest returns the test for "this request came over TLS": always
// when force is set (TLS terminated by something that does not say so),
// when the server itself terminated TLS, or when a trusted proxy says
// X-Forwarded-Proto: https.
func SecureRequest(force bool, proxies Proxies) func(*http.Request) bool {
	return func(r *http.Request) bool {
		if force || r.TLS != nil {
			return true
		}
		return proxies.Trusted(r) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
	}
}

// UserAgent is the request's User-Agent as commands record it: at most 256
// bytes, cut between characters, with bytes that are not UTF-8 replaced
// (a header may carry any byte; the event log's metadata is text).
func UserAgent(c *gin.Context) string {
	ua := c.Request.UserAgent()
	if len(ua) > 256 {
		ua = ua[:256]
		for i := 0; i < utf8.UTFMax && len(ua) > 0; i++ {
			if r, n := utf8.DecodeLastRuneInString(ua); r != utf8.RuneError || n != 1 {
				break
			}
			ua = ua[:len(ua)-1] // a character cut at the limit
		}
	}
	return strings.ToValidUTF8(ua, "\uFFFD")
}
