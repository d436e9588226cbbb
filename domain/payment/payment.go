// Package payment is the payment aggregate: an advance (Pendahuluan) or a
// claim (Tuntutan) paid to a member of staff, and the status moves the
// finance system drives it through, from Diterima to paid or cancelled.
// Stream: payment-<paymentID>.
package payment

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/mykad"
	"github.com/melaka-gov/ispeks/domain/textfield"
)

// Limits of a payment's fields.
const (
	MaxAmountSen            int64 = 1_000_000_000_000 // RM 10 billion: far above any real payment, far below int64 overflow
	MaxVoucherNo                  = 32
	MaxReference                  = 64
	MaxDescription                = 500
	MaxReason                     = 500
	MaxInstrumentNo               = 32 // EFT, cheque or bank draft number
	maxIDLength                   = 64
	earliestYear                  = 1990
	amendableMaxStatusIndex       = 2 // Diterima, Dalam Proses, Diluluskan
)

// Module is the kind of payment: an advance or a claim.
type Module string

const (
	Pendahuluan Module = "pendahuluan"
	Tuntutan    Module = "tuntutan"
)

// Modules lists the modules in the order the portal offers them.
func Modules() []Module { return []Module{Pendahuluan, Tuntutan} }

// Label is the portal's name of the module.
func (m Module) Label() string {
	switch m {
	case Pendahuluan:
		return "Pendahuluan"
	case Tuntutan:
		return "Tuntutan"
	}
	return string(m)
}

// Valid reports whether m is a known module.
func (m Module) Valid() bool { return m == Pendahuluan || m == Tuntutan }

// Type is the sub-type of a payment within its module.
type Type string

const (
	PendahuluanDiri       Type = "pendahuluan-diri"
	PendahuluanPerjalanan Type = "pendahuluan-perjalanan"
	PendahuluanPelbagai   Type = "pendahuluan-pelbagai"
	TuntutanPerjalanan    Type = "tuntutan-perjalanan"
	TuntutanLebihMasa     Type = "tuntutan-lebih-masa"
	TuntutanPelbagai      Type = "tuntutan-pelbagai"
)

var types = []struct {
	t      Type
	module Module
	label  string
}{
	{PendahuluanDiri, Pendahuluan, "Pendahuluan Diri"},
	{PendahuluanPerjalanan, Pendahuluan, "Pendahuluan Perjalanan"},
	{PendahuluanPelbagai, Pendahuluan, "Pendahuluan Pelbagai"},
	{TuntutanPerjalanan, Tuntutan, "Tuntutan Perjalanan"},
	{TuntutanLebihMasa, Tuntutan, "Tuntutan Lebih Masa"},
	{TuntutanPelbagai, Tuntutan, "Tuntutan Pelbagai"},
}

// Types lists the payment types of a module.
func Types(m Module) []Type {
	var out []Type
	for _, t := range types {
		if t.module == m {
			out = append(out, t.t)
		}
	}
	return out
}

// Module is the module a type belongs to ("" if the type is unknown).
func (t Type) Module() Module {
	for _, x := range types {
		if x.t == t {
			return x.module
		}
	}
	return ""
}

// Label is the portal's name of the type.
func (t Type) Label() string {
	for _, x := range types {
		if x.t == t {
			return x.label
		}
	}
	return string(t)
}

// Status is where a payment is in its processing.
type Status string

const (
	Diterima          Status = "diterima"
	DalamProses       Status = "dalam-proses"
	Diluluskan        Status = "diluluskan"
	DihantarKeBank    Status = "dihantar-ke-bank"
	DiterimaOlehBank  Status = "diterima-oleh-bank"
	GagalDiprosesBank Status = "gagal-diproses-bank"
	Dikeluarkan       Status = "dikeluarkan"
	Dibatalkan        Status = "dibatalkan"
)

var statuses = []struct {
	s     Status
	label string
	next  []Status
}{
	{Diterima, "Diterima", []Status{DalamProses, Dibatalkan}},
	{DalamProses, "Dalam Proses", []Status{Diluluskan, Dibatalkan}},
	{Diluluskan, "Diluluskan", []Status{DihantarKeBank, Dikeluarkan, Dibatalkan}},
	{DihantarKeBank, "Dihantar ke Bank", []Status{DiterimaOlehBank, GagalDiprosesBank, Dikeluarkan, Dibatalkan}},
	// A payment the bank refused can be sent again (after the account is
	// corrected), paid by cheque instead, or cancelled.
	{GagalDiprosesBank, "Gagal Diproses Bank", []Status{DihantarKeBank, Dikeluarkan, Dibatalkan}},
	{DiterimaOlehBank, "Diterima oleh Bank", nil},
	{Dikeluarkan, "Dikeluarkan", nil},
	{Dibatalkan, "Dibatalkan", nil},
}

// Statuses lists every status in processing order.
func Statuses() []Status {
	out := make([]Status, len(statuses))
	for i, s := range statuses {
		out[i] = s.s
	}
	return out
}

// Label is the portal's name of the status.
func (s Status) Label() string {
	for _, x := range statuses {
		if x.s == s {
			return x.label
		}
	}
	return string(s)
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return slices.Contains(Statuses(), s) }

// Next lists the statuses a payment in status s may legally move to.
func (s Status) Next() []Status {
	for _, x := range statuses {
		if x.s == s {
			return slices.Clone(x.next)
		}
	}
	return nil
}

// Paid reports whether the money has left: by EFT or by cheque/bank draft.
func (s Status) Paid() bool { return s == DiterimaOlehBank || s == Dikeluarkan }

// Final reports whether no move is possible from s.
func (s Status) Final() bool { return len(s.Next()) == 0 }

// Errors of the payment aggregate.
var (
	ErrIllegalMove     = errors.New("payment: illegal status move")
	ErrNotRecorded     = errors.New("payment: no such payment")
	ErrAlreadyRecorded = errors.New("payment: already recorded with different details (amend it instead)")
	ErrNotAmendable    = errors.New("payment: cannot be amended once sent to the bank, paid or cancelled")
	ErrInvalid         = errors.New("payment: invalid input")
	// ErrCommandReused: the command ID (a client's request ID) already
	// recorded a different change (eventlog.ErrCommandReused).
	ErrCommandReused = eventlog.CommandReused("payment")
)

// IllegalMoveError refuses a status move, naming the current status and the
// moves that are allowed from it.
type IllegalMoveError struct {
	PaymentID string
	From      Status
	To        Status
	Allowed   []Status
}

func (e *IllegalMoveError) Error() string {
	allowed := "none (the status is final)"
	if len(e.Allowed) > 0 {
		labels := make([]string, len(e.Allowed))
		for i, s := range e.Allowed {
			labels[i] = s.Label()
		}
		allowed = strings.Join(labels, ", ")
	}
	return fmt.Sprintf("payment: illegal status move from %s to %s; allowed moves from %s: %s",
		e.From.Label(), e.To.Label(), e.From.Label(), allowed)
}

// Is makes errors.Is(err, ErrIllegalMove) true.
func (e *IllegalMoveError) Is(target error) bool { return target == ErrIllegalMove }

// FieldError names the input field that is wrong and why. Field names are
// the JSON names of the payment's fields.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return "payment: " + e.Field + ": " + e.Reason }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// ValidateID checks a payment ID (the finance system's own identifier).
func ValidateID(id string) error {
	if id == "" {
		return fieldErr("payment_id", "is required")
	}
	if len(id) > maxIDLength || !eventlog.IsEntityID(id) {
		return fieldErr("payment_id", "must be 1 to %d letters, digits or ._:@+=- and start with a letter or digit", maxIDLength)
	}
	return nil
}

// Stream is the event stream of payment id.
func Stream(id string) string { return "payment-" + id }

// Details are what the finance system says about a payment.
type Details struct {
	Module       Module `json:"module"`
	Type         Type   `json:"type"`
	VoucherNo    string `json:"voucher_no"`
	VoucherDate  string `json:"voucher_date"`
	Reference    string `json:"reference,omitempty"`
	Description  string `json:"description"`
	AmountSen    int64  `json:"amount_sen"`
	PayeeIC      string `json:"payee_ic"`
	ReceivedDate string `json:"received_date"`
}

// Normalize checks d and returns it cleaned: text trimmed, the IC without
// dashes, the received date defaulted to today in Melaka.
func (d Details) Normalize(now time.Time) (Details, error) {
	if !d.Module.Valid() {
		return d, fieldErr("module", "must be one of pendahuluan, tuntutan")
	}
	if d.Type == "" {
		return d, fieldErr("type", "is required")
	}
	if m := d.Type.Module(); m == "" {
		return d, fieldErr("type", "unknown payment type %q; one of %s", textfield.Clip(string(d.Type)), typeList())
	} else if m != d.Module {
		return d, fieldErr("type", "%s belongs to module %s, not %s", d.Type, m, d.Module)
	}
	var err error
	if d.VoucherNo, err = text("voucher_no", d.VoucherNo, MaxVoucherNo, true); err != nil {
		return d, err
	}
	if d.VoucherDate, err = date("voucher_date", d.VoucherDate, now, true); err != nil {
		return d, err
	}
	if d.Reference, err = text("reference", d.Reference, MaxReference, false); err != nil {
		return d, err
	}
	if d.Description, err = text("description", d.Description, MaxDescription, true); err != nil {
		return d, err
	}
	if err := amount("amount_sen", d.AmountSen); err != nil {
		return d, err
	}
	ic, err := mykad.Parse(d.PayeeIC)
	if err != nil {
		return d, &FieldError{Field: "payee_ic", Reason: icReason(err)}
	}
	d.PayeeIC = ic.String()
	if d.ReceivedDate == "" {
		d.ReceivedDate = calendar.Today(now)
	} else if d.ReceivedDate, err = date("received_date", d.ReceivedDate, now, true); err != nil {
		return d, err
	}
	return d, nil
}

func typeList() string {
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = string(t.t)
	}
	return strings.Join(names, ", ")
}

// Change is a requested status move with what the target status needs.
type Change struct {
	To          Status `json:"status"`
	Date        string `json:"date"`                   // when the move happened; default today in Melaka
	EFTNo       string `json:"eft_no,omitempty"`       // Diterima oleh Bank
	ChequeNo    string `json:"cheque_no,omitempty"`    // Dikeluarkan: cheque or bank draft number
	PaymentDate string `json:"payment_date,omitempty"` // Diterima oleh Bank, Dikeluarkan
	Reason      string `json:"reason,omitempty"`       // Gagal Diproses Bank, Dibatalkan
}

// Normalize checks c against what its target status requires and forbids.
func (c Change) Normalize(now time.Time) (Change, error) {
	if c.To == "" {
		return c, fieldErr("status", "is required")
	}
	if !c.To.Valid() {
		names := make([]string, len(statuses))
		for i, s := range statuses {
			names[i] = string(s.s)
		}
		return c, fieldErr("status", "unknown status %q; one of %s", textfield.Clip(string(c.To)), strings.Join(names, ", "))
	}
	var err error
	if c.Date == "" {
		c.Date = calendar.Today(now)
	} else if c.Date, err = date("date", c.Date, now, true); err != nil {
		return c, err
	}
	need := map[string]bool{}
	switch c.To {
	case DiterimaOlehBank:
		need["eft_no"], need["payment_date"] = true, true
	case Dikeluarkan:
		need["cheque_no"], need["payment_date"] = true, true
	case GagalDiprosesBank, Dibatalkan:
		need["reason"] = true
	}
	if c.EFTNo, err = instrument("eft_no", c.EFTNo, c.To, need["eft_no"]); err != nil {
		return c, err
	}
	if c.ChequeNo, err = instrument("cheque_no", c.ChequeNo, c.To, need["cheque_no"]); err != nil {
		return c, err
	}
	if strings.TrimSpace(c.PaymentDate) != "" && !need["payment_date"] {
		return c, fieldErr("payment_date", "is only given when the status is %s or %s", DiterimaOlehBank, Dikeluarkan)
	}
	if need["payment_date"] {
		if c.PaymentDate, err = date("payment_date", c.PaymentDate, now, true); err != nil {
			return c, err
		}
	}
	if strings.TrimSpace(c.Reason) != "" && !need["reason"] {
		return c, fieldErr("reason", "is only given when the status is %s or %s", GagalDiprosesBank, Dibatalkan)
	}
	if need["reason"] {
		if c.Reason, err = text("reason", c.Reason, MaxReason, true); err != nil {
			return c, err
		}
	}
	return c, nil
}

// trimmed is c with the spaces around its fields taken off, as Normalize
// takes them off before it checks a field: what a refused move records
// and what its repeat is compared by, so that padding neither goes into
// the log nor tells two sends of one request apart.
func (c Change) trimmed() Change {
	c.Date, c.PaymentDate = strings.TrimSpace(c.Date), strings.TrimSpace(c.PaymentDate)
	c.EFTNo, c.ChequeNo = strings.TrimSpace(c.EFTNo), strings.TrimSpace(c.ChequeNo)
	c.Reason = strings.TrimSpace(c.Reason)
	return c
}

// storable reports whether the fields of c, trimmed, are within what any
// move accepts (their lengths only: a refusal is recorded before they are
// checked). Measured after trimming, as Normalize measures them: a field
// padded past its length may still be accepted by a legal move.
func (c Change) storable() bool {
	const maxDate = len("2006-01-02") + 16
	return len(c.To) <= 64 && len(c.Date) <= maxDate && len(c.PaymentDate) <= maxDate &&
		utf8.RuneCountInString(c.EFTNo) <= MaxInstrumentNo+16 && utf8.RuneCountInString(c.ChequeNo) <= MaxInstrumentNo+16 &&
		utf8.RuneCountInString(c.Reason) <= MaxReason+16
}

func instrument(field, v string, to Status, required bool) (string, error) {
	v = strings.TrimSpace(v)
	if !required {
		if v != "" {
			return "", fieldErr(field, "is not given when the status is %s", to)
		}
		return "", nil
	}
	return text(field, v, MaxInstrumentNo, true)
}

// Events of the payment aggregate. CommandID is the command that caused the
// event: a repeat of the same command finds it and changes nothing.

// Recorded: the finance system registered a payment; its status is Diterima.
type Recorded struct {
	PaymentID string `json:"payment_id"`
	CommandID string `json:"command_id"`
	Details
}

func (Recorded) EventType() string { return "payment.Recorded.v1" }

// Amended: the finance system corrected a payment's details before it left
// for the bank.
type Amended struct {
	PaymentID string `json:"payment_id"`
	CommandID string `json:"command_id"`
	Reason    string `json:"reason,omitempty"`
	Details
}

func (Amended) EventType() string { return "payment.Amended.v1" }

// AmendmentUnchanged: an amendment asked for the details the payment
// already had, so nothing changed. It is recorded under the amendment's
// command ID so that the same request sent again later (a re-sent batch,
// after other amendments) is answered as a repeat, not applied then and
// made to undo them. The details are the ones it asked for (the payment's
// at the time): without them a repeat could not be told from the request
// ID reused for another change (ErrCommandReused).
type AmendmentUnchanged struct {
	PaymentID string `json:"payment_id"`
	CommandID string `json:"command_id"`
	Reason    string `json:"reason,omitempty"`
	Details
}

func (AmendmentUnchanged) EventType() string { return "payment.AmendmentUnchanged.v1" }

// NoChange marks the event as changing nothing (eventlog.NoChange).
func (AmendmentUnchanged) NoChange() {}

// StatusChanged: the payment moved from one status to another.
type StatusChanged struct {
	PaymentID string `json:"payment_id"`
	CommandID string `json:"command_id"`
	From      Status `json:"from"`
	Change
}

func (StatusChanged) EventType() string { return "payment.StatusChanged.v1" }

// Refusal codes a refusal event carries: the kind of refusal, as the
// client was told it (commands/ingest answers it with the same code).
const (
	RefusedIllegalMove  = "illegal_move"
	RefusedNotAmendable = "not_amendable"
)

// MoveRefused: a status move under a command ID was refused because the
// payment's status did not allow it (IllegalMoveError). It is recorded so
// that the same request sent again later, once the payment has moved on,
// gets the same refusal instead of being decided anew and maybe applied
// then, long after its sender was told no. It carries the move as asked,
// its fields trimmed (to tell a repeat from the ID reused for another
// change), and what the refusal named: the status then and the moves it
// allowed. It changes
// nothing (eventlog.NoChange): views ignore it, and a command with a
// server-made ID appends none.
type MoveRefused struct {
	PaymentID string   `json:"payment_id"`
	CommandID string   `json:"command_id"`
	Code      string   `json:"code"`
	From      Status   `json:"from"`
	Allowed   []Status `json:"allowed"`
	Change
}

func (MoveRefused) EventType() string { return "payment.MoveRefused.v1" }

// NoChange marks the event as changing nothing (eventlog.NoChange).
func (MoveRefused) NoChange() {}

func (r MoveRefused) err() error {
	return &IllegalMoveError{PaymentID: r.PaymentID, From: r.From, To: r.To, Allowed: slices.Clone(r.Allowed)}
}

// AmendmentRefused: an amendment under a command ID was refused because
// the payment had gone past the statuses that may be amended
// (ErrNotAmendable). Recorded, like MoveRefused, so that the same request
// sent again later gets the same refusal. It carries the details asked
// for and the reason (as AmendmentUnchanged, to tell a repeat from the ID
// reused), and the status that refused it.
type AmendmentRefused struct {
	PaymentID string `json:"payment_id"`
	CommandID string `json:"command_id"`
	Code      string `json:"code"`
	Status    Status `json:"current_status"`
	Reason    string `json:"reason,omitempty"`
	Details
}

func (AmendmentRefused) EventType() string { return "payment.AmendmentRefused.v1" }

// NoChange marks the event as changing nothing (eventlog.NoChange).
func (AmendmentRefused) NoChange() {}

func (r AmendmentRefused) err() error { return notAmendable(r.Status) }

func notAmendable(s Status) error {
	return fmt.Errorf("%w (status is %s)", ErrNotAmendable, s.Label())
}

// Register adds the payment events to reg.
func Register(reg *eventlog.Registry) {
	eventlog.Register[Recorded](reg)
	eventlog.Register[Amended](reg)
	eventlog.Register[AmendmentUnchanged](reg)
	eventlog.Register[StatusChanged](reg)
	eventlog.Register[MoveRefused](reg)
	eventlog.Register[AmendmentRefused](reg)
}

// Payment is the aggregate.
type Payment struct {
	eventlog.Changes
	id      string
	details Details
	// recordedAs is the details the payment was recorded with (before any
	// amendment): a record line with them is a repeat of that record.
	recordedAs Details
	status     Status
	// movedOn is the date of the last status move ("" before the first).
	movedOn string
	// firstMove is the earliest status move (zero before the first): the
	// received date may not be amended past it. Moves are in date order,
	// so it is the first; of moves stored before that rule, the earliest.
	firstMove Change
	// commands holds, per command ID, the event it recorded: a command
	// with a known ID is a repeat only if it asks for that same change.
	commands map[string]eventlog.Event
}

// New returns an empty payment, ready to replay its stream.
func New() *Payment { return &Payment{commands: map[string]eventlog.Event{}} }

func (p *Payment) ID() string       { return p.id }
func (p *Payment) Recorded() bool   { return p.id != "" }
func (p *Payment) Status() Status   { return p.status }
func (p *Payment) Details() Details { return p.details }

// Record registers the payment. Recording the same details again (a retried
// or re-submitted request) changes nothing: the details it has, or the ones
// it was recorded with (a batch re-sent after an amendment: its record line
// was a duplicate when first sent, under a request ID that recorded
// nothing, and stays one; the amendment stands). Other details are refused
// (they are an amendment), and so is a command ID that recorded something
// else (ErrCommandReused).
func (p *Payment) Record(id string, cmd uuid.UUID, d Details, now time.Time) error {
	if err := ValidateID(id); err != nil {
		return err
	}
	if prev, ok := p.commands[cmd.String()]; ok {
		return repeatRecord(prev, id, d, now)
	}
	defaulted := d.ReceivedDate == "" // Normalize fills in today's
	d, err := d.Normalize(now)
	if err != nil {
		return err
	}
	if p.Recorded() {
		if sameDetails(p.details, d, defaulted) || sameDetails(p.recordedAs, d, defaulted) {
			return nil
		}
		return ErrAlreadyRecorded
	}
	return p.record(Recorded{PaymentID: id, CommandID: cmd.String(), Details: d})
}

// sameDetails compares the details of a repeated record. A received date
// the request left out (defaulted to that day's) is ignored, so a
// re-submission without one on a later day is still recognised as the
// same; one the request gave counts like any other field (a different one
// is a conflict, never silently dropped).
func sameDetails(have, want Details, defaulted bool) bool {
	if defaulted {
		want.ReceivedDate = have.ReceivedDate
	}
	return have == want
}

// Amend replaces the payment's details while it is still with the
// department (Diterima, Dalam Proses, Diluluskan). The payee and the module
// cannot change: that is a different payment. A received date left out
// keeps the current one.
func (p *Payment) Amend(cmd uuid.UUID, d Details, reason string, now time.Time) error {
	return p.AmendWith(cmd, func(base Details) Details {
		out := d
		if out.ReceivedDate == "" {
			out.ReceivedDate = base.ReceivedDate
		}
		return out
	}, reason, now)
}

// AmendWith is Amend with the new details made from the current ones by
// change (a merge patch): made here, on the state the command decides on,
// so a retry after a concurrent write merges onto that write, never onto a
// stale copy. A repeat of the command applies change to the details it
// recorded: the same change leaves them as they are. An amendment that
// changes nothing records AmendmentUnchanged, so that it stays a repeat
// once later amendments have changed the details.
func (p *Payment) AmendWith(cmd uuid.UUID, change func(base Details) Details, reason string, now time.Time) error {
	if !p.Recorded() {
		return ErrNotRecorded
	}
	if prev, ok := p.commands[cmd.String()]; ok {
		return repeatAmend(prev, change, reason, now)
	}
	d, err := change(p.details).Normalize(now)
	if err != nil {
		return err
	}
	if d.PayeeIC != p.details.PayeeIC {
		return fieldErr("payee_ic", "cannot change on an amendment; cancel this payment and record a new one")
	}
	if d.Module != p.details.Module {
		return fieldErr("module", "cannot change on an amendment; cancel this payment and record a new one")
	}
	if reason, err = text("reason", reason, MaxReason, false); err != nil {
		return err
	}
	if d == p.details {
		return p.record(AmendmentUnchanged{PaymentID: p.id, CommandID: cmd.String(), Reason: reason, Details: d})
	}
	if slices.Index(Statuses(), p.status) > amendableMaxStatusIndex {
		// Recorded under the command ID (and still refused), so the same
		// request sent again gets this answer, whatever came since.
		if err := p.record(AmendmentRefused{PaymentID: p.id, CommandID: cmd.String(), Code: RefusedNotAmendable, Status: p.status, Reason: reason, Details: d}); err != nil {
			return err
		}
		return notAmendable(p.status)
	}
	// A move may not be dated before the received date (ChangeStatus), so
	// the received date may not be moved past a move made: the history
	// would show the payment in process before it was received. Checked
	// only when the date changes, so a record stored before the rule can
	// still have its other details amended.
	if d.ReceivedDate != p.details.ReceivedDate && p.firstMove.Date != "" && d.ReceivedDate > p.firstMove.Date {
		return fieldErr("received_date", "is after the first status move's date (%s, to %s): a payment cannot be received after it moved", p.firstMove.Date, p.firstMove.To.Label())
	}
	return p.record(Amended{PaymentID: p.id, CommandID: cmd.String(), Reason: reason, Details: d})
}

// ChangeStatus moves the payment to c.To if that move is legal from its
// current status; otherwise it returns an *IllegalMoveError.
func (p *Payment) ChangeStatus(cmd uuid.UUID, c Change, now time.Time) error {
	if !p.Recorded() {
		return ErrNotRecorded
	}
	if prev, ok := p.commands[cmd.String()]; ok {
		return repeatChange(prev, c, now)
	}
	// An illegal move is refused as such before its fields are looked at:
	// a move that cannot happen from here is what the client needs to
	// hear, with where the payment can go, not what the move lacks.
	if c.To.Valid() {
		if allowed := p.status.Next(); !slices.Contains(allowed, c.To) {
			// Recorded under the command ID (and still refused), so the
			// same request sent again, after the payment moved on to a
			// status that would allow it, gets this answer again.
			refused := MoveRefused{PaymentID: p.id, CommandID: cmd.String(), Code: RefusedIllegalMove, From: p.status, Allowed: allowed, Change: c.trimmed()}
			if !refused.Change.storable() {
				// Fields no status accepts: re-sent, this request could
				// never apply, so there is nothing to remember, and an
				// event must not carry a megabyte the client sent.
				return refused.err()
			}
			if err := p.record(refused); err != nil {
				return err
			}
			return refused.err()
		}
	}
	c, err := c.Normalize(now)
	if err != nil {
		return err
	}
	// The date is when the move happened, and the payment is in its new
	// status from now on: a date ahead would show staff a move (a payment
	// "received by the bank") that has not happened. Checked here, not in
	// Normalize, so a repeat of a move stored before is still its repeat.
	today := calendar.Today(now)
	if c.Date > today {
		return fieldErr("date", "is after today (%s): a status move is dated when it happened", today)
	}
	// Money the bank has received was received on a day that has come. A
	// cheque or bank draft (Dikeluarkan) may be post-dated: its date stays
	// free within the year ahead Normalize allows.
	if c.To == DiterimaOlehBank && c.PaymentDate > today {
		return fieldErr("payment_date", "is after today (%s): money received by the bank is dated when it was received", today)
	}
	// Moves follow one another and the payment's receipt: one dated
	// before either would put the history out of order (a payment in
	// process before it was received). The same day is fine. A date still
	// ahead (a move or an amended received date stored before these rules,
	// or a received date recorded ahead) is met by today: no move may be
	// dated after today, so none could be made, not even a cancellation,
	// until that day came.
	if c.Date < min(p.details.ReceivedDate, today) {
		return fieldErr("date", "is before the payment's received date (%s): a status move cannot be dated before the payment was received", p.details.ReceivedDate)
	}
	if c.Date < min(p.movedOn, today) {
		return fieldErr("date", "is before the previous move's date (%s, to %s): a status move cannot be dated before the move it follows", p.movedOn, p.status.Label())
	}
	return p.record(StatusChanged{PaymentID: p.id, CommandID: cmd.String(), From: p.status, Change: c})
}

func (p *Payment) record(e eventlog.Event) error {
	if err := p.Apply(e); err != nil {
		return err
	}
	p.Changes.Add(e)
	return nil
}

// Apply rebuilds state from one event.
func (p *Payment) Apply(e eventlog.Event) error {
	if p.commands == nil {
		p.commands = map[string]eventlog.Event{}
	}
	switch e := e.(type) {
	case Recorded:
		if p.Recorded() {
			return fmt.Errorf("payment: %s recorded twice", e.PaymentID)
		}
		p.id, p.details, p.recordedAs, p.status = e.PaymentID, e.Details, e.Details, Diterima
		p.commands[e.CommandID] = e
	case Amended:
		if !p.Recorded() {
			return ErrNotRecorded
		}
		p.details = e.Details
		p.commands[e.CommandID] = e
	case AmendmentUnchanged:
		if !p.Recorded() {
			return ErrNotRecorded
		}
		p.commands[e.CommandID] = e
	case MoveRefused, AmendmentRefused:
		if !p.Recorded() {
			return ErrNotRecorded
		}
		p.commands[commandOf(e)] = e
	case StatusChanged:
		if !p.Recorded() {
			return ErrNotRecorded
		}
		p.status, p.movedOn = e.To, e.Date
		if p.firstMove.Date == "" || e.Date < p.firstMove.Date {
			p.firstMove = e.Change
		}
		p.commands[e.CommandID] = e
	default:
		return fmt.Errorf("payment: unknown event %T", e)
	}
	return nil
}

// commandOf is the command ID a refusal event was recorded under.
func commandOf(e eventlog.Event) string {
	switch e := e.(type) {
	case MoveRefused:
		return e.CommandID
	case AmendmentRefused:
		return e.CommandID
	}
	return ""
}

// A repeat is compared with the event its command ID recorded, field by
// field, leaving out what the state filled in (the status moved from) and
// filling in what the request left to a default (the received date, the
// move's date) from that event, so a retry on a later day is still the same.
// A repeat that fails Normalize cannot be the change that was recorded.

func repeatRecord(prev eventlog.Event, id string, d Details, now time.Time) error {
	r, ok := prev.(Recorded)
	if !ok || r.PaymentID != id {
		return ErrCommandReused
	}
	if d.ReceivedDate == "" {
		d.ReceivedDate = r.ReceivedDate
	}
	return sameOrReused(d, r.Details, now)
}

func repeatAmend(prev eventlog.Event, change func(Details) Details, reason string, now time.Time) error {
	var asked Details
	var askedReason string
	switch a := prev.(type) {
	case Amended:
		asked, askedReason = a.Details, a.Reason
	case AmendmentUnchanged:
		asked, askedReason = a.Details, a.Reason
	case AmendmentRefused:
		if r, err := text("reason", reason, MaxReason, false); err != nil || r != a.Reason {
			return ErrCommandReused
		}
		if err := sameOrReused(change(a.Details), a.Details, now); err != nil {
			return err
		}
		// The same request: the same refusal, not a new decision.
		return a.err()
	default:
		return ErrCommandReused
	}
	if r, err := text("reason", reason, MaxReason, false); err != nil || r != askedReason {
		return ErrCommandReused
	}
	return sameOrReused(change(asked), asked, now)
}

func sameOrReused(d, recorded Details, now time.Time) error {
	if d == recorded {
		return nil
	}
	if n, err := d.Normalize(now); err == nil && n == recorded {
		return nil
	}
	return ErrCommandReused
}

func repeatChange(prev eventlog.Event, c Change, now time.Time) error {
	if r, ok := prev.(MoveRefused); ok {
		// The move as asked (it was refused before its fields were
		// looked at, so they may not normalize), trimmed as recorded:
		// the same request gets the same refusal, not a new decision.
		if c.trimmed() == r.Change.trimmed() {
			return r.err()
		}
		if n, err := c.Normalize(now); err == nil {
			if m, err := r.Change.Normalize(now); err == nil && n == m {
				return r.err()
			}
		}
		return ErrCommandReused
	}
	s, ok := prev.(StatusChanged)
	if !ok {
		return ErrCommandReused
	}
	if c.Date == "" {
		c.Date = s.Date
	}
	if c == s.Change {
		return nil
	}
	if n, err := c.Normalize(now); err == nil && n == s.Change {
		return nil
	}
	return ErrCommandReused
}
