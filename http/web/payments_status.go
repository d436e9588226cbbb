package web

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/domain/payment"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/i18n"
	"github.com/melaka-gov/ispeks/http/session"
	"github.com/melaka-gov/ispeks/infra/pdf"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/payments"
	"github.com/melaka-gov/ispeks/projections/verifycode"
)

// The manual's section A: Permohonan › Status Bayaran → Jenis Modul →
// Semak → "Senarai Pertanyaan Status Bayaran" → the row's icon →
// "Maklumat terperinci" → Cetak (the PDF, shown in the browser, with
// MuatTurun beside it).

// paymentListData is the Status Bayaran page: the form, and after Semak
// the list.
type paymentListData struct {
	Searched    bool
	ModuleLabel string
	Count       int
	listRows           // drawn by writePaymentRows
	module      string // the valid module searched ("" before a search)
}

// contentKey: after a valid search, the page differs between people only
// in its rows and pager links (cachedContent, as statementListData).
func (d *paymentListData) contentKey() string {
	if !d.Searched || d.module == "" {
		return ""
	}
	return "payments|" + d.module + "|" + d.ModuleLabel + "|" + d.listRows.shape(d.Count > 0)
}

func (d *paymentListData) withMarkers() any {
	m := *d
	m.listRows = d.listRows.marked()
	return &m
}

// searchIcon is the row's "view" icon (a magnifier), drawn inline.
const searchIcon = `<svg class="icon" aria-hidden="true" focusable="false" viewBox="0 0 24 24" width="18" height="18"><circle cx="10" cy="10" r="6.5" fill="none" stroke="currentColor" stroke-width="2.4"/><path d="M15 15l6 6" stroke="currentColor" stroke-width="2.6" stroke-linecap="round"/></svg>`

// writePaymentRows draws the rows of "Senarai Pertanyaan Status Bayaran";
// back is the list place each row's link carries (listPlace.linkSuffix).
// The rows are written here rather than by the template: an action costs a
// few reflective calls and a list has eight of them per row, while every
// value here goes through the same HTML escaping (htmlBuf).
func writePaymentRows(b *htmlBuf, l i18n.Lang, start int, back string, list []payments.Payment) {
	view := escapeText(i18n.T(l, "pay.view")) // the same on every row
	viewLabel := newTextf(l, "pay.view_label")
	voucherCol, refCol, descCol := cellLabel(l, "pay.col.voucher"), cellLabel(l, "pay.col.reference"), cellLabel(l, "pay.col.description")
	amountCol, statusCol, dateCol := cellLabel(l, "pay.col.amount"), cellLabel(l, "pay.col.status"), cellLabel(l, "pay.label.voucher_date")
	// The description is the finance system's words, Malay on the English
	// page too: marked so there, beside the column name in English.
	descOpen, descClose := "", ""
	if l != i18n.MS {
		descOpen, descClose = `<span lang="ms">`, `</span>`
	}
	for i, p := range list {
		r := b.buf().AvailableBuffer() // the row, appended in place (appendText)
		r = append(r, `<tr><td class="num cell-no">`...)
		r = strconv.AppendInt(r, int64(start+i), 10)
		r = append(r, `</td><td class="nowrap mono cell-main">`...)
		r = append(r, voucherCol...)
		r = appendText(r, p.VoucherNo)
		r = append(r, `</td><td class="cell-sub">`...)
		if p.Reference != "" {
			// The reference is optional: no column name without a value
			// on a phone's card (as the details page leaves the line out).
			r = append(r, refCol...)
			r = appendText(r, p.Reference)
		}
		r = append(r, `</td><td>`...)
		r = append(r, descCol...)
		r = append(r, descOpen...)
		r = appendText(r, p.Description)
		r = append(r, descClose...)
		r = append(r, `</td><td class="num cell-amount">`...)
		r = append(r, amountCol...)
		r = appendRinggit(r, p.AmountSen)
		r = append(r, `</td><td>`...)
		r = append(r, statusCol...)
		r = append(r, `<span class="status status--`...)
		r = appendText(r, string(p.Status))
		r = append(r, `">`...)
		r = appendText(r, statusLabel(l, p.Status))
		r = append(r, `</span></td><td class="nowrap">`...)
		r = append(r, dateCol...)
		r = appendDmy(r, p.VoucherDate)
		r = append(r, `</td><td><a class="row-link" href="`+PathStatusBayaran+`/`...)
		r = appendText(r, escapeSegment(p.ID))
		r = append(r, back...)
		r = append(r, `" aria-label="`...)
		r = viewLabel.append(r, p.VoucherNo)
		r = append(r, `">`+searchIcon...)
		r = append(r, view...)
		r = append(r, "</a></td></tr>\n"...)
		b.Write(r)
	}
}

// paymentList is the Jenis Modul form and, once a module is chosen, the
// person's payments of that module, newest first, a page at a time.
func (s *Site) paymentList(c *gin.Context) {
	d := s.deps.Payments
	u, _ := session.User(c)
	l := i18n.From(c)
	mod, asked := c.GetQuery("modul")
	f := NewForm(map[string]string{"modul": mod})
	data := &paymentListData{}
	page := Page{Title: "nav.status_bayaran", Form: f, Data: data}
	if !asked {
		s.Render(c, http.StatusOK, "payments_status", page)
		return
	}
	m := payment.Module(mod)
	if !m.Valid() {
		f.labels["modul"] = "label.modul"
		f.FailKey("modul", "err.choose_one")
		s.Invalid(c, "payments_status", page)
		return
	}
	after, ok := cursorParam(c)
	if !ok {
		httpx.Abort(c, projections.ErrBadCursor)
		return
	}
	start := startParam(c)
	pg, err := d.Payments.ListByPayee(c.Request.Context(), u.UserID, m, d.PageSize, after)
	if err != nil {
		httpx.Abort(c, err) // a forged cursor is 400 (Rules)
		return
	}
	data.Searched = true
	data.module = string(m)
	data.ModuleLabel = i18n.T(l, "modul."+string(m))
	data.Count = len(pg.Payments)
	back := listPlace{after: after, start: start}.linkSuffix()
	data.rows = func(b *htmlBuf) { writePaymentRows(b, l, start, back, pg.Payments) }
	q := url.Values{"modul": {string(m)}}
	if pg.Next != "" {
		next := url.Values{"modul": {string(m)}, queryAfter: {pg.Next}, "mula": {strconv.Itoa(start + len(pg.Payments))}}
		data.NextURL = PathStatusBayaran + "?" + next.Encode()
	}
	if after != "" {
		data.FirstURL = PathStatusBayaran + "?" + q.Encode()
	}
	s.Render(c, http.StatusOK, "payments_status", page)
}

// statusLabel is a payment status in the page's language.
func statusLabel(l i18n.Lang, st payment.Status) string {
	key, ok := statusKeys[st]
	if !ok {
		key = "pay.status." + string(st)
	}
	if txt, ok := i18n.Lookup(key); ok {
		return txt.In(l)
	}
	return st.Label()
}

// payTypeLabel is a payment type in the page's language.
func payTypeLabel(l i18n.Lang, t payment.Type) string {
	if txt, ok := i18n.Lookup("pay.type." + string(t)); ok {
		return txt.In(l)
	}
	return t.Label()
}

// statusKeys are the catalog keys of the statuses, built once rather than
// per list row.
var statusKeys = func() map[payment.Status]string {
	m := map[payment.Status]string{}
	for _, s := range payment.Statuses() {
		m[s] = "pay.status." + string(s)
	}
	return m
}()

// paymentDetailData is "Maklumat terperinci".
type paymentDetailData struct {
	Heading     string
	Details     []kv
	History     []historyRow
	Code        string
	VerifyURL   string
	PrintURL    string
	DownloadURL string
	BackURL     string
}

type historyRow struct {
	No      int
	Status  string
	Date    string
	Details string
}

// paymentDetail is one payment with its status history. Someone else's
// payment is not found (404), like one that does not exist.
func (s *Site) paymentDetail(c *gin.Context) {
	p, ok := s.ownPayment(c)
	if !ok {
		return
	}
	l := i18n.From(c)
	base := pathWith(PathPaymentDetail, "id", p.ID)
	data := &paymentDetailData{
		Heading: payTypeLabel(l, p.Type) + " — " + p.VoucherNo,
		Details: kvs(l,
			kv{Label: "label.modul", Value: i18n.T(l, "modul."+string(p.Module))},
			kv{Label: "pay.label.type", Value: payTypeLabel(l, p.Type)},
			kv{Label: "pay.col.voucher", Value: p.VoucherNo, Mono: true},
			kv{Label: "pay.label.voucher_date", Value: dmy(p.VoucherDate)},
			kv{Label: "pay.col.reference", Value: p.Reference, Mono: true},
			kv{Label: "pay.col.description", Value: p.Description, Malay: true},
			kv{Label: "pay.col.amount", Value: ringgit(p.AmountSen)},
			kv{Label: "pay.label.received", Value: dmy(p.ReceivedDate)},
			kv{Label: "pay.col.status", Value: statusLabel(l, p.Status)},
			kv{Label: "pay.label.status_date", Value: dmy(p.StatusDate)},
			kv{Label: "pay.label.eft", Value: p.EFTNo, Mono: true},
			kv{Label: "pay.label.cheque", Value: p.ChequeNo, Mono: true},
			kv{Label: "pay.label.payment_date", Value: dmy(p.PaymentDate)},
			kv{Label: "pay.label.reason", Value: p.Reason, Malay: true},
			kv{Label: "pay.label.amended", Value: amendedNote(l, p.Amended)},
		),
		Code:        verifycode.Format(p.Code),
		VerifyURL:   pathWith(PathVerifyCode, "code", verifycode.Format(p.Code)),
		PrintURL:    base + "/laporan.pdf",
		DownloadURL: base + "/laporan.pdf?" + queryDownload + "=1",
		// Back to the page of the list the payment was opened from.
		BackURL: PathStatusBayaran + "?" + placeParam(c, nil).query(url.Values{"modul": {string(p.Module)}}).Encode(),
	}
	for i, h := range p.History {
		data.History = append(data.History, historyRow{No: i + 1, Status: statusLabel(l, h.Status), Date: dmy(h.Date), Details: historyDetails(l, h)})
	}
	s.Render(c, http.StatusOK, "payments_detail", Page{Title: "heading.maklumat_terperinci", TitleDetail: payTypeLabel(l, p.Type) + " " + p.VoucherNo, Data: data})
}

// amendedNote says that the finance system corrected the payment's details
// (amount, description…) after it was recorded, so a printout made before
// is out of date; "" when it never did.
func amendedNote(l i18n.Lang, times int) string {
	if times <= 0 {
		return ""
	}
	return i18n.Tf(l, "pay.amended", times)
}

// historyDetails is what a status entry carries besides status and date.
func historyDetails(l i18n.Lang, h payments.StatusEntry) string {
	var parts []string
	if h.EFTNo != "" {
		parts = append(parts, i18n.T(l, "pay.label.eft")+" "+h.EFTNo)
	}
	if h.ChequeNo != "" {
		parts = append(parts, i18n.T(l, "pay.label.cheque")+" "+h.ChequeNo)
	}
	if h.PaymentDate != "" {
		parts = append(parts, i18n.T(l, "pay.label.payment_date")+" "+dmy(h.PaymentDate))
	}
	if h.Reason != "" {
		parts = append(parts, i18n.T(l, "pay.label.reason")+": "+h.Reason)
	}
	return strings.Join(parts, "; ")
}

// paymentPDF is the "Cetak" report: drawn whole before anything is sent,
// so a failure shows "Laporan tidak dapat dipaparkan" instead of half a
// file.
func (s *Site) paymentPDF(c *gin.Context) {
	p, ok := s.ownPayment(c)
	if !ok {
		return
	}
	u, _ := session.User(c)
	d := s.deps.Payments
	var buf bytes.Buffer
	if err := d.Reports.Payment(&buf, p, pdf.Payee{Name: u.Name, Department: u.Department}, d.Now()); err != nil {
		reportFailed(c, "payment report", err)
		return
	}
	sendPDF(c, &buf, fileName("status-bayaran", p.VoucherNo))
}

// ownPayment reads the payment named in the path if it is the logged-in
// person's; otherwise it answers 404 and returns false.
func (s *Site) ownPayment(c *gin.Context) (payments.Payment, bool) {
	u, _ := session.User(c)
	p, err := s.deps.Payments.Payments.Get(c.Request.Context(), u.UserID, c.Param("id"))
	switch {
	case errors.Is(err, payments.ErrNotFound):
		httpx.Abort(c, httpx.ErrNotFound)
		return p, false
	case err != nil:
		httpx.Abort(c, err)
		return p, false
	}
	return p, true
}
