// Package payments is the read side of payments: one document per payment
// with its current status and its whole status history, listed per payee
// and module newest first, and a verification-code index for printed
// reports.
//
// A payment document is fed by one stream, so its version is the stream
// version of the last event applied: a replayed event is ignored.
package payments

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/payment"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/internal/listrow"
)

// Collections.
const (
	Payments = "payments"      // ID = payment ID: the whole view
	Rows     = "payment_rows"  // ID = payment ID: the list row only (rowLayout)
	Codes    = "payment_codes" // ID = verification code (16 characters, no dashes)
)

// StatusEntry is one line of a payment's status history.
type StatusEntry struct {
	Status      payment.Status `json:"status"`
	Label       string         `json:"label"`
	Date        string         `json:"date"` // when it happened (YYYY-MM-DD), as the finance system says
	At          time.Time      `json:"at"`   // when the portal recorded it
	EFTNo       string         `json:"eft_no,omitempty"`
	ChequeNo    string         `json:"cheque_no,omitempty"`
	PaymentDate string         `json:"payment_date,omitempty"`
	Reason      string         `json:"reason,omitempty"`
}

// Payment is the payment view: the list row, the "Maklumat terperinci"
// page and the printed report.
type Payment struct {
	ID           string         `json:"id"`
	Module       payment.Module `json:"module"`
	ModuleLabel  string         `json:"module_label"`
	Type         payment.Type   `json:"type"`
	TypeLabel    string         `json:"type_label"`
	VoucherNo    string         `json:"voucher_no"`
	VoucherDate  string         `json:"voucher_date"`
	Reference    string         `json:"reference,omitempty"`
	Description  string         `json:"description"`
	AmountSen    int64          `json:"amount_sen"`
	PayeeIC      string         `json:"payee_ic"`
	ReceivedDate string         `json:"received_date"`

	Status      payment.Status `json:"status"`
	StatusLabel string         `json:"status_label"`
	StatusDate  string         `json:"status_date"`
	EFTNo       string         `json:"eft_no,omitempty"`
	ChequeNo    string         `json:"cheque_no,omitempty"`
	PaymentDate string         `json:"payment_date,omitempty"`
	Reason      string         `json:"reason,omitempty"`

	History    []StatusEntry `json:"history"`
	Amended    int           `json:"amended,omitempty"` // how many times the details were amended
	Code       string        `json:"code"`              // verification code printed on reports
	RecordedAt time.Time     `json:"recorded_at"`
	UpdatedAt  time.Time     `json:"updated_at"`
}

// Projector builds payments and payment_codes. Key is the secret of the
// verification codes (from configuration; at least 16 bytes).
type Projector struct {
	Key []byte
}

var (
	_ projections.Projector = Projector{}
	_ projections.Layouter  = Projector{}
)

// Layout is the version of the list rows' layout: a store written with
// another one is rebuilt when the portal starts, rather than answering
// listrow.ErrLayout until someone rebuilds it by hand.
func (Projector) Layout() int { return rowLayout }

// Name is the projector's checkpoint name.
func (Projector) Name() string { return "payments" }

// Handles lists the event types projected.
func (Projector) Handles() []string {
	return []string{payment.Recorded{}.EventType(), payment.Amended{}.EventType(), payment.StatusChanged{}.EventType()}
}

// Collections declares the collections and their indexes. The lists read
// the slim rows (a person's payments of one module newest first, and of
// every module newest first); the whole view is read one at a time by ID.
func (Projector) Collections() []projections.CollectionSpec {
	return []projections.CollectionSpec{
		{Name: Payments},
		{Name: Rows, Indexes: []string{"payee_ic+module+sort", "payee_ic+sort"}},
		{Name: Codes},
	}
}

// codeDoc is what a verification code points at.
type codeDoc struct {
	PaymentID string `json:"payment_id"`
}

// Project applies one event.
func (p Projector) Project(ctx context.Context, b projections.Batch, env eventlog.Envelope) error {
	if len(p.Key) < 16 {
		return errors.New("payments: projector key is missing or shorter than 16 bytes")
	}
	var id string
	switch ev := env.Event.(type) {
	case payment.Recorded:
		id = ev.PaymentID
	case payment.Amended:
		id = ev.PaymentID
	case payment.StatusChanged:
		id = ev.PaymentID
	default:
		return fmt.Errorf("payments: unexpected event %s", env.Type)
	}
	var v Payment
	if _, first := env.Event.(payment.Recorded); !first {
		// The first event of its stream needs no read: if the document is
		// there already, the store ignores the put (its version is not newer).
		doc, exists, err := b.Get(ctx, Payments, id)
		if err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("payments: %s: %s before the payment was recorded", id, env.Type)
		}
		if doc.Version >= env.Version {
			return nil // seen already
		}
		if err := json.Unmarshal(doc.Body, &v); err != nil {
			return fmt.Errorf("payments: payment %s: %w", id, err)
		}
	}
	switch ev := env.Event.(type) {
	case payment.Recorded:
		v = Payment{ID: id, RecordedAt: env.OccurredAt, Code: Code(p.Key, id)}
		v.setDetails(ev.Details)
		v.setStatus(StatusEntry{Status: payment.Diterima, Date: ev.ReceivedDate, At: env.OccurredAt})
		// The code document first, the payment last: on a store without
		// transactions a crash in between replays the event harmlessly.
		body, _ := json.Marshal(codeDoc{PaymentID: id})
		if err := b.Put(ctx, Codes, projections.Doc{ID: v.Code, Version: 1, Body: body}); err != nil {
			return err
		}
	case payment.Amended:
		v.setDetails(ev.Details)
		v.Amended++
		// Diterima is dated with the received date (Recorded): a corrected
		// received date re-dates it, and the current status date while
		// the payment is still there.
		if len(v.History) > 0 && v.History[0].Status == payment.Diterima {
			v.History[0].Date = ev.ReceivedDate
			if len(v.History) == 1 {
				v.StatusDate = ev.ReceivedDate
			}
		}
	case payment.StatusChanged:
		v.setStatus(StatusEntry{Status: ev.To, Date: ev.Date, At: env.OccurredAt, EFTNo: ev.EFTNo, ChequeNo: ev.ChequeNo, PaymentDate: ev.PaymentDate, Reason: ev.Reason})
	}
	v.UpdatedAt = env.OccurredAt
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	// The row before the view, with the same version: a replay after a
	// crash in between finds the view old and writes both again.
	if err := b.Put(ctx, Rows, projections.Doc{ID: id, Version: env.Version, Fields: map[string]any{
		"payee_ic": v.PayeeIC, "module": string(v.Module), "sort": sortKey(v),
	}, Body: encodeRow(v)}); err != nil {
		return err
	}
	return b.Put(ctx, Payments, projections.Doc{ID: id, Version: env.Version, Body: body})
}

// rowLayout is the version of the list row's layout: a change of fields
// bumps it, and a store holding older rows answers listrow.ErrLayout until
// the projection is rebuilt. 2 left out what the row's document already
// says (the ID) and what no list shows (the received date, the code).
const rowLayout = 2

// encodeRow is the list row: what the status lists show of a payment
// beyond its ID, in a fixed order (decodeRow). Labels are not stored: they
// follow from the codes. The row is also the body of both per-payee list
// indexes' entries, so every byte is written three times per change.
func encodeRow(v Payment) []byte {
	return listrow.NewWriter(rowLayout, 128+len(v.Description)).
		Str(string(v.Module)).Str(string(v.Type)).Str(v.VoucherNo).Str(v.VoucherDate).
		Str(v.Reference).Str(v.Description).Int(v.AmountSen).Str(string(v.Status)).Str(v.StatusDate).Bytes()
}

// decodeRow reads the list row of payment id into the fields of a Payment
// it holds, in place: v (zero) is the element of the page's slice.
func decodeRow(v *Payment, id string, body []byte, payeeIC string) error {
	r := listrow.NewReader(body, rowLayout)
	v.ID, v.Module, v.Type, v.VoucherNo = id, payment.Module(r.Str()), payment.Type(r.Str()), r.Str()
	v.VoucherDate, v.Reference, v.Description, v.AmountSen = r.Str(), r.Str(), r.Str(), r.Int()
	v.Status, v.StatusDate, v.PayeeIC = payment.Status(r.Str()), r.Str(), payeeIC
	if err := r.Err(); err != nil {
		return err
	}
	v.ModuleLabel, v.TypeLabel, v.StatusLabel = v.Module.Label(), v.Type.Label(), v.Status.Label()
	return nil
}

func (v *Payment) setDetails(d payment.Details) {
	v.Module, v.ModuleLabel, v.Type, v.TypeLabel = d.Module, d.Module.Label(), d.Type, d.Type.Label()
	v.VoucherNo, v.VoucherDate, v.Reference, v.Description = d.VoucherNo, d.VoucherDate, d.Reference, d.Description
	v.AmountSen, v.PayeeIC, v.ReceivedDate = d.AmountSen, d.PayeeIC, d.ReceivedDate
}

func (v *Payment) setStatus(e StatusEntry) {
	e.Label = e.Status.Label()
	v.Status, v.StatusLabel, v.StatusDate = e.Status, e.Label, e.Date
	v.EFTNo, v.ChequeNo, v.PaymentDate, v.Reason = e.EFTNo, e.ChequeNo, e.PaymentDate, e.Reason
	v.History = append(v.History, e)
}

// sortKey orders a person's payments newest first: by voucher date, then by
// when the portal recorded them.
func sortKey(v Payment) string {
	return v.VoucherDate + "|" + v.RecordedAt.UTC().Format("20060102T150405.000000000")
}

// Code is the verification code of a payment: an HMAC of its identity under
// key, 80 bits in base32, so a code cannot be guessed or derived from the
// payment ID.
func Code(key []byte, paymentID string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("ispeks/payment\x00" + paymentID))
	return base32.StdEncoding.EncodeToString(m.Sum(nil)[:10])
}
