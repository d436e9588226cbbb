package commands

import (
	"context"
	"errors"
	"sync"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// ErrUnknownPayee: a payment or statement names an IC number that is not in
// the employee master.
var ErrUnknownPayee = errors.New("commands: payee is not in the employee master")

// UnknownPayeeError names the input field that carried the unknown IC.
type UnknownPayeeError struct{ Field string }

func (e *UnknownPayeeError) Error() string {
	return "commands: " + e.Field + ": no employee with this IC number in the employee master (push the employee first)"
}

// Is makes errors.Is(err, ErrUnknownPayee) true.
func (e *UnknownPayeeError) Is(target error) bool { return target == ErrUnknownPayee }

// PayeeDirectory says whether an IC number belongs to an employee.
type PayeeDirectory interface {
	Known(ctx context.Context, ic string) (bool, error)
}

// EmployeeStreams knows an employee by a non-empty employee-<IC> stream:
// the write side checks the log itself, never a read model.
type EmployeeStreams struct {
	Store EventStore
}

// Known reports whether the employee stream of ic has an event.
func (d EmployeeStreams) Known(ctx context.Context, ic string) (bool, error) {
	recs, err := d.Store.ReadStream(ctx, "employee-"+ic, 1, eventlog.Forwards, 1)
	if err != nil {
		return false, err
	}
	return len(recs) > 0, nil
}

// PayeeCache remembers the IC numbers Next has confirmed. Employees are
// never removed from the master (a member of staff who leaves still gets
// their last slips), so a positive answer stays true; negative answers are
// not kept, so an employee pushed a moment later is found.
type PayeeCache struct {
	Next PayeeDirectory
	Max  int // entries kept; 0 means 200,000 (a Melaka-sized staff fits)

	mu    sync.RWMutex
	known map[string]struct{}
}

// Known answers from the cache or asks Next.
func (c *PayeeCache) Known(ctx context.Context, ic string) (bool, error) {
	c.mu.RLock()
	_, ok := c.known[ic]
	c.mu.RUnlock()
	if ok {
		return true, nil
	}
	ok, err := c.Next.Known(ctx, ic)
	if err != nil || !ok {
		return ok, err
	}
	c.Remember(ic)
	return true, nil
}

// Remember records IC numbers known to be employees, for instance the
// whole master read from the employees read model at start-up, so that a
// payroll run does not read one employee stream per slip. Only positive
// knowledge goes in: employees are never removed from the master.
func (c *PayeeCache) Remember(ics ...string) {
	max := c.Max
	if max <= 0 {
		max = 200_000
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ic := range ics {
		if c.known == nil || len(c.known) >= max {
			c.known = make(map[string]struct{}, 1024) // start over rather than track recency
		}
		c.known[ic] = struct{}{}
	}
}

func checkPayee(ctx context.Context, d PayeeDirectory, ic, field string) error {
	ok, err := d.Known(ctx, ic)
	if err != nil {
		return err
	}
	if !ok {
		return &UnknownPayeeError{Field: field}
	}
	return nil
}
