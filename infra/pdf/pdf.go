// Package pdf renders the portal's printable documents with go-pdf/fpdf
// (pure Go, no cgo): the payment status report ("Maklumat terperinci" and
// its status history) and every kind of statement (pay slips, bonus,
// special aid, Borang EC). Each carries the state government header, every
// field, totals, the time it was generated and its verification code.
//
// Text is set in the PDF core fonts, whose encoding is Windows-1252: names
// with Latin accents print as they are, other letters are transliterated
// (ā → a; decomposed accents are composed first), lookalike punctuation
// takes the code page's (ʼ → ’), invisible marks are dropped and anything
// else (Chinese, Tamil, Jawi) becomes "?".
package pdf

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"github.com/go-pdf/fpdf"
	"github.com/skip2/go-qrcode"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"

	"github.com/melaka-gov/ispeks/domain/calendar"
)

// Header is the state government header on every page.
const Header = "Kerajaan Negeri Melaka — Jabatan Kewangan dan Perbendaharaan Negeri Melaka"

// Renderer renders documents. It is safe for concurrent use.
type Renderer struct {
	// VerifyURL is the public address of the verification page; the code is
	// appended ("https://ispeks.melaka.gov.my/sahkan/"). Empty: the page
	// prints the code only.
	VerifyURL string
	// QR adds a QR code of the verification address (when VerifyURL is
	// set). It roughly doubles the rendering time (go-qrcode tries all eight
	// masks), so it is off unless asked for.
	QR bool
}

// ErrNoCode: a document without a verification code cannot be printed.
var ErrNoCode = errors.New("pdf: document has no verification code")

// ErrRender: the PDF library failed while drawing (a panic inside it). The
// page then says "Laporan tidak dapat dipaparkan" with an incident ID, as
// for any report failure, not the generic "Sistem tidak dapat diakses".
var ErrRender = errors.New("pdf: rendering failed")

// recoverRender turns a panic while drawing into ErrRender in *err.
func recoverRender(err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("%w: %v", ErrRender, p)
	}
}

// Page geometry in millimetres (A4 portrait).
const (
	pageW   = 210.0
	margin  = 15.0
	bodyW   = pageW - 2*margin
	lineH   = 5.0
	labelW  = 48.0
	footerH = 30.0
)

// doc is one document being drawn.
type doc struct {
	f *fpdf.Fpdf
	// head is the heading row of the table being drawn, repeated at the
	// top of each page the table runs on to (nil outside tables), in the
	// fill colour it was begun with.
	head     []cell
	headFill [3]int
	// kept are the headings (a section's, a table's) not drawn yet: they
	// are drawn with the row that follows them, on the next page if the
	// row does not fit, so that no heading stands alone at the foot of a
	// page.
	kept []kept
}

// kept is a heading waiting for the row under it: its height and how to
// draw it.
type kept struct {
	h    float64
	draw func()
}

// tableHead draws a table's heading row (with the first row under it) and
// repeats it on every page the table continues on, until endTable.
func (d *doc) tableHead(cells []cell) {
	r, g, b := d.f.GetFillColor()
	d.head, d.headFill = cells, [3]int{r, g, b}
	lines, sizes, h := d.layout(cells)
	d.kept = append(d.kept, kept{h: h, draw: func() { d.drawHead(lines, sizes, h) }})
}

// drawHead draws the table's heading row in its own fill colour.
func (d *doc) drawHead(lines [][]string, sizes []float64, h float64) {
	r, g, b := d.f.GetFillColor()
	d.f.SetFillColor(d.headFill[0], d.headFill[1], d.headFill[2])
	d.draw(d.head, lines, sizes, h)
	d.f.SetFillColor(r, g, b)
}

func (d *doc) endTable() { d.head = nil }

func (r Renderer) newDoc(title string, generatedAt time.Time, code string) (*doc, error) {
	if code == "" {
		return nil, ErrNoCode
	}
	f := fpdf.New("P", "mm", "A4", "")
	f.SetMargins(margin, margin, margin)
	f.SetAutoPageBreak(true, footerH)
	f.SetCreationDate(generatedAt)
	f.SetModificationDate(generatedAt)
	f.SetCatalogSort(true)
	// Uncompressed: a slip is ~15 KB instead of ~4 KB, and rendering is about
	// 40% faster (fpdf allocates a new zlib writer, ~1 MB, per stream).
	f.SetCompression(false)
	f.SetTitle(title, true)
	f.SetAuthor("Kerajaan Negeri Melaka", true)
	f.SetCreator("Portal iSPEKS", true)
	f.AliasNbPages("{nb}")
	d := &doc{f: f}
	verify := ""
	if r.VerifyURL != "" {
		verify = r.VerifyURL + code
	}
	var qr [][]bool
	if r.QR && verify != "" {
		code, err := qrcode.New(verify, qrcode.Medium)
		if err != nil {
			return nil, fmt.Errorf("pdf: QR code: %w", err)
		}
		code.DisableBorder = true
		qr = code.Bitmap()
	}
	f.SetHeaderFunc(func() {
		f.SetFont("Helvetica", "B", 11)
		f.CellFormat(bodyW, 6, tr(Header), "", 1, "C", false, 0, "")
		f.SetFont("Helvetica", "", 8)
		f.CellFormat(bodyW, 4, "Portal iSPEKS", "", 1, "C", false, 0, "")
		y := f.GetY() + 1
		f.Line(margin, y, pageW-margin, y)
		f.SetY(y + 3)
	})
	f.SetFooterFunc(func() {
		f.SetY(-footerH + 4)
		top := f.GetY()
		f.Line(margin, top, pageW-margin, top)
		textW := bodyW
		if qr != nil {
			textW -= 22
			drawQR(f, qr, pageW-margin-20, top+1.5, 20)
		}
		f.SetXY(margin, top+1.5)
		f.SetFont("Helvetica", "B", 8)
		f.CellFormat(textW, 4, tr("Kod pengesahan: "+formatCode(code)), "", 1, "L", false, 0, "")
		f.SetFont("Helvetica", "", 8)
		if verify != "" {
			f.CellFormat(textW, 4, tr("Semak ketulenan dokumen di "+verify), "", 1, "L", false, 0, "")
		}
		f.CellFormat(textW, 4, tr("Dijana pada "+generatedAt.In(calendar.Melaka).Format("02/01/2006 15:04:05")+" (waktu Malaysia)"), "", 1, "L", false, 0, "")
		f.CellFormat(textW, 4, tr("Dokumen ini dicetak oleh komputer; tandatangan tidak diperlukan."), "", 1, "L", false, 0, "")
		f.CellFormat(textW, 4, fmt.Sprintf("Muka surat %d/{nb}", f.PageNo()), "", 1, "L", false, 0, "")
	})
	f.AddPage()
	return d, nil
}

// title prints the document title and its subtitle.
func (d *doc) title(title, subtitle string) {
	d.f.SetFont("Helvetica", "B", 13)
	d.f.CellFormat(bodyW, 7, tr(title), "", 1, "C", false, 0, "")
	if subtitle != "" {
		d.f.SetFont("Helvetica", "", 10)
		d.f.CellFormat(bodyW, 5, tr(subtitle), "", 1, "C", false, 0, "")
	}
	d.f.Ln(3)
}

// section prints a shaded section heading, with the row that follows it.
func (d *doc) section(text string) {
	d.kept = append(d.kept, kept{h: 8, draw: func() {
		d.f.Ln(1)
		d.f.SetFont("Helvetica", "B", 9)
		r, g, b := d.f.GetFillColor()
		d.f.SetFillColor(225, 232, 240)
		d.f.CellFormat(bodyW, 6, tr(text), "", 1, "L", true, 0, "")
		d.f.SetFillColor(r, g, b)
		d.f.Ln(1)
	}})
}

// kv prints "label : value" rows, skipping empty values; long values wrap.
func (d *doc) kv(rows ...[2]string) {
	for _, r := range rows {
		if strings.TrimSpace(r[1]) == "" {
			continue
		}
		d.row([]cell{{w: labelW, text: r[0], style: "B"}, {w: bodyW - labelW, text: r[1]}})
	}
}

type cell struct {
	w      float64
	text   string
	style  string // "", "B"
	align  string // "L" (default), "R", "C"
	border string
	fill   bool
	// fit keeps the text on one line, set smaller if it must be: an amount
	// wrapped inside its digits ("1,000,000,000.0" over "0") reads as
	// another amount.
	fit bool
}

// row prints cells side by side; each wraps within its width and the row
// is as tall as its tallest cell. The headings kept for it are drawn first,
// on the same page.
func (d *doc) row(cells []cell) { d.rowKeeping(cells, 0) }

// rowKeeping prints a row as row does, on a new page unless the next
// after millimetres fit under it as well: the table's last line before
// its totals, so that the totals never start a page on their own.
func (d *doc) rowKeeping(cells []cell, after float64) {
	f := d.f
	lines, sizes, h := d.layout(cells)
	need := h + after
	for _, k := range d.kept {
		need += k.h
	}
	_, pageH := f.GetPageSize()
	if f.GetY()+need > pageH-footerH {
		f.AddPage()
		// A table running on: its heading again (one just begun is among
		// the kept headings).
		if d.head != nil && len(d.kept) == 0 {
			hl, hs, hh := d.layout(d.head)
			d.drawHead(hl, hs, hh)
		}
	}
	d.flushKept()
	d.draw(cells, lines, sizes, h)
}

// flushKept draws the headings kept for a row.
func (d *doc) flushKept() {
	kept := d.kept
	d.kept = nil
	for _, k := range kept {
		k.draw()
	}
}

// layout wraps each cell's text to its width: the lines, the font size of
// each cell and the row's height.
func (d *doc) layout(cells []cell) ([][]string, []float64, float64) {
	f := d.f
	lines := make([][]string, len(cells))
	sizes := make([]float64, len(cells))
	n := 1
	for i, c := range cells {
		f.SetFont("Helvetica", c.style, 9)
		sizes[i] = 9
		if c.fit {
			text := tr(c.text)
			lines[i] = []string{text}
			if w, room := f.GetStringWidth(text), c.w-2*f.GetCellMargin(); w > room {
				sizes[i] = 9 * room / w
			}
			continue
		}
		lines[i] = splitText(f, tr(c.text), c.w-2)
		if len(lines[i]) == 0 {
			lines[i] = []string{""}
		}
		n = max(n, len(lines[i]))
	}
	return lines, sizes, float64(n) * lineH
}

// draw prints a laid-out row where the page's cursor is.
func (d *doc) draw(cells []cell, lines [][]string, sizes []float64, h float64) {
	f := d.f
	x, y := f.GetX(), f.GetY()
	for i, c := range cells {
		f.SetFont("Helvetica", c.style, sizes[i])
		align := c.align
		if align == "" {
			align = "L"
		}
		switch {
		case c.fill:
			f.Rect(x, y, c.w, h, "DF")
		case c.border != "":
			f.Rect(x, y, c.w, h, "D")
		}
		for j, l := range lines[i] {
			f.SetXY(x, y+float64(j)*lineH)
			f.CellFormat(c.w, lineH, l, "", 0, align, false, 0, "")
		}
		x += c.w
	}
	f.SetXY(margin, y+h)
}

func (d *doc) output(w io.Writer) error {
	d.flushKept() // a heading with nothing under it (not drawn by the renderers)
	if err := d.f.Error(); err != nil {
		return fmt.Errorf("pdf: %w", err)
	}
	if err := d.f.Output(w); err != nil {
		return fmt.Errorf("pdf: %w", err)
	}
	return nil
}

// cp1252 maps the runes Windows-1252 can show to their bytes.
var cp1252 = func() map[rune]byte {
	m := make(map[rune]byte, 128)
	for b := 0x80; b <= 0xFF; b++ {
		if r := charmap.Windows1252.DecodeByte(byte(b)); r != unicode.ReplacementChar {
			m[r] = byte(b)
		}
	}
	return m
}()

// fold prints runes the code page lacks, or that fpdf mishandles, as the
// code page's bytes for what they stand for. The modifier apostrophes are how some keyboards
// type the hamzah in names (Ja'afar, Qur'ani); the hyphens and minus come
// from word processors. The ellipsis is in the code page, but fpdf's line
// breaking takes its byte (0x85, NEXT LINE in Unicode) for a space and
// drops it where a line wraps.
var fold = map[rune]string{
	'\u02BC': "\x92", '\u02BB': "\x91", '\u02B9': "'", '\u2032': "'", '\u2033': "\"", // ’ ‘ ' ' "
	'\u2010': "-", '\u2011': "-", '\u2012': "\x96", '\u2212': "-", '\u2015': "\x97", // - - – - —
	'\u2026': "...",
}

// tr turns UTF-8 text into the core fonts' Windows-1252 bytes. A rune the
// code page lacks is printed as its lookalike (fold), without its accents
// if that helps (ā → a), else as "?"; control characters and other spaces
// become spaces, invisible format characters and accents no letter of the
// code page carries are dropped. Decomposed accents (e + U+0301) are
// composed first.
func tr(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] < 0x20 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	// Composed first: an accent typed or stored as a mark of its own
	// ("e" then U+0301) is the letter's (é), as the code page has it.
	s = norm.NFC.String(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x20 || r == 0x7f:
			b.WriteByte(' ')
		case r < 0x80:
			b.WriteRune(r)
		case unicode.Is(unicode.Cf, r):
			// Invisible marks pasted in with a name (zero-width space,
			// byte-order mark, soft hyphen): nothing to print, and "?" in
			// the middle of a name would be wrong.
		case unicode.Is(unicode.Mn, r) && cp1252[r] == 0:
			// An accent left over that no letter of the code page carries
			// (a dot below): the letter prints without it, as ā prints a.
		case fold[r] != "":
			b.WriteString(fold[r])
		case unicode.Is(unicode.Zs, r) && r != 0xA0:
			b.WriteByte(' ')
		default:
			if c, ok := cp1252[r]; ok {
				b.WriteByte(c)
				continue
			}
			// Decompose and keep the base letters the code page has.
			wrote := false
			for _, p := range norm.NFD.String(string(r)) {
				if p < 0x80 {
					b.WriteRune(p)
					wrote = true
				} else if c, ok := cp1252[p]; ok {
					b.WriteByte(c)
					wrote = true
				}
			}
			if !wrote {
				b.WriteByte('?')
			}
		}
	}
	return b.String()
}

// Ringgit formats sen as ringgit with thousands separators: 123456 →
// "1,234.56" (for the HTML slip too, so both print money alike).
func Ringgit(sen int64) string {
	neg := sen < 0
	if neg {
		sen = -sen
	}
	whole, frac := sen/100, sen%100
	digits := fmt.Sprint(whole)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	fmt.Fprintf(&b, ".%02d", frac)
	return b.String()
}

// dmy prints an ISO date as DD/MM/YYYY (anything else as it is).
func dmy(iso string) string {
	t, err := time.Parse("2006-01-02", iso)
	if err != nil {
		return iso
	}
	return t.Format("02/01/2006")
}

// formatIC prints a 12-digit IC number as YYMMDD-PB-###G.
func formatIC(ic string) string {
	if len(ic) != 12 {
		return ic
	}
	return ic[:6] + "-" + ic[6:8] + "-" + ic[8:]
}

// formatCode groups a verification code in fours.
func formatCode(code string) string {
	var b strings.Builder
	for i, r := range code {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// splitText wraps Windows-1252 text to width w. fpdf's SplitText reads its
// input as UTF-8 runes indexing the font's 256 widths, so each byte goes in
// as the rune of the same number and comes back out as a byte.
func splitText(f *fpdf.Fpdf, s string, w float64) []string {
	rs := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		rs[i] = rune(s[i])
	}
	lines := f.SplitText(string(rs), w)
	for i, l := range lines {
		b := make([]byte, 0, len(l))
		for _, r := range l {
			b = append(b, byte(r))
		}
		lines[i] = string(b)
	}
	return lines
}

// drawQR draws a QR bitmap as filled rectangles (one per run of dark
// modules in a row): sharper and much cheaper than an embedded image.
func drawQR(f *fpdf.Fpdf, bm [][]bool, x, y, size float64) {
	if len(bm) == 0 {
		return
	}
	m := size / float64(len(bm))
	r, g, bl := f.GetFillColor()
	defer f.SetFillColor(r, g, bl)
	f.SetFillColor(0, 0, 0)
	for i, row := range bm {
		for j := 0; j < len(row); {
			if !row[j] {
				j++
				continue
			}
			k := j
			for k < len(row) && row[k] {
				k++
			}
			f.Rect(x+float64(j)*m, y+float64(i)*m, float64(k-j)*m, m, "F")
			j = k
		}
	}
}
