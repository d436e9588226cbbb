package payments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/melaka-gov/ispeks/domain/mykad"
	"github.com/melaka-gov/ispeks/domain/payment"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/verifycode"
)

// ErrNotFound: no such payment for this person. A payment of someone else
// is not found either, so IDs of other people's payments cannot be probed.
var ErrNotFound = errors.New("payments: not found")

// Queries read the payment views.
type Queries struct {
	Reader projections.Reader
	// Lists, when set, is what a person's lists are read through instead
	// of Reader: a cache of them (projections/viewcache). A single payment
	// and a verification are always read from Reader.
	Lists projections.Reader
}

// lists is the reader of a person's lists.
func (q Queries) lists() projections.Reader {
	if q.Lists != nil {
		return q.Lists
	}
	return q.Reader
}

// Page is one page of a person's payments.
type Page struct {
	Payments []Payment `json:"payments"`
	Next     string    `json:"next,omitempty"` // cursor of the next page; "" on the last
}

// MaxPageSize bounds a page.
const MaxPageSize = 100

// ListByPayee returns the payments of the person with IC ic, newest first,
// limit at a time (default 20). module "" lists every module. after is the
// Next of the previous page.
//
// A list payment carries what the status lists show: ID, module, type,
// voucher number and date, reference, description, amount, current status
// and its date and the payee's IC (and the labels). The received date, the
// status details (EFT and cheque numbers, payment date, reason), the
// history, the timestamps and the verification code are left empty: Get
// has them.
func (q Queries) ListByPayee(ctx context.Context, ic string, module payment.Module, limit int, after string) (Page, error) {
	if module != "" && !module.Valid() {
		return Page{}, fmt.Errorf("payments: unknown module %q", module)
	}
	if limit <= 0 {
		limit = 20
	}
	limit = min(limit, MaxPageSize)
	where := map[string]any{"payee_ic": ic}
	if module != "" {
		where["module"] = string(module)
	}
	pg, err := q.lists().Find(ctx, projections.Query{Collection: Rows, Where: where, SortBy: "sort", Desc: true, Limit: limit, After: after, BodyOnly: true})
	if err != nil {
		return Page{}, err
	}
	out := Page{Payments: make([]Payment, len(pg.Docs)), Next: pg.Next}
	for i, d := range pg.Docs {
		if err := decodeRow(&out.Payments[i], d.ID, d.Body, ic); err != nil {
			return Page{}, fmt.Errorf("payments: payment %s: %w", d.ID, err)
		}
	}
	return out, nil
}

// Get returns payment id if it belongs to the person with IC ic; otherwise
// ErrNotFound. Its History is the payment's full status history.
func (q Queries) Get(ctx context.Context, ic, id string) (Payment, error) {
	v, ok, err := q.get(ctx, id)
	if err != nil {
		return Payment{}, err
	}
	if !ok || v.PayeeIC != ic {
		return Payment{}, ErrNotFound
	}
	return v, nil
}

func (q Queries) get(ctx context.Context, id string) (Payment, bool, error) {
	if payment.ValidateID(id) != nil {
		return Payment{}, false, nil
	}
	d, ok, err := q.Reader.Get(ctx, Payments, id)
	if err != nil || !ok {
		return Payment{}, false, err
	}
	var v Payment
	if err := json.Unmarshal(d.Body, &v); err != nil {
		return Payment{}, false, fmt.Errorf("payments: payment %s: %w", id, err)
	}
	return v, true, nil
}

// History returns the status history of payment id, oldest first, if it
// belongs to the person with IC ic.
func (q Queries) History(ctx context.Context, ic, id string) ([]StatusEntry, error) {
	v, err := q.Get(ctx, ic, id)
	return v.History, err
}

// Verification is what the public check of a printed payment report shows:
// enough to confirm it is genuine, nothing more. The payment's record has
// no name, so the payee is the IC's last four digits only (never the birth
// date and place the first eight are); a statement's check shows its masked
// name and no IC digits.
type Verification struct {
	Document    string `json:"document"` // "Status Bayaran"
	Type        string `json:"type"`     // e.g. "Tuntutan Perjalanan"
	VoucherNo   string `json:"voucher_no"`
	AmountSen   int64  `json:"amount_sen"`
	Status      string `json:"status"` // current status label
	StatusDate  string `json:"status_date"`
	PayeeMasked string `json:"payee_ic_masked"`
	// Amended is how many times the finance system amended the details
	// after the payment was recorded: the figures above are the latest,
	// so a printout made before shows others.
	Amended int `json:"amended,omitempty"`
}

// Verify looks up a verification code (in any case, with or without
// dashes). ok is false when the code is unknown.
func (q Queries) Verify(ctx context.Context, code string) (Verification, bool, error) {
	code = verifycode.Normalize(code)
	if code == "" {
		return Verification{}, false, nil
	}
	d, ok, err := q.Reader.Get(ctx, Codes, code)
	if err != nil || !ok {
		return Verification{}, false, err
	}
	var c codeDoc
	if err := json.Unmarshal(d.Body, &c); err != nil {
		return Verification{}, false, err
	}
	v, ok, err := q.get(ctx, c.PaymentID)
	if err != nil || !ok {
		return Verification{}, false, err
	}
	return Verification{
		Document: "Status Bayaran", Type: v.TypeLabel, VoucherNo: v.VoucherNo, AmountSen: v.AmountSen,
		Status: v.StatusLabel, StatusDate: v.StatusDate, PayeeMasked: mykad.MaskPublic(v.PayeeIC),
		Amended: v.Amended,
	}, true, nil
}
