package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/domain/statement"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/i18n"
	"github.com/melaka-gov/ispeks/http/session"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/statements"
	"github.com/melaka-gov/ispeks/projections/verifycode"
)

// The manual's section B: Penyata Gaji → Urusniaga (Bantuan Khas / Bonus,
// Penyata Pendapatan Tahunan, Slip Gaji Bulanan / Mingguan / Sambilan) →
// Cari → "Senarai Dokumen" → MuatTurun (the PDF shown in the browser
// before printing, with a download beside it). Each document also has an
// HTML view, for phones without a PDF reader.

// urusniagaOrder is the manual's order of the Urusniaga choices.
var urusniagaOrder = []statement.Type{
	statement.BantuanKhas, statement.Bonus, statement.PenyataPendapatanTahunan,
	statement.SlipGajiBulanan, statement.SlipGajiMingguan, statement.SlipGajiSambilan,
}

// statementListData is the Penyata Gaji page.
type statementListData struct {
	TypeField FieldView
	YearField FieldView
	Fields    template.HTML // the two fields drawn already (searchFields), or
	Window    string
	Searched  bool
	TypeLabel string
	Year      int // the year chosen, 0 for all in the window
	Count     int
	listRows         // drawn by writeStatementRows
	fieldsKey string // searchFields' key of Fields
}

// contentKey: after a valid search, the page differs between people only
// in its rows and pager links.
func (d *statementListData) contentKey() string {
	if !d.Searched || d.Fields == "" || d.fieldsKey == "" {
		return ""
	}
	return "statements|" + d.fieldsKey + "|" + d.Window + "|" + d.TypeLabel + "|" + d.listRows.shape(d.Count > 0)
}

func (d *statementListData) withMarkers() any {
	m := *d
	m.listRows = d.listRows.marked()
	return &m
}

// writeStatementRows draws the rows of "Senarai Dokumen" (in Go rather than
// in the template, for the reason given at writePaymentRows); back is the
// list place each row's "Lihat" link carries (listPlace.linkSuffix).
func writeStatementRows(b *htmlBuf, l i18n.Lang, start int, back string, list []statements.Statement) {
	// The same texts on every row: escaped once.
	view, pdfText, save := escapeText(i18n.T(l, "stmt.view")), escapeText(i18n.T(l, "btn.muat_turun")), escapeText(i18n.T(l, "stmt.save"))
	periodCol, dateCol, netCol := cellLabel(l, "stmt.col.period"), cellLabel(l, "stmt.col.pay_date"), cellLabel(l, "stmt.col.net")
	for i, st := range list {
		id := escapeText(escapeSegment(st.ID)) // written three times
		period := st.PeriodLabel               // the Malay label, which the list rows carry
		if period == "" || (l == i18n.EN && st.Period.From == "") {
			period = periodLabel(l, st.Period)
		}
		// The cells are styled by position (data-table--docs), and each
		// link is named by its text and its row's period (d<n>), the
		// texts standing once on the page (d-mt, d-sv, d-vw; d-pdf is the
		// "new window" note), rather than by a sentence of its own: the rows
		// are most of the page's bytes. The template holds those texts.
		r := b.buf().AvailableBuffer() // the row, appended in place (appendText)
		r = append(r, `<tr><td>`...)
		r = strconv.AppendInt(r, int64(start+i), 10)
		r = append(r, `</td><td>`...)
		r = append(r, periodCol...)
		r = append(r, `<span id="d`...) // the period without its column name (cellLabel)
		r = strconv.AppendInt(r, int64(start+i), 10)
		r = append(r, `">`...)
		r = appendText(r, period)
		if st.Revision > 1 {
			r = append(r, `<span class="revised">`...)
			r = appendText(r, i18n.Tf(l, "stmt.revised", st.Revision))
			r = append(r, `</span>`...)
		}
		r = append(r, `</span></td><td>`...)
		if st.PayDate != "" {
			// A Borang EC has no pay date: no column name without a value
			// on a phone's card (as the HTML view and the PDF leave the
			// line out).
			r = append(r, dateCol...)
			r = appendDmy(r, st.PayDate)
		}
		r = append(r, `</td><td>`...)
		r = append(r, netCol...)
		r = appendRinggit(r, st.Totals.NetSen)
		r = append(r, `</td><td><span class="row-actions"><a class="row-link" href="`+PathPenyataGaji+`/`...)
		r = append(r, id...)
		r = append(r, `/dokumen.pdf" target="_blank" rel="noopener" aria-labelledby="d-mt d`...)
		r = strconv.AppendInt(r, int64(start+i), 10)
		r = append(r, `" aria-describedby="d-pdf">`...)
		r = append(r, pdfText...)
		r = append(r, `</a><a href="`+PathPenyataGaji+`/`...)
		r = append(r, id...)
		r = append(r, `/dokumen.pdf?`+queryDownload+`=1" download aria-labelledby="d-sv d`...)
		r = strconv.AppendInt(r, int64(start+i), 10)
		r = append(r, `">`...)
		r = append(r, save...)
		r = append(r, `</a><a href="`+PathPenyataGaji+`/`...)
		r = append(r, id...)
		r = append(r, back...)
		r = append(r, `" aria-labelledby="d-vw d`...)
		r = strconv.AppendInt(r, int64(start+i), 10)
		r = append(r, `">`...)
		r = append(r, view...)
		r = append(r, "</a></span></td></tr>\n"...)
		b.Write(r)
	}
}

// statementList is the Urusniaga form and, after Cari, the person's
// documents of that type (latest period first, latest revision only,
// within the display window).
func (s *Site) statementList(c *gin.Context) {
	d := s.deps.Payments
	u, _ := session.User(c)
	l := i18n.From(c)
	now := d.Now()
	typ, asked := c.GetQuery("urusniaga")
	yearRaw := c.Query("tahun")
	f := NewForm(map[string]string{"urusniaga": typ, "tahun": yearRaw})
	f.labels["urusniaga"], f.labels["tahun"] = "label.urusniaga", "stmt.label.year"
	data := &statementListData{Window: i18n.Tf(l, "stmt.window", d.Windows.SlipMonths, d.Windows.AnnualYears)}
	page := Page{Title: "nav.penyata_gaji", Form: f, Data: data}
	years := s.windowYears(now)
	t := statement.Type(typ)
	year := 0
	if asked {
		if !t.Valid() {
			f.FailKey("urusniaga", "err.choose_one")
		}
		if yearRaw != "" {
			y, err := strconv.Atoi(yearRaw)
			switch {
			case err != nil || strconv.Itoa(y) != yearRaw || !containsInt(years, y):
				// Only the drop-down's spelling: "02025" would list 2025
				// with no year chosen in the form, and each spelling
				// would keep a drawing of the fields (searchFields).
				f.FailKey("tahun", "err.choose_one")
			case t.Valid() && y < s.deps.Payments.Windows.FirstYear(t, now):
				// The choice offers the annual statements' years to every
				// type: a slip year before the slips' window would list
				// nothing and say "no records in 2019" to someone paid
				// all that year.
				w := s.deps.Payments.Windows
				if t.Annual() {
					f.FailKey("tahun", "stmt.err.year_window_years", y, w.AnnualYears)
				} else {
					f.FailKey("tahun", "stmt.err.year_window_months", y, w.SlipMonths)
				}
			}
			year = y
		}
	}
	fields := func() (FieldView, FieldView) { return s.statementFields(l, f, years) }
	if !asked || !f.Valid() {
		data.TypeField, data.YearField = fields()
	}
	if !asked {
		s.Render(c, http.StatusOK, "statements_list", page)
		return
	}
	if !f.Valid() {
		s.Invalid(c, "statements_list", page)
		return
	}
	after, ok := cursorParam(c)
	if !ok {
		httpx.Abort(c, projections.ErrBadCursor)
		return
	}
	start := startParam(c)
	buf := statementBufs.Get().(*[]statements.Statement)
	defer func() {
		// The page is written by now (Render is synchronous); drop what the
		// statements point to before the slice waits for the next request.
		clear((*buf)[:cap(*buf)])
		statementBufs.Put(buf)
	}()
	pg, err := d.Statements.ListByPayeeInto(c.Request.Context(), u.UserID, t, year, d.PageSize, after, now, (*buf)[:0])
	if err != nil {
		httpx.Abort(c, err) // a forged cursor is 400 (Rules)
		return
	}
	if cap(pg.Statements) <= statements.MaxPageSize {
		*buf = pg.Statements[:0]
	}
	data.Searched = true
	// The drop-downs are drawn once per choice (searchFields); built here
	// only when that fails and the template draws them.
	data.Fields, data.fieldsKey = s.searchFields(l, typ, yearRaw, years, fields)
	if data.Fields == "" {
		data.TypeField, data.YearField = fields()
	}
	data.TypeLabel, data.Year = typeLabel(l, t), year
	data.Count = len(pg.Statements)
	back := listPlace{after: after, start: start, year: year}.linkSuffix()
	data.rows = func(b *htmlBuf) { writeStatementRows(b, l, start, back, pg.Statements) }
	q := url.Values{"urusniaga": {string(t)}}
	if year != 0 {
		q.Set("tahun", strconv.Itoa(year))
	}
	if pg.Next != "" {
		next := url.Values{queryAfter: {pg.Next}, "mula": {strconv.Itoa(start + len(pg.Statements))}}
		for k, v := range q {
			next[k] = v
		}
		data.NextURL = PathPenyataGaji + "?" + next.Encode()
	}
	if after != "" {
		data.FirstURL = PathPenyataGaji + "?" + q.Encode()
	}
	s.Render(c, http.StatusOK, "statements_list", page)
}

// searchFields draws the Urusniaga and Tahun fields of a valid search
// through the shared "field" partial once per language, choice and year
// range, and keeps the result: the two drop-downs are most of the page's
// template work, and after a valid search they are the same for everyone
// who chose the same. typ and yearRaw were validated against the few
// possible values, so the cache stays small. "" (an error) draws them
// through the page template.
func (s *Site) searchFields(l i18n.Lang, typ, yearRaw string, years []int, fields func() (FieldView, FieldView)) (template.HTML, string) {
	if len(years) == 0 {
		return "", ""
	}
	key := searchFieldsKey{p: s.pages, k: string(l) + "|" + typ + "|" + yearRaw + "|" + strconv.Itoa(years[0]) + "|" + strconv.Itoa(years[len(years)-1])}
	if h, ok := searchFieldsCache.Load(key); ok {
		return h.(template.HTML), key.k
	}
	tf, yf := fields()
	var buf bytes.Buffer
	f := s.pages.frags
	f.mu.Lock() // as fragments.render: the first execution escapes the templates
	err := f.t.ExecuteTemplate(&buf, "field", tf)
	if err == nil {
		buf.WriteString("\n  ") // as between the two in the page template
		err = f.t.ExecuteTemplate(&buf, "field", yf)
	}
	f.mu.Unlock()
	if err != nil {
		return "", "" // the page template draws them and reports the error
	}
	h := template.HTML(buf.String()) //nolint:gosec // html/template output
	searchFieldsCache.Store(key, h)
	return h, key.k
}

// statementBufs are the list page's statement slices, reused between
// requests (statements.Queries.ListByPayeeInto).
var statementBufs = sync.Pool{New: func() any { b := make([]statements.Statement, 0, 32); return &b }}

type searchFieldsKey struct {
	p *pages
	k string
}

var searchFieldsCache sync.Map // searchFieldsKey → template.HTML

// windowYears are the years the display windows reach back to, latest
// first (the year choice of the form). They start at the latest year a
// statement may be dated in (next year), so a slip ending in January that
// "Semua tahun" lists can be chosen by its year too.
func (s *Site) windowYears(now time.Time) []int {
	now = now.In(calendar.Melaka)
	w := s.deps.Payments.Windows
	first := min(w.FirstYear(statement.SlipGajiBulanan, now), w.FirstYear(statement.PenyataPendapatanTahunan, now))
	var out []int
	for y := statement.LatestYear(now); y >= first; y-- {
		out = append(out, y)
	}
	return out
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// statementFields builds the Urusniaga and Tahun drop-downs.
func (s *Site) statementFields(l i18n.Lang, f *Form, years []int) (FieldView, FieldView) {
	tf := FieldView{Name: "urusniaga", ID: "f-urusniaga", Label: i18n.T(l, "label.urusniaga"), Type: "select",
		Required: true, RequiredText: i18n.T(l, "label.required"), ErrorPrefix: i18n.T(l, "err.prefix"), EmptyOption: i18n.T(l, "label.choose")}
	if msg, ok := f.Error("urusniaga"); ok {
		tf.Error = msg.In(l)
	}
	for _, t := range urusniagaOrder {
		tf.Options = append(tf.Options, OptionView{Value: string(t), Label: typeLabel(l, t), Selected: f.Get("urusniaga") == string(t)})
	}
	yf := FieldView{Name: "tahun", ID: "f-tahun", Label: i18n.T(l, "stmt.label.year"), Type: "select",
		ErrorPrefix: i18n.T(l, "err.prefix"), EmptyOption: i18n.T(l, "stmt.year.all")}
	if msg, ok := f.Error("tahun"); ok {
		yf.Error = msg.In(l)
	}
	for _, y := range years {
		v := strconv.Itoa(y)
		yf.Options = append(yf.Options, OptionView{Value: v, Label: v, Selected: f.Get("tahun") == v})
	}
	return tf, yf
}

// slipData is the HTML view of one statement.
type slipData struct {
	Title          string
	Period         string
	Employer       []kv
	Employee       []kv
	EarningLines   []slipLine
	DeductionLines []slipLine
	Earnings       string
	Deductions     string
	NetLabel       string
	Net            string
	Revision       string // the correction note, or ""
	Corrections    []slipCorrection
	Code           string
	VerifyURL      string
	PDFURL         string
	SaveURL        string
	BackURL        string
}

// slipLine is one earnings or deduction line.
type slipLine struct {
	Name, Amount string
}

// slipCorrection is one earlier correction of a slip: "Semakan ke-2
// 10/03/2026" and the payroll's reason, in Malay whatever the page's
// language.
type slipCorrection struct {
	Heading, Reason string
}

// statementView is the HTML slip: every field of the PDF, laid out for a
// phone.
func (s *Site) statementView(c *gin.Context) {
	st, ok := s.ownStatement(c)
	if !ok {
		return
	}
	l := i18n.From(c)
	base := pathWith(PathStatementView, "id", st.ID)
	p, e := st.Payee, st.Employer
	data := &slipData{
		Title:  typeLabel(l, st.Type),
		Period: periodLabel(l, st.Period),
		Employer: kvs(l,
			kv{Label: "stmt.label.employer", Value: e.Name, Malay: true},
			kv{Label: "stmt.label.paying_dept", Value: e.Department, Malay: true},
			kv{Label: "stmt.label.address", Value: e.Address, Malay: true},
			kv{Label: "stmt.label.employer_no", Value: e.EmployerNo, Mono: true},
		),
		Employee: kvs(l,
			kv{Label: "label.name", Value: p.Name},
			kv{Label: "label.ic", Value: formatIC(p.IC), Mono: true},
			kv{Label: "stmt.label.staff_no", Value: p.StaffNo, Mono: true},
			kv{Label: "stmt.label.pay_no", Value: p.PayNo, Mono: true},
			kv{Label: "label.department", Value: p.Department, Malay: true},
			kv{Label: "stmt.label.post", Value: p.Post, Malay: true},
			kv{Label: "stmt.label.grade", Value: p.Grade},
			kv{Label: "stmt.label.bank", Value: p.BankName, Malay: true},
			kv{Label: "stmt.label.bank_account", Value: p.BankAccount, Mono: true},
			kv{Label: "stmt.label.tax_no", Value: p.TaxNo, Mono: true},
			kv{Label: "stmt.label.epf_no", Value: p.EPFNo, Mono: true},
			kv{Label: "stmt.col.period", Value: periodLabel(l, st.Period)},
			kv{Label: "stmt.col.pay_date", Value: dmy(st.PayDate)},
			kv{Label: "stmt.label.document_no", Value: st.ID, Mono: true},
		),
		Earnings:   ringgit(st.Totals.EarningsSen),
		Deductions: ringgit(st.Totals.DeductionsSen),
		NetLabel:   i18n.T(l, netKey(st.Type)),
		Net:        ringgit(st.Totals.NetSen),
		Code:       verifycode.Format(st.Code),
		VerifyURL:  pathWith(PathVerifyCode, "code", verifycode.Format(st.Code)),
		PDFURL:     base + "/dokumen.pdf",
		SaveURL:    base + "/dokumen.pdf?" + queryDownload + "=1",
	}
	// Back to the page and the year of the list the statement was opened
	// from; a year the list would refuse for this type is dropped.
	now := s.deps.Payments.Now()
	inWindow := func(y int) bool {
		return containsInt(s.windowYears(now), y) && y >= s.deps.Payments.Windows.FirstYear(st.Type, now)
	}
	data.BackURL = PathPenyataGaji + "?" + placeParam(c, inWindow).query(url.Values{"urusniaga": {string(st.Type)}}).Encode()
	for _, ln := range st.Earnings {
		data.EarningLines = append(data.EarningLines, slipLine{Name: lineName(ln), Amount: ringgit(ln.AmountSen)})
	}
	for _, ln := range st.Deductions {
		data.DeductionLines = append(data.DeductionLines, slipLine{Name: lineName(ln), Amount: ringgit(ln.AmountSen)})
	}
	if st.Revision > 1 {
		data.Revision = i18n.Tf(l, "stmt.corrected_note", st.Revision)
		for _, cr := range st.Corrections {
			data.Corrections = append(data.Corrections, slipCorrection{
				Heading: i18n.Tf(l, "stmt.revision_n", cr.Revision) + " " + cr.At.In(calendar.Melaka).Format("02/01/2006"),
				Reason:  cr.Reason,
			})
		}
	}
	s.Render(c, http.StatusOK, "statements_slip", Page{Title: "stmt.title.slip", TitleDetail: data.Title + " " + data.Period, Data: data})
}

func lineName(ln statement.Line) string {
	if ln.Code != "" {
		return ln.Code + " " + ln.Name
	}
	return ln.Name
}

// formatIC prints 12 digits as YYMMDD-PB-###G.
func formatIC(ic string) string {
	if len(ic) != 12 {
		return ic
	}
	return ic[:6] + "-" + ic[6:8] + "-" + ic[8:]
}

// statementPDF is the MuatTurun document, drawn whole before anything is
// sent.
func (s *Site) statementPDF(c *gin.Context) {
	st, ok := s.ownStatement(c)
	if !ok {
		return
	}
	d := s.deps.Payments
	var buf bytes.Buffer
	if err := d.Reports.Statement(&buf, st, d.Now()); err != nil {
		reportFailed(c, "statement", err)
		return
	}
	sendPDF(c, &buf, statementFileName(st))
}

// statementFileName: "slip-gaji-bulanan-2025-02.pdf",
// "slip-gaji-mingguan-2025-01-06.pdf", "penyata-pendapatan-tahunan-2024.pdf".
func statementFileName(st statements.Statement) string {
	p := st.Period
	switch {
	case p.From != "":
		return fileName(string(st.Type), p.From)
	case p.Month != 0:
		return fileName(string(st.Type), fmt.Sprintf("%04d-%02d", p.Year, p.Month))
	}
	return fileName(string(st.Type), strconv.Itoa(p.Year))
}

// ownStatement reads the statement named in the path if it is the
// logged-in person's and within its display window; otherwise 404.
func (s *Site) ownStatement(c *gin.Context) (statements.Statement, bool) {
	d := s.deps.Payments
	u, _ := session.User(c)
	st, err := d.Statements.Get(c.Request.Context(), u.UserID, c.Param("id"), d.Now())
	switch {
	case errors.Is(err, statements.ErrNotFound):
		httpx.Abort(c, httpx.ErrNotFound)
		return st, false
	case err != nil:
		httpx.Abort(c, err)
		return st, false
	}
	return st, true
}
