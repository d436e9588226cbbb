// Package statements is the read side of statements ("Urusniaga"): one
// document per statement holding its latest revision, listed per payee by
// type and year within display windows, and a verification-code index so
// a printed slip can be checked by a bank.
//
// A statement document is fed by one stream, so its version is the stream
// version of the last event applied: a replayed event is ignored.
package statements

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/statement"
	"github.com/melaka-gov/ispeks/projections"
)

// Collections.
const (
	Statements = "statements"      // ID = statement ID
	Codes      = "statement_codes" // ID = verification code of one revision
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

var _ projections.Projector = Projector{}

// Name is the projector's checkpoint name.
func (Projector) Name() string { return "statements" }

// Handles lists the event types projected.
func (Projector) Handles() []string {
	return []string{statement.Issued{}.EventType(), statement.Corrected{}.EventType()}
}

// Collections declares the collections and their indexes: a person's
// statements of one type and year, latest period first. A list of every
// year uses the same index's prefix and sorts the person's few documents.
func (Projector) Collections() []projections.CollectionSpec {
	return []projections.CollectionSpec{
		{Name: Statements, Indexes: []string{"payee_ic+type+year+period_end"}},
		{Name: Codes},
	}
}

// codeDoc is what a verification code points at: the revision it was
// printed from, with what the public check shows of it.
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
		at := env.OccurredAt
		v.Revision, v.Content, v.CorrectedAt = ev.Revision, ev.Content, &at
		v.Corrections = append(v.Corrections, Correction{Revision: ev.Revision, At: at, Reason: ev.Reason})
	}
	v.TypeLabel, v.PeriodLabel = v.Type.Label(), v.Period.Label()
	v.Code = Code(p.Key, id, v.Revision)
	// The code document first, the statement last: on a store without
	// transactions a crash in between replays the event harmlessly.
	cbody, err := json.Marshal(codeDoc{StatementID: id, Revision: v.Revision, Type: v.Type, PeriodLabel: v.PeriodLabel,
		Name: v.Payee.Name, NetSen: v.Totals.NetSen, IssuedAt: env.OccurredAt})
	if err != nil {
		return err
	}
	if err := b.Put(ctx, Codes, projections.Doc{ID: v.Code, Version: 1, Body: cbody}); err != nil {
		return err
	}
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(ctx, Statements, projections.Doc{ID: id, Version: env.Version, Fields: map[string]any{
		"payee_ic": v.Payee.IC, "type": string(v.Type), "year": int64(v.Period.Year), "period_end": v.Period.End(),
	}, Body: body})
}

// Code is the verification code of one revision of a statement: an HMAC of
// its identity under key, 80 bits in base32, so a code cannot be guessed or
// derived from the statement ID.
func Code(key []byte, statementID string, revision int) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("ispeks/statement\x00" + statementID + "\x00" + strconv.Itoa(revision)))
	return base32.StdEncoding.EncodeToString(m.Sum(nil)[:10])
}

// FormatCode groups a code in fours for print: ABCD-EFGH-IJKL-MNOP.
func FormatCode(code string) string {
	var b strings.Builder
	for i, r := range code {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// NormalizeCode undoes FormatCode and the ways people type a code (lower
// case, spaces); it returns "" for anything that cannot be a code.
func NormalizeCode(s string) string {
	if len(s) > 64 {
		return ""
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || r == ' ':
		case (r >= 'A' && r <= 'Z') || (r >= '2' && r <= '7'):
			b.WriteRune(r)
		default:
			return ""
		}
	}
	if b.Len() != 16 {
		return ""
	}
	return b.String()
}
