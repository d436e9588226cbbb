package statements

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/domain/statement"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/verifycode"
)

// ErrNotFound: no such statement for this person within its display
// window. Someone else's statement is not found either.
var ErrNotFound = errors.New("statements: not found")

// Windows are how far back the portal shows statements, counted in months
// back from the current month in Melaka (the current month included) for
// slips, bonus and special aid, and in whole years before the current one
// for annual statements.
type Windows struct {
	SlipMonths  int // default 18
	AnnualYears int // default 7
}

// DefaultWindows: slips 18 months, annual statements 7 years.
func DefaultWindows() Windows { return Windows{SlipMonths: 18, AnnualYears: 7} }

// WithDefaults fills a window left 0 (or negative) with the default's.
func (w Windows) WithDefaults() Windows {
	d := DefaultWindows()
	if w.SlipMonths <= 0 {
		w.SlipMonths = d.SlipMonths
	}
	if w.AnnualYears <= 0 {
		w.AnnualYears = d.AnnualYears
	}
	return w
}

// cutoff is the earliest period end (YYYYMMDD) of type t shown at now.
func (w Windows) cutoff(t statement.Type, now time.Time) int64 {
	w = w.WithDefaults()
	now = now.In(calendar.Melaka)
	if t.Annual() {
		return int64((now.Year()-w.AnnualYears)*10000 + 1231)
	}
	first := time.Date(now.Year(), now.Month()-time.Month(w.SlipMonths-1), 1, 0, 0, 0, 0, time.UTC)
	return int64(first.Year()*10000 + int(first.Month())*100 + 1)
}

// FirstYear is the earliest year with a day inside the display window of
// statements of type t at now: a year before it lists nothing, and the web
// page and the API refuse it rather than answer "no records".
func (w Windows) FirstYear(t statement.Type, now time.Time) int {
	return int(w.cutoff(t, now) / 10000)
}

// Queries read the statement views.
type Queries struct {
	Reader  projections.Reader
	Windows Windows // zero value: DefaultWindows
	// Lists, when set, is what a person's lists are read through instead
	// of Reader: a cache of them (projections/viewcache). A single
	// statement and a verification are always read from Reader, so the
	// public check cannot fill a cache with made-up codes.
	Lists projections.Reader
}

// lists is the reader of a person's lists.
func (q Queries) lists() projections.Reader {
	if q.Lists != nil {
		return q.Lists
	}
	return q.Reader
}

// DisplayWindows are the windows the queries list and get within (the
// defaults filled in), for a caller that must tell a year outside them.
func (q Queries) DisplayWindows() Windows { return q.Windows.WithDefaults() }

// Page is one page of a person's statements.
type Page struct {
	Statements []Statement `json:"statements"`
	Next       string      `json:"next,omitempty"` // cursor of the next page; "" on the last
}

// MaxPageSize bounds a page.
const MaxPageSize = 100

// ListByPayee returns the statements of type t of the person with IC ic,
// latest period first, limit at a time (default 24), within the display
// window at now. year 0 lists every year of the window. Each statement is
// its latest revision. after is the Next of the previous page.
//
// A list statement carries what the lists show: ID, revision, type,
// period, pay date, totals, the payee's IC and the labels. The rest (payee
// and employer details, lines, issue and correction times, verification
// code) is left empty: Get has it.
func (q Queries) ListByPayee(ctx context.Context, ic string, t statement.Type, year int, limit int, after string, now time.Time) (Page, error) {
	return q.ListByPayeeInto(ctx, ic, t, year, limit, after, now, nil)
}

// ListByPayeeInto is ListByPayee appending the page's statements to buf
// (its length 0), for a caller that reuses the slice between requests: a
// list statement is half a kilobyte, and a page's worth of them was a
// fifth of a list page's allocation.
func (q Queries) ListByPayeeInto(ctx context.Context, ic string, t statement.Type, year int, limit int, after string, now time.Time, buf []Statement) (Page, error) {
	if !t.Valid() {
		return Page{}, fmt.Errorf("statements: unknown statement type %q", t)
	}
	if limit <= 0 {
		limit = 24
	}
	limit = min(limit, MaxPageSize)
	cut := q.Windows.cutoff(t, now)
	if year != 0 && int64(year)*10000+1231 < cut {
		return Page{Statements: []Statement{}}, nil // the whole year is outside the window
	}
	where := map[string]any{"payee_ic": ic, "type": string(t)}
	if year != 0 {
		where["year"] = int64(year)
	}
	// Latest period first: the window's first period end bounds the list,
	// so the store reads no row before it (a person's older slips were
	// read only to be dropped here), and only the bodies.
	pg, err := q.lists().Find(ctx, projections.Query{Collection: Rows, Where: where, SortBy: "period_end", Desc: true,
		Limit: limit, After: after, Bound: cut, BodyOnly: true})
	if err != nil {
		return Page{}, err
	}
	if buf == nil {
		buf = make([]Statement, 0, len(pg.Docs))
	}
	out := Page{Statements: buf[:0], Next: pg.Next}
	for _, d := range pg.Docs {
		out.Statements = append(out.Statements, Statement{})
		if err := decodeRow(&out.Statements[len(out.Statements)-1], d.ID, t, d.Body, ic); err != nil {
			return Page{}, fmt.Errorf("statements: statement %s: %w", d.ID, err)
		}
	}
	return out, nil
}

// Years lists the years that have a statement of type t for the person
// within the window, latest first (for the year choice of the search form).
func (q Queries) Years(ctx context.Context, ic string, t statement.Type, now time.Time) ([]int, error) {
	var years []int
	after := ""
	for {
		pg, err := q.ListByPayee(ctx, ic, t, 0, MaxPageSize, after, now)
		if err != nil {
			return nil, err
		}
		for _, s := range pg.Statements {
			if len(years) == 0 || years[len(years)-1] != s.Period.Year {
				years = append(years, s.Period.Year)
			}
		}
		if pg.Next == "" {
			return years, nil
		}
		after = pg.Next
	}
}

// Get returns statement id if it belongs to the person with IC ic and is
// within its display window at now; otherwise ErrNotFound.
func (q Queries) Get(ctx context.Context, ic, id string, now time.Time) (Statement, error) {
	v, ok, err := q.get(ctx, id)
	if err != nil {
		return Statement{}, err
	}
	if !ok || v.Payee.IC != ic || v.Period.End() < q.Windows.cutoff(v.Type, now) {
		return Statement{}, ErrNotFound
	}
	return v, nil
}

func (q Queries) get(ctx context.Context, id string) (Statement, bool, error) {
	if statement.ValidateID(id) != nil {
		return Statement{}, false, nil
	}
	d, ok, err := q.Reader.Get(ctx, Statements, id)
	if err != nil || !ok {
		return Statement{}, false, err
	}
	var v Statement
	if err := json.Unmarshal(d.Body, &v); err != nil {
		return Statement{}, false, fmt.Errorf("statements: statement %s: %w", id, err)
	}
	return v, true, nil
}

// Verification is what the public check of a printed statement shows:
// enough for a bank to confirm it is genuine, nothing more (the name is
// masked, no IC).
type Verification struct {
	Document        string    `json:"document"` // type label, e.g. "Slip Gaji Bulanan"
	Period          string    `json:"period"`
	NameMasked      string    `json:"name_masked"`
	NetSen          int64     `json:"net_sen"`
	Revision        int       `json:"revision"`
	CurrentRevision int       `json:"current_revision"`
	Superseded      bool      `json:"superseded"` // a correction replaced this revision
	IssuedAt        time.Time `json:"issued_at"`
}

// Verify looks up a verification code (in any case, with or without
// dashes). ok is false when the code is unknown. A code of a revision that
// a correction has replaced is found, marked Superseded.
func (q Queries) Verify(ctx context.Context, code string) (Verification, bool, error) {
	code = verifycode.Normalize(code)
	if code == "" {
		return Verification{}, false, nil
	}
	// A current revision's code first (nearly every check), then the
	// codes of replaced revisions.
	pg, err := q.Reader.Find(ctx, projections.Query{Collection: Statements, Where: map[string]any{"code": code}, Limit: 1, BodyOnly: true})
	if err != nil {
		return Verification{}, false, err
	}
	if len(pg.Docs) > 0 {
		var v Statement
		if err := json.Unmarshal(pg.Docs[0].Body, &v); err != nil {
			return Verification{}, false, fmt.Errorf("statements: statement %s: %w", pg.Docs[0].ID, err)
		}
		return v.summary().verification(v.Revision), true, nil
	}
	d, ok, err := q.Reader.Get(ctx, Codes, code)
	if err != nil || !ok {
		return Verification{}, false, err
	}
	var c codeDoc
	if err := json.Unmarshal(d.Body, &c); err != nil {
		return Verification{}, false, err
	}
	cur, ok, err := q.get(ctx, c.StatementID)
	if err != nil || !ok {
		return Verification{}, false, err
	}
	return c.verification(cur.Revision), true, nil
}

// verification is the public check of revision c of a statement whose
// current revision is current.
func (c codeDoc) verification(current int) Verification {
	return Verification{
		Document: c.Type.Label(), Period: c.PeriodLabel, NameMasked: verifycode.MaskName(c.Name), NetSen: c.NetSen,
		Revision: c.Revision, CurrentRevision: current, Superseded: c.Revision < current, IssuedAt: c.IssuedAt,
	}
}
