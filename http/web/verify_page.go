package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/domain/payment"
	"github.com/melaka-gov/ispeks/domain/statement"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/i18n"
	"github.com/melaka-gov/ispeks/projections/verifycode"
)

// The public verification page: a bank (or anyone holding a printed slip
// or payment report) types the code printed on it, or follows the address
// printed beside it, and learns whether the portal issued it. It shows
// only what is needed to compare with the paper: the document type, the
// period, the masked name or IC number, the amount; a corrected statement's
// old code says it was superseded, and an amended payment's code says its
// details were amended (a printout made before shows other figures). No login; look-ups are throttled per
// client address.

// verifyData is the verification page.
type verifyData struct {
	Looked     bool
	Found      bool
	Superseded string // the superseded note, or ""
	Amended    string // the amended payment's note, or ""
	Code       string
	Details    []kv
}

// verifyForm is /sahkan: the code form, or the answer to ?kod=.
func (s *Site) verifyForm(c *gin.Context) {
	code, asked := c.GetQuery("kod")
	if !asked {
		f := NewForm(nil)
		s.Render(c, http.StatusOK, "verify", Page{Title: "verify.title", Form: f, Data: &verifyData{}})
		return
	}
	s.verifyLookup(c, code)
}

// verifyCode is /sahkan/{code}, the address printed on every document.
func (s *Site) verifyCode(c *gin.Context) { s.verifyLookup(c, c.Param("code")) }

func (s *Site) verifyLookup(c *gin.Context, raw string) {
	d := s.deps.Payments
	if err := d.VerifyThrottle.Check(c); err != nil {
		httpx.Abort(c, err)
		return
	}
	// The code is a capability to see a masked summary: keep it out of
	// search engines and other sites' logs.
	c.Header("X-Robots-Tag", "noindex, nofollow")
	if len(raw) > 64 {
		raw = raw[:64]
	}
	f := NewForm(map[string]string{"kod": raw})
	data := &verifyData{Looked: true, Code: raw}
	page := Page{Title: "verify.title", Form: f, Data: data}
	if verifycode.Normalize(raw) == "" {
		// Not a code at all (a 0 typed for an O, a character missing): say
		// what a code is made of, beside the field, rather than "not
		// recognised ... may not be genuine" about a genuine slip.
		f.labels["kod"] = "verify.label.code"
		if strings.TrimSpace(raw) == "" {
			f.FailKey("kod", "err.required")
		} else {
			f.FailKey("kod", "verify.err.malformed")
		}
		data.Looked = false
		s.Invalid(c, "verify", page)
		return
	}
	l := i18n.From(c)
	ctx := c.Request.Context()
	st, ok, err := d.Statements.Verify(ctx, raw)
	if err != nil {
		httpx.Abort(c, err)
		return
	}
	if ok {
		data.Found = true
		data.Details = kvs(l,
			kv{Label: "verify.document", Value: stmtDocLabel(l, st.Document)},
			kv{Label: "stmt.col.period", Value: verifyPeriodLabel(l, st.Period)},
			kv{Label: "label.name", Value: st.NameMasked},
			kv{Label: "verify.net", Value: ringgit(st.NetSen)},
			kv{Label: "verify.revision", Value: itoa(st.Revision)},
			kv{Label: "verify.issued", Value: st.IssuedAt.In(calendar.Melaka).Format("02/01/2006")},
		)
		if st.Superseded {
			data.Superseded = i18n.Tf(l, "verify.superseded_txt", st.Revision, st.CurrentRevision)
		}
		s.Render(c, http.StatusOK, "verify", page)
		return
	}
	p, ok, err := d.Payments.Verify(ctx, raw)
	if err != nil {
		httpx.Abort(c, err)
		return
	}
	if !ok {
		s.Render(c, http.StatusNotFound, "verify", page)
		return
	}
	data.Found = true
	data.Details = kvs(l,
		kv{Label: "verify.document", Value: i18n.T(l, "verify.doc.payment")},
		kv{Label: "pay.label.type", Value: payTypeLabelOf(l, p.Type)},
		kv{Label: "pay.col.voucher", Value: p.VoucherNo, Mono: true},
		kv{Label: "verify.payee_ic", Value: p.PayeeMasked, Mono: true},
		kv{Label: "pay.col.amount", Value: ringgit(p.AmountSen)},
		kv{Label: "pay.col.status", Value: payStatusLabel(l, p.Status)},
		kv{Label: "pay.label.status_date", Value: dmy(p.StatusDate)},
		kv{Label: "pay.label.amended", Value: verifyAmendedCount(l, p.Amended)},
	)
	if p.Amended > 0 {
		// The code is genuine, but a printout made before the amendment
		// shows other figures: "Dokumen ini sah" beside these would confirm it.
		data.Amended = i18n.Tf(l, "verify.amended_txt", p.Amended)
	}
	s.Render(c, http.StatusOK, "verify", page)
}

// stmtDocLabel translates a statement type's Malay label (what Verify
// returns) when the page is in English.
func stmtDocLabel(l i18n.Lang, label string) string {
	for _, t := range urusniagaOrder {
		if t.Label() == label {
			return typeLabel(l, t)
		}
	}
	return label
}

// verifyPeriodLabel translates a statement period's Malay label (what
// Verify returns: "Februari 2026", "Tahun 2025"; a week's dates need no
// translation) when the page is in English, as periodLabel does for the
// pages that hold the period itself.
func verifyPeriodLabel(l i18n.Lang, label string) string {
	if l != i18n.EN {
		return label
	}
	name, year, ok := strings.Cut(label, " ")
	if !ok {
		return label
	}
	if _, err := strconv.Atoi(year); err != nil {
		return label
	}
	if name == "Tahun" {
		return "Year " + year
	}
	for m := 1; m <= 12; m++ {
		if statement.MonthName(m) == name {
			return monthsEN[m-1] + " " + year
		}
	}
	return label
}

// payTypeLabelOf translates a payment type's Malay label (what Verify
// returns) when the page is in English.
func payTypeLabelOf(l i18n.Lang, label string) string {
	for _, m := range []payment.Module{payment.Pendahuluan, payment.Tuntutan} {
		for _, t := range payment.Types(m) {
			if t.Label() == label {
				return payTypeLabel(l, t)
			}
		}
	}
	return label
}

// payStatusLabel translates a payment status's Malay label (what Verify
// returns) when the page is in English.
func payStatusLabel(l i18n.Lang, label string) string {
	for _, st := range payment.Statuses() {
		if st.Label() == label {
			return statusLabel(l, st)
		}
	}
	return label
}

// verifyAmendedCount is the "Pindaan" line of an amended payment's check:
// how many times; "" (no line) when it never was.
func verifyAmendedCount(l i18n.Lang, times int) string {
	if times <= 0 {
		return ""
	}
	return i18n.Tf(l, "verify.amended_count", times)
}

func itoa(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// VerifyURL is the address of the public verification page (its form's
// action).
func (v *View) VerifyURL() string { return PathVerify }
