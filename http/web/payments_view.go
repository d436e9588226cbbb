package web

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/domain/statement"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/i18n"
	"github.com/melaka-gov/ispeks/infra/pdf"
)

// Helpers shared by the payment, statement and verification pages. Rows
// are formatted here, once, so that each table row costs the template only
// a few plain field prints.

// escapeSegment escapes a value for one path segment (payment and
// statement IDs may hold ':', '@', '+', '=').
func escapeSegment(v string) string { return url.PathEscape(v) }

// ringgit prints sen as "1,234.56".
func ringgit(sen int64) string { return pdf.Ringgit(sen) }

// dmy prints an ISO date as DD/MM/YYYY ("" stays "").
func dmy(iso string) string {
	if iso == "" {
		return ""
	}
	t, err := time.Parse(time.DateOnly, iso)
	if err != nil {
		return iso
	}
	return t.Format("02/01/2006")
}

var monthsEN = [...]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}

// periodLabel is a statement's period in the page's language: "Januari
// 2025" / "January 2025", "06/01/2025 - 12/01/2025", "Tahun 2024" / "Year
// 2024".
func periodLabel(l i18n.Lang, p statement.Period) string {
	if l != i18n.EN || p.From != "" {
		return p.Label()
	}
	if p.Month >= 1 && p.Month <= 12 {
		return monthsEN[p.Month-1] + " " + strconv.Itoa(p.Year)
	}
	return "Year " + strconv.Itoa(p.Year)
}

// typeLabel is a statement type's name in the page's language.
func typeLabel(l i18n.Lang, t statement.Type) string {
	if txt, ok := i18n.Lookup("stmt.type." + string(t)); ok {
		return txt.In(l)
	}
	return t.Label()
}

// netKey is the catalog key of a statement's net line: "Gaji Bersih" on
// pay slips, "Pendapatan Bersih" on Borang EC, "Jumlah Bersih" elsewhere
// (as on the PDF).
func netKey(t statement.Type) string {
	switch t {
	case statement.SlipGajiBulanan, statement.SlipGajiMingguan, statement.SlipGajiSambilan:
		return "stmt.net.slip"
	case statement.PenyataPendapatanTahunan:
		return "stmt.net.annual"
	}
	return "stmt.net.other"
}

// cursorParam reads the next-page cursor. ok is false for one that cannot
// be a cursor (too long, control characters): the request is refused
// rather than passed to the store.
func cursorParam(c *gin.Context) (string, bool) {
	v := c.Query(queryAfter)
	if len(v) > maxCursor {
		return "", false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x21 || v[i] > 0x7e {
			return "", false
		}
	}
	return v, true
}

// startParam is the row number the page starts at (1 on the first page;
// carried in the "next" link so that Bil. runs on across pages).
func startParam(c *gin.Context) int {
	n, err := strconv.Atoi(c.Query("mula"))
	if err != nil || n < 1 || n > 1_000_000 {
		return 1
	}
	return n
}

// reportFailed shows "Laporan tidak dapat dipaparkan" with an incident ID
// and the helpdesk contacts; the responder logs the incident beside the
// error (IC numbers redacted). The wrapped error names only the kind of
// document, never whose it is.
func reportFailed(c *gin.Context, kind string, err error) {
	httpx.Abort(c, fmt.Errorf("%w: %s: %w", httpx.ErrReport, kind, err))
}

// pdfCSP replaces the pages' policy on a PDF: a browser's PDF viewer is
// an embedded plugin document, which object-src 'none' would block. The
// PDF can still not be framed by anyone.
const pdfCSP = "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// sendPDF answers with a rendered PDF: shown in the browser (inline) so
// the person sees it before printing, or saved (attachment) with
// ?muat-turun=1.
func sendPDF(c *gin.Context, doc *bytes.Buffer, filename string) {
	disp := "inline"
	if c.Query(queryDownload) == "1" {
		disp = "attachment"
	}
	h := c.Writer.Header()
	h.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": filename}))
	h.Set("Content-Security-Policy", pdfCSP)
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Length", strconv.Itoa(doc.Len()))
	c.Data(http.StatusOK, "application/pdf", doc.Bytes())
}

// fileName keeps a PDF's file name to letters, digits, '.', '-' and '_'.
func fileName(parts ...string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('-')
		}
		for _, r := range p {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
				b.WriteRune(r)
			default:
				b.WriteByte('_')
			}
		}
	}
	return b.String() + ".pdf"
}

// kv is one "label: value" line of a details list.
type kv struct {
	Label string // a catalog key; kvs puts the text in its place
	Value string
	Mono  bool // codes and numbers set in a fixed-width face
	// Malay: the finance systems' or the master's own words (a description,
	// a post, a department), Malay on the English page too, marked so for a
	// screen reader's voice.
	Malay bool
}

// kvs drops the lines without a value and puts each label in the page's
// language (here, once, rather than a template call per line).
func kvs(l i18n.Lang, lines ...kv) []kv {
	out := lines[:0]
	for _, ln := range lines {
		if strings.TrimSpace(ln.Value) != "" {
			ln.Label = i18n.T(l, ln.Label)
			out = append(out, ln)
		}
	}
	return out
}

// htmlBuf builds trusted HTML from fixed markup and escaped values: raw
// takes only the markup written in this package, text escapes everything
// else (element content and double-quoted attribute values alike).
//
// It is a bytes.Buffer under another name, so that the rows of a list can
// be written straight into the page's buffer ((*htmlBuf)(buf)) instead of
// into a string of their own that the page then copies.
type htmlBuf bytes.Buffer

func (b *htmlBuf) buf() *bytes.Buffer   { return (*bytes.Buffer)(b) }
func (b *htmlBuf) WriteString(s string) { b.buf().WriteString(s) }
func (b *htmlBuf) Write(p []byte)       { b.buf().Write(p) }
func (b *htmlBuf) Grow(n int)           { b.buf().Grow(n) }
func (b *htmlBuf) String() string       { return b.buf().String() }

func (b *htmlBuf) raw(markup string) { b.WriteString(markup) }

// text writes v escaped as template.HTMLEscapeString escapes it, straight
// into the buffer (no string per escaped value, no character-set scan).
func (b *htmlBuf) text(v string) { b.Write(appendText(b.buf().AvailableBuffer(), v)) }

// appendText appends v escaped as text writes it. Most values need no
// escape: a table lookup per byte finds the next one that does, and the
// run before it is appended at once. The append functions build a whole
// list row in the page buffer's free space (AvailableBuffer), which one
// Write then keeps: cheaper than a buffer write per piece.
func appendText(dst []byte, v string) []byte {
	last := 0
	for i := 0; i < len(v); i++ {
		if !htmlSpecial[v[i]] {
			continue
		}
		dst = append(dst, v[last:i]...)
		dst = append(dst, htmlEscapes[v[i]]...)
		last = i + 1
	}
	return append(dst, v[last:]...)
}

// htmlEscapes are the replacements of the bytes text escapes.
var htmlEscapes = [256]string{0: "\uFFFD", '"': "&#34;", '\'': "&#39;", '&': "&amp;", '<': "&lt;", '>': "&gt;"}

var htmlSpecial = func() (t [256]bool) {
	for c, e := range htmlEscapes {
		t[c] = e != ""
	}
	return t
}()

// escapeText is v as text writes it (v itself when nothing needs escaping).
func escapeText(v string) string {
	i := 0
	for i < len(v) && !htmlSpecial[v[i]] {
		i++
	}
	if i == len(v) {
		return v
	}
	var b htmlBuf
	b.text(v)
	return b.String()
}

// The writers below print straight into the buffer what the helper of the
// same name returns (ringgit, dmy, i18n.Tf): a list row calls each a few
// times, and the string each would allocate is garbage at once.

func (b *htmlBuf) int(n int) { b.Write(strconv.AppendInt(b.buf().AvailableBuffer(), int64(n), 10)) }

// ringgit writes sen as ringgit() does: "1,234.56".
func (b *htmlBuf) ringgit(sen int64) { b.Write(appendRinggit(b.buf().AvailableBuffer(), sen)) }

func appendRinggit(dst []byte, sen int64) []byte {
	if sen == math.MinInt64 {
		return append(dst, ringgit(sen)...)
	}
	if sen < 0 {
		dst = append(dst, '-')
		sen = -sen
	}
	var d [20]byte
	digits := strconv.AppendInt(d[:0], sen/100, 10)
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, c)
	}
	frac := sen % 100
	return append(dst, '.', byte('0'+frac/10), byte('0'+frac%10))
}

// dmy writes an ISO date as dmy() does (escaped, as it may be anything).
func (b *htmlBuf) dmy(iso string) { b.Write(appendDmy(b.buf().AvailableBuffer(), iso)) }

func appendDmy(dst []byte, iso string) []byte {
	if isoDate(iso) {
		// The common case without time.Parse and Format: the same digits
		// in another order.
		dst = append(dst, iso[8:10]...)
		dst = append(dst, '/')
		dst = append(dst, iso[5:7]...)
		dst = append(dst, '/')
		return append(dst, iso[0:4]...)
	}
	t, err := time.Parse(time.DateOnly, iso)
	if iso == "" || err != nil {
		return appendText(dst, iso)
	}
	return t.AppendFormat(dst, "02/01/2006")
}

// isoDate reads a valid YYYY-MM-DD date, as time.Parse(time.DateOnly)
// accepts it.
func isoDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	num := func(t string) (int, bool) {
		n := 0
		for i := 0; i < len(t); i++ {
			if t[i] < '0' || t[i] > '9' {
				return 0, false
			}
			n = n*10 + int(t[i]-'0')
		}
		return n, true
	}
	y, oky := num(s[0:4])
	m, okm := num(s[5:7])
	d, okd := num(s[8:10])
	if !oky || !okm || !okd || m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m]
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return d <= days
}

// textf writes i18n.Tf(l, key, arg) escaped, for a text with one %s.
type textf struct {
	pre, post string // the text around its %s, escaped already
	format    string // when it is not that simple
}

func newTextf(l i18n.Lang, key string) textf {
	f := i18n.T(l, key)
	pre, post, ok := strings.Cut(f, "%s")
	if !ok || strings.Contains(pre, "%") || strings.Contains(post, "%") {
		return textf{format: f}
	}
	return textf{pre: escapeText(pre), post: escapeText(post)}
}

func (b *htmlBuf) textf(f textf, arg string) { b.Write(f.append(b.buf().AvailableBuffer(), arg)) }

func (f textf) append(dst []byte, arg string) []byte {
	if f.format != "" {
		return appendText(dst, fmt.Sprintf(f.format, arg))
	}
	dst = append(dst, f.pre...)
	dst = appendText(dst, arg)
	return append(dst, f.post...)
}

// html hands the result to a template, which inserts it as it is.
func (b *htmlBuf) html() template.HTML {
	return template.HTML(b.String()) //nolint:gosec // every value went through text()
}
