package watermilllog_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/infra/watermilllog"
)

func TestLoggerSendsWatermillInfoToDebugAndKeepsErrors(t *testing.T) {
	var buf bytes.Buffer
	l := watermilllog.Logger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	l.Info("Adding handler", nil)
	l.Error("handler failed", errors.New("boom"), nil)
	out := buf.String()
	if strings.Contains(out, "Adding handler") {
		t.Errorf("Watermill's info reached an info-level log:\n%s", out)
	}
	if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "handler failed") {
		t.Errorf("Watermill's error is missing:\n%s", out)
	}

	buf.Reset()
	l = watermilllog.Logger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	l.Info("Adding handler", nil)
	if !strings.Contains(buf.String(), "level=DEBUG") {
		t.Errorf("Watermill's info is not at debug level:\n%s", buf.String())
	}
}
