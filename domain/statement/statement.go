// Package statement is the statement aggregate ("Urusniaga"): a pay slip,
// bonus or special-aid statement, or the annual income statement (Borang EC)
// of one member of staff, with its earnings, deductions and totals, and the
// corrections that supersede it. Stream: statement-<statementID>.
package statement

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// Limits of a statement.
const (
	MaxLines      = 60                     // earnings or deduction lines
	MaxLineSen    = int64(100_000_000_000) // RM 1 billion a line: sums of MaxLines lines stay far from overflow
	MaxName       = 150
	MaxText       = 120
	MaxReason     = 500
	maxIDLength   = 64
	earliestYear  = 1990
	dateLayout    = "2006-01-02"
	maxWeeklySpan = 6 // days from the first to the last day of a weekly slip
)

// Type is the kind of statement.
type Type string

const (
	SlipGajiBulanan          Type = "slip-gaji-bulanan"
	SlipGajiMingguan         Type = "slip-gaji-mingguan"
	SlipGajiSambilan         Type = "slip-gaji-sambilan"
	Bonus                    Type = "bonus"
	BantuanKhas              Type = "bantuan-khas"
	PenyataPendapatanTahunan Type = "penyata-pendapatan-tahunan"
)

// typeLabel is a statement type with the portal's name of it.
type typeLabel struct {
	t     Type
	label string
}

var typeLabels = []typeLabel{
	{SlipGajiBulanan, "Slip Gaji Bulanan"},
	{SlipGajiMingguan, "Slip Gaji Mingguan"},
	{SlipGajiSambilan, "Slip Gaji Sambilan"},
	{Bonus, "Bonus"},
	{BantuanKhas, "Bantuan Khas"},
	{PenyataPendapatanTahunan, "Penyata Pendapatan Tahunan (Borang EC)"},
}

// Types lists every statement type.
func Types() []Type {
	out := make([]Type, len(typeLabels))
	for i, x := range typeLabels {
		out[i] = x.t
	}
	return out
}

// Valid reports whether t is a known type.
func (t Type) Valid() bool {
	return slices.ContainsFunc(typeLabels, func(x typeLabel) bool { return x.t == t })
}

// Label is the portal's name of the type.
func (t Type) Label() string {
	for _, x := range typeLabels {
		if x.t == t {
			return x.label
		}
	}
	return string(t)
}

// Annual reports whether statements of type t cover a whole year.
func (t Type) Annual() bool { return t == PenyataPendapatanTahunan }

// Period is what a statement covers: a month (year and month), a week (from
// and to, with year and month of its last day), or a year (year only).
type Period struct {
	Year  int    `json:"year,omitempty"`
	Month int    `json:"month,omitempty"`
	From  string `json:"from,omitempty"`
	To    string `json:"to,omitempty"`
}

var months = [...]string{"Januari", "Februari", "Mac", "April", "Mei", "Jun", "Julai", "Ogos", "September", "Oktober", "November", "Disember"}

// MonthName is the Malay name of month m (1-12).
func MonthName(m int) string {
	if m < 1 || m > 12 {
		return ""
	}
	return months[m-1]
}

// Label is the period as the portal shows it: "Januari 2025",
// "06/01/2025 - 12/01/2025", "Tahun 2024".
func (p Period) Label() string {
	switch {
	case p.From != "":
		return dmy(p.From) + " - " + dmy(p.To)
	case p.Month != 0:
		return fmt.Sprintf("%s %d", MonthName(p.Month), p.Year)
	default:
		return fmt.Sprintf("Tahun %d", p.Year)
	}
}

func dmy(iso string) string {
	t, err := time.Parse(dateLayout, iso)
	if err != nil {
		return iso
	}
	return t.Format("02/01/2006")
}

// End is the last day of the period as YYYYMMDD: a number that sorts
// periods of every type together, and against which display windows cut.
func (p Period) End() int64 {
	switch {
	case p.To != "":
		t, _ := time.Parse(dateLayout, p.To)
		return int64(t.Year()*10000 + int(t.Month())*100 + t.Day())
	case p.Month != 0:
		last := time.Date(p.Year, time.Month(p.Month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
		return int64(p.Year*10000 + p.Month*100 + last)
	default:
		return int64(p.Year*10000 + 1231)
	}
}

// Payee is the member of staff the statement belongs to.
type Payee struct {
	IC          string `json:"ic"`
	Name        string `json:"name"`
	StaffNo     string `json:"staff_no"`
	PayNo       string `json:"pay_no,omitempty"`
	Department  string `json:"department"`
	Post        string `json:"post"`
	Grade       string `json:"grade,omitempty"`
	BankName    string `json:"bank_name,omitempty"`
	BankAccount string `json:"bank_account,omitempty"`
	TaxNo       string `json:"tax_no,omitempty"`
	EPFNo       string `json:"epf_no,omitempty"`
}

// Employer is who pays.
type Employer struct {
	Name       string `json:"name"`
	Department string `json:"department,omitempty"`
	Address    string `json:"address,omitempty"`
	EmployerNo string `json:"employer_no,omitempty"` // No. Majikan (E) on Borang EC
}

// Line is one earnings or deduction line (Gaji Pokok, ITKA, PCB, KWSP …).
type Line struct {
	Code      string `json:"code,omitempty"`
	Name      string `json:"name"`
	AmountSen int64  `json:"amount_sen"`
}

// Totals are Jumlah Pendapatan, Jumlah Potongan and Gaji Bersih.
type Totals struct {
	EarningsSen   int64 `json:"earnings_sen"`
	DeductionsSen int64 `json:"deductions_sen"`
	NetSen        int64 `json:"net_sen"`
}

// Content is everything a statement says.
type Content struct {
	Type       Type     `json:"type"`
	Period     Period   `json:"period"`
	Payee      Payee    `json:"payee"`
	Employer   Employer `json:"employer"`
	Earnings   []Line   `json:"earnings"`
	Deductions []Line   `json:"deductions"`
	Totals     Totals   `json:"totals"`
	PayDate    string   `json:"pay_date,omitempty"`
}

// Equal compares two contents field by field.
func (c Content) Equal(o Content) bool {
	return c.Type == o.Type && c.Period == o.Period && c.Payee == o.Payee && c.Employer == o.Employer &&
		slices.Equal(c.Earnings, o.Earnings) && slices.Equal(c.Deductions, o.Deductions) &&
		c.Totals == o.Totals && c.PayDate == o.PayDate
}

// Errors of the statement aggregate.
var (
	ErrNotIssued     = errors.New("statement: no such statement")
	ErrAlreadyIssued = errors.New("statement: already issued with different content (send a correction instead)")
	ErrInvalid       = errors.New("statement: invalid input")
	// ErrCommandReused: the command ID (a client's request ID) already
	// recorded a different change, e.g. another correction
	// (eventlog.ErrCommandReused).
	ErrCommandReused = eventlog.CommandReused("statement")
)

// FieldError names the input field that is wrong and why, by its JSON path
// inside the statement ("earnings[2].amount_sen", "totals.net_sen").
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return "statement: " + e.Field + ": " + e.Reason }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// ValidateID checks a statement ID (the payroll system's document number).
func ValidateID(id string) error {
	if id == "" {
		return fieldErr("statement_id", "is required")
	}
	if len(id) > maxIDLength || !eventlog.IsEntityID(id) {
		return fieldErr("statement_id", "must be 1 to %d letters, digits or ._:@+=- and start with a letter or digit", maxIDLength)
	}
	return nil
}

// Stream is the event stream of statement id.
func Stream(id string) string { return "statement-" + id }

// Events of the statement aggregate. CommandID is the command that caused
// the event: a repeat of the same command finds it and changes nothing.

// Issued: the payroll system issued a statement (revision 1).
type Issued struct {
	StatementID string `json:"statement_id"`
	CommandID   string `json:"command_id"`
	Content
}

func (Issued) EventType() string { return "statement.Issued.v1" }

// Corrected: a new revision supersedes the statement's content. The earlier
// revisions stay in the log.
type Corrected struct {
	StatementID string `json:"statement_id"`
	CommandID   string `json:"command_id"`
	Revision    int    `json:"revision"`
	Reason      string `json:"reason"`
	Content
}

func (Corrected) EventType() string { return "statement.Corrected.v1" }

// CorrectionUnchanged: a correction asked for the content the statement
// already had, so nothing changed (no new revision). It is recorded under
// the correction's command ID so that the same request sent again later (a
// re-sent batch, after other corrections) is answered as a repeat, not
// applied then and made to undo them. The content is the one it asked for
// (the statement's at the time): without it a repeat could not be told
// from the request ID reused for another change (ErrCommandReused).
type CorrectionUnchanged struct {
	StatementID string `json:"statement_id"`
	CommandID   string `json:"command_id"`
	Reason      string `json:"reason"`
	Content
}

func (CorrectionUnchanged) EventType() string { return "statement.CorrectionUnchanged.v1" }

// NoChange marks the event as changing nothing (eventlog.NoChange).
func (CorrectionUnchanged) NoChange() {}

// Register adds the statement events to reg.
func Register(reg *eventlog.Registry) {
	eventlog.Register[Issued](reg)
	eventlog.Register[Corrected](reg)
	eventlog.Register[CorrectionUnchanged](reg)
}

// Statement is the aggregate.
type Statement struct {
	eventlog.Changes
	id       string
	revision int
	content  Content
	// issuedAs is the content of revision 1 (before any correction): an
	// issue line with it is a repeat of that issue.
	issuedAs Content
	// commands holds, per command ID, the event it recorded: a command
	// with a known ID is a repeat only if it asks for that same change.
	commands map[string]eventlog.Event
}

// New returns an empty statement, ready to replay its stream.
func New() *Statement { return &Statement{commands: map[string]eventlog.Event{}} }

func (s *Statement) ID() string       { return s.id }
func (s *Statement) Issued() bool     { return s.id != "" }
func (s *Statement) Revision() int    { return s.revision }
func (s *Statement) Content() Content { return s.content }

// Issue records the statement. Issuing the same content again (a retried or
// re-submitted request) changes nothing: the content it has, or the one it
// was issued with (a batch re-sent after a correction: its issue line was a
// duplicate when first sent, under a request ID that recorded nothing, and
// stays one; the correction stands). Other content is refused, and so is a
// command ID that recorded something else (ErrCommandReused).
func (s *Statement) Issue(id string, cmd uuid.UUID, c Content, now time.Time) error {
	if err := ValidateID(id); err != nil {
		return err
	}
	if prev, ok := s.commands[cmd.String()]; ok {
		is, ok := prev.(Issued)
		if !ok || is.StatementID != id {
			return ErrCommandReused
		}
		return sameOrReused(c, is.Content, now)
	}
	k, err := c.Check(now)
	if err != nil {
		return err
	}
	return s.IssueChecked(id, cmd, k)
}

// IssueChecked is Issue with content Check has already accepted.
func (s *Statement) IssueChecked(id string, cmd uuid.UUID, k Checked) error {
	if err := ValidateID(id); err != nil {
		return err
	}
	if prev, ok := s.commands[cmd.String()]; ok {
		if is, ok := prev.(Issued); ok && is.StatementID == id && is.Content.Equal(k.c) {
			return nil
		}
		return ErrCommandReused
	}
	if k.c.Type == "" {
		return fieldErr("type", "is required") // a zero Checked, not one Check made
	}
	c := k.c
	if s.Issued() {
		if s.content.Equal(c) || s.issuedAs.Equal(c) {
			return nil
		}
		return ErrAlreadyIssued
	}
	return s.record(Issued{StatementID: id, CommandID: cmd.String(), Content: c})
}

// Correct supersedes the statement's content with c. The type and the payee
// stay: a statement issued to the wrong person or as the wrong type is
// corrected by zeroing it and issuing a new one. A correction to the
// content the statement already has records CorrectionUnchanged, so that
// it stays a repeat once later corrections have changed the content.
func (s *Statement) Correct(cmd uuid.UUID, c Content, reason string, now time.Time) error {
	if !s.Issued() {
		return ErrNotIssued
	}
	if prev, ok := s.commands[cmd.String()]; ok {
		var asked Content
		var askedReason string
		switch co := prev.(type) {
		case Corrected:
			asked, askedReason = co.Content, co.Reason
		case CorrectionUnchanged:
			asked, askedReason = co.Content, co.Reason
		default:
			return ErrCommandReused
		}
		if r, err := text("reason", reason, MaxReason, true); err != nil || r != askedReason {
			return ErrCommandReused
		}
		return sameOrReused(c, asked, now)
	}
	c, err := c.Normalize(now)
	if err != nil {
		return err
	}
	if c.Type != s.content.Type {
		return fieldErr("type", "cannot change on a correction (was %s)", s.content.Type)
	}
	if c.Payee.IC != s.content.Payee.IC {
		return fieldErr("payee.ic", "cannot change on a correction")
	}
	if reason, err = text("reason", reason, MaxReason, true); err != nil {
		return err
	}
	if s.content.Equal(c) {
		return s.record(CorrectionUnchanged{StatementID: s.id, CommandID: cmd.String(), Reason: reason, Content: c})
	}
	return s.record(Corrected{StatementID: s.id, CommandID: cmd.String(), Revision: s.revision + 1, Reason: reason, Content: c})
}

func (s *Statement) record(e eventlog.Event) error {
	if err := s.Apply(e); err != nil {
		return err
	}
	s.Changes.Add(e)
	return nil
}

// Apply rebuilds state from one event.
func (s *Statement) Apply(e eventlog.Event) error {
	if s.commands == nil {
		s.commands = map[string]eventlog.Event{}
	}
	switch e := e.(type) {
	case Issued:
		if s.Issued() {
			return fmt.Errorf("statement: %s issued twice", e.StatementID)
		}
		s.id, s.revision, s.content, s.issuedAs = e.StatementID, 1, e.Content, e.Content
		s.commands[e.CommandID] = e
	case Corrected:
		if !s.Issued() {
			return ErrNotIssued
		}
		if e.Revision != s.revision+1 {
			return fmt.Errorf("statement: %s correction has revision %d after revision %d", s.id, e.Revision, s.revision)
		}
		s.revision, s.content = e.Revision, e.Content
		s.commands[e.CommandID] = e
	case CorrectionUnchanged:
		if !s.Issued() {
			return ErrNotIssued
		}
		s.commands[e.CommandID] = e
	default:
		return fmt.Errorf("statement: unknown event %T", e)
	}
	return nil
}

// sameOrReused compares a repeated command's content with what its command
// ID recorded (the revision, a position, is left out): the same is a no-op,
// anything else ErrCommandReused. Content that no longer passes Normalize
// cannot be what was recorded.
func sameOrReused(c, recorded Content, now time.Time) error {
	if c.Equal(recorded) {
		return nil
	}
	if n, err := c.Normalize(now); err == nil && n.Equal(recorded) {
		return nil
	}
	return ErrCommandReused
}
