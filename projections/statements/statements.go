// Package statements is the read side of statements ("Urusniaga"): one
// document per statement holding its latest revision, listed per payee by
// type and year within display windows, and found by its verification code
// so a printed slip can be checked by a bank (the codes of revisions a
// correction replaced are kept beside it).
//
// A statement document is fed by one stream, so its version is the stream
// version of the last event applied: a replayed event is ignored.
package statements

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"sync"
	"time"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/statement"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/internal/listrow"
)

// Collections.
const (
	Statements = "statements"      // ID = statement ID: the whole view, indexed by its current code
	Rows       = "statement_rows"  // ID = statement ID: the list row only (rowLayout)
	Codes      = "statement_codes" // ID = verification code of a revision a correction replaced
)

// Correction is one superseded revision's note.
type Correction struct {
	Revision int       `json:"revision"` // the revision the correction made
	At       time.Time `json:"at"`
	Reason   string    `json:"reason"`
}

// Statement is the statement view: the "Senarai Dokumen" row, the HTML slip
// and the PDF. It is the latest revision; earlier ones stay in the log.
type Statement struct {
	ID       string `json:"id"`
	Revision int    `json:"revision"`
	statement.Content
	TypeLabel   string       `json:"type_label"`
	PeriodLabel string       `json:"period_label"`
	IssuedAt    time.Time    `json:"issued_at"`
	CorrectedAt *time.Time   `json:"corrected_at,omitempty"`
	Corrections []Correction `json:"corrections,omitempty"`
	Code        string       `json:"code"` // verification code of this revision
}

// Projector builds statements and statement_codes. Key is the secret of
// the verification codes (from configuration; at least 16 bytes).
type Projector struct {
	Key []byte
}

var (
	_ projections.Projector = Projector{}
	_ projections.Layouter  = Projector{}
)

// Layout is the version of the projector's documents: a store written
// with another one is rebuilt when the portal starts, rather than answering
// listrow.ErrLayout or missing codes until someone rebuilds it by hand.
func (Projector) Layout() int { return layout }

// layout is the version of the projector's documents as a whole: 2 with
// the list rows of rowLayout 2; 3 since the current revision's code is an
// index of the statement itself rather than a document of its own (a
// payroll run wrote one document fewer per slip, and its projections
// finished seconds sooner); 4 with the slimmer rows of rowLayout 3.
const layout = 4

// Name is the projector's checkpoint name.
func (Projector) Name() string { return "statements" }

// Handles lists the event types projected.
func (Projector) Handles() []string {
	return []string{statement.Issued{}.EventType(), statement.Corrected{}.EventType()}
}

// Collections declares the collections and their indexes. The lists read
// the slim rows: a person's statements of one type, latest period first,
// of every year or of one (year filtered within the same index, since a
// year is a range of period ends), each an index seek that stops at the
// page's end; only rows with equal period ends are sorted, by ID. One index
// rather than two keeps each projected statement one B-tree write cheaper.
// The whole view is read one at a time by ID, or by its code for the
// public check (a narrow index).
func (Projector) Collections() []projections.CollectionSpec {
	return []projections.CollectionSpec{
		{Name: Statements, Indexes: []string{"code"}},
		{Name: Rows, Indexes: []string{"payee_ic+type+period_end+year"}},
		{Name: Codes},
	}
}

// codeDoc is what the public check shows of one revision: the document
// the code of a replaced revision points at.
type codeDoc struct {
	StatementID string         `json:"statement_id"`
	Revision    int            `json:"revision"`
	Type        statement.Type `json:"type"`
	PeriodLabel string         `json:"period_label"`
	Name        string         `json:"name"`
	NetSen      int64          `json:"net_sen"`
	IssuedAt    time.Time      `json:"issued_at"`
}

// Project applies one event.
func (p Projector) Project(ctx context.Context, b projections.Batch, env eventlog.Envelope) error {
	if len(p.Key) < 16 {
		return errors.New("statements: projector key is missing or shorter than 16 bytes")
	}
	var id string
	switch ev := env.Event.(type) {
	case statement.Issued:
		id = ev.StatementID
	case statement.Corrected:
		id = ev.StatementID
	default:
		return fmt.Errorf("statements: unexpected event %s", env.Type)
	}
	var v Statement
	switch ev := env.Event.(type) {
	case statement.Issued:
		// The first event of its stream needs no read: if the document is
		// there already, the store ignores this put (its version is not newer).
		v = Statement{ID: id, Revision: 1, Content: ev.Content, IssuedAt: env.OccurredAt}
	case statement.Corrected:
		doc, exists, err := b.Get(ctx, Statements, id)
		if err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("statements: %s corrected before it was issued", id)
		}
		if doc.Version >= env.Version {
			return nil // seen already
		}
		if err := json.Unmarshal(doc.Body, &v); err != nil {
			return fmt.Errorf("statements: statement %s: %w", id, err)
		}
		// The replaced revision's code stays checkable, marked superseded.
		// Its document first: after a crash before the statement's put the
		// event is replayed, and this put is then ignored (version 1).
		// Pointers to json.Marshal: a value would be copied to the heap first.
		replaced := v.summary()
		cbody, err := json.Marshal(&replaced)
		if err != nil {
			return err
		}
		if err := b.Put(ctx, Codes, projections.Doc{ID: v.Code, Version: 1, Body: cbody}); err != nil {
			return err
		}
		at := env.OccurredAt
		v.Revision, v.Content, v.CorrectedAt = ev.Revision, ev.Content, &at
		v.Corrections = append(v.Corrections, Correction{Revision: ev.Revision, At: at, Reason: ev.Reason})
	}
	v.TypeLabel, v.PeriodLabel = v.Type.Label(), v.Period.Label()
	v.Code = Code(p.Key, id, v.Revision)
	body, err := json.Marshal(&v)
	if err != nil {
		return err
	}
	// The row before the view, with the same version: a replay after a
	// crash in between finds the view old and writes both again.
	if err := b.Put(ctx, Rows, projections.Doc{ID: id, Version: env.Version, Fields: map[string]any{
		"payee_ic": v.Payee.IC, "type": string(v.Type), "year": int64(v.Period.Year), "period_end": v.Period.End(),
	}, Body: encodeRow(v)}); err != nil {
		return err
	}
	return b.Put(ctx, Statements, projections.Doc{ID: id, Version: env.Version, Fields: map[string]any{"code": v.Code}, Body: body})
}

// summary is what the public check shows of the statement's current
// revision, made when it was issued or corrected.
func (v Statement) summary() codeDoc {
	at := v.IssuedAt
	if v.CorrectedAt != nil {
		at = *v.CorrectedAt
	}
	return codeDoc{StatementID: v.ID, Revision: v.Revision, Type: v.Type, PeriodLabel: v.PeriodLabel,
		Name: v.Payee.Name, NetSen: v.Totals.NetSen, IssuedAt: at}
}

// rowLayout is the version of the list row's layout: a change of fields
// bumps it, and a store holding older rows answers listrow.ErrLayout until
// the projection is rebuilt. 3 left out what the row's document and its
// query already say (the ID, the type) and what no list shows (the code).
const rowLayout = 3

// encodeRow is the list row: what "Senarai Dokumen" and the JSON list show
// of a statement beyond its ID and type, in a fixed order (decodeRow). The
// period's label is stored (formatting it costs more than reading it); the
// type's label is a constant. Every byte counts twice: the row is the body
// of a document and of its entry in the per-payee list index, which a
// payroll run writes to for every slip (a month's run dirties nearly every
// page of it), so a slimmer row is fewer pages written per slip and read
// per list.
func encodeRow(v Statement) []byte {
	p := v.Period
	return listrow.NewWriter(rowLayout, 96).
		Int(int64(v.Revision)).Int(int64(p.Year)).Int(int64(p.Month)).Str(p.From).Str(p.To).
		Str(v.PeriodLabel).Str(v.PayDate).Int(v.Totals.EarningsSen).Int(v.Totals.DeductionsSen).Int(v.Totals.NetSen).Bytes()
}

// decodeRow reads the list row of statement id, of type t and payee
// payeeIC, into the fields of a Statement it holds, in place: v (zero) is
// the element of the page's slice, as a Statement is half a kilobyte to
// copy.
func decodeRow(v *Statement, id string, t statement.Type, body []byte, payeeIC string) error {
	r := listrow.NewReader(body, rowLayout)
	v.ID, v.Type, v.Revision = id, t, int(r.Int())
	v.Period = statement.Period{Year: int(r.Int()), Month: int(r.Int()), From: r.Str(), To: r.Str()}
	v.PeriodLabel, v.PayDate = r.Str(), r.Str()
	v.Totals = statement.Totals{EarningsSen: r.Int(), DeductionsSen: r.Int(), NetSen: r.Int()}
	if err := r.Err(); err != nil {
		return err
	}
	v.Payee.IC = payeeIC
	v.TypeLabel = t.Label()
	return nil
}

// Code is the verification code of one revision of a statement: an HMAC of
// its identity under key, 80 bits in base32, so a code cannot be guessed or
// derived from the statement ID.
func Code(key []byte, statementID string, revision int) string {
	m := macs.get(key)
	defer macs.put(m)
	msg := make([]byte, 0, 64)
	msg = append(msg, "ispeks/statement\x00"...)
	msg = append(msg, statementID...)
	msg = append(msg, 0)
	msg = strconv.AppendInt(msg, int64(revision), 10)
	m.h.Write(msg)
	var sum [sha256.Size]byte
	return base32.StdEncoding.EncodeToString(m.h.Sum(sum[:0])[:10])
}

// macs keeps keyed HMACs for Code (one per slip projected): a new one costs
// two SHA-256 states and the key's pads, a Reset one nothing.
var macs macPool

type keyedMAC struct {
	key []byte
	h   hash.Hash
}

type macPool struct{ p sync.Pool }

func (mp *macPool) get(key []byte) *keyedMAC {
	if m, ok := mp.p.Get().(*keyedMAC); ok && bytes.Equal(m.key, key) {
		m.h.Reset()
		return m
	}
	return &keyedMAC{key: bytes.Clone(key), h: hmac.New(sha256.New, key)}
}

func (mp *macPool) put(m *keyedMAC) { mp.p.Put(m) }
