package redact

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"github.com/melaka-gov/ispeks/domain/mykad"
)

// Handler wraps h so that no IC number (mykad.Redact) and no e-mail address
// reaches it: in the message, in a string attribute, or in any other value
// as it would print (an error, a Stringer, a struct). A value that holds one
// is logged as its redacted text. Attributes added with WithAttrs are
// redacted once, when added.
func Handler(h slog.Handler) slog.Handler { return handler{next: h} }

type handler struct{ next slog.Handler }

func (h handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, personal(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h handler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = attr(a)
	}
	return handler{next: h.next.WithAttrs(out)}
}

func (h handler) WithGroup(name string) slog.Handler { return handler{next: h.next.WithGroup(name)} }

func attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, personal(v.String()))
	case slog.KindGroup:
		g := v.Group()
		out := make([]any, len(g))
		for i, m := range g {
			out[i] = attr(m)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		if s := fmt.Sprint(v.Any()); personal(s) != s {
			return slog.String(a.Key, personal(s))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// emailRe matches an e-mail address as it may appear inside an error's text
// (a driver's or a library's, which the portal does not control).
var emailRe = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)

// personal replaces IC numbers and e-mail addresses in s. Most log strings
// hold no '@', so the expression runs only on those that do.
func personal(s string) string {
	s = mykad.Redact(s)
	if strings.IndexByte(s, '@') < 0 {
		return s
	}
	return emailRe.ReplaceAllString(s, "[e-mel]")
}
