package httpx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/domain/mykad"
)

// Check is one readiness check: a store is reachable, a projector is not
// too far behind. Run must honour ctx.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

// LagError says how far a projector is behind; it is safe to show on
// /readyz (numbers only), unlike other check errors, which may name hosts
// and are only logged.
type LagError struct {
	Lag, Max uint64
}

func (e *LagError) Error() string { return fmt.Sprintf("lag %d > %d", e.Lag, e.Max) }

// LagCheck fails when lag() reports more than maxLag events behind.
func LagCheck(name string, lag func(ctx context.Context) (uint64, error), maxLag uint64) Check {
	return Check{Name: name, Run: func(ctx context.Context) error {
		n, err := lag(ctx)
		if err != nil {
			return err
		}
		if n > maxLag {
			return &LagError{Lag: n, Max: maxLag}
		}
		return nil
	}}
}

// Healthz answers 200 while the process serves requests.
func Healthz() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"status": "ok"})
	}
}

// ReadyReport is the body of /readyz.
type ReadyReport struct {
	Status string            `json:"status"` // "ok" or "unavailable"
	Checks map[string]string `json:"checks"` // name → "ok", "fail", or a lag report
}

// Readyz runs every check concurrently, each bounded by timeout, and
// answers 200 when all pass, 503 otherwise.
func Readyz(log *slog.Logger, timeout time.Duration, checks ...Check) gin.HandlerFunc {
	if log == nil {
		log = slog.Default()
	}
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), timeout)
		defer cancel()
		rep := ReadyReport{Status: "ok", Checks: make(map[string]string, len(checks))}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, ch := range checks {
			wg.Go(func() {
				err := runCheck(ctx, ch)
				mu.Lock()
				defer mu.Unlock()
				var le *LagError
				switch {
				case err == nil:
					rep.Checks[ch.Name] = "ok"
					return
				case errors.As(err, &le):
					rep.Checks[ch.Name] = le.Error()
				default:
					rep.Checks[ch.Name] = "fail"
				}
				rep.Status = "unavailable"
				log.LogAttrs(ctx, slog.LevelWarn, "readiness check failed",
					slog.String("check", ch.Name), slog.String("err", mykad.Redact(err.Error())))
			})
		}
		wg.Wait()
		status := http.StatusOK
		if rep.Status != "ok" {
			status = http.StatusServiceUnavailable
		}
		c.JSON(status, rep)
	}
}

// runCheck returns when the check does or ctx ends, whichever is first, so
// one stuck store cannot hold /readyz past its timeout.
func runCheck(ctx context.Context, ch Check) (err error) {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("check panicked: %v", r)
			}
		}()
		done <- ch.Run(ctx)
	}()
	select {
	case err = <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
