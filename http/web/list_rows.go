package web

import (
	"bytes"
	"html/template"

	"github.com/melaka-gov/ispeks/http/i18n"
)

// Markers of the cached content of a list page (cachedContent).
const (
	markRows  = "@@ispeks-rows@@"
	markNext  = "@@ispeks-next@@"
	markFirst = "@@ispeks-first@@"
)

var listMarks = []string{markRows, markNext, markFirst}

// listRows is what a list page whose content is cached (the statement list,
// the payment status list) fills in per request: its rows and pager links.
// Embedded in the page's data, it gives the cachedContent methods they share.
type listRows struct {
	Rows template.HTML // the table's rows, when drawn through the template
	// rows writes the rows into the page's buffer when the content comes
	// from the cache (fill); the template's path sets Rows from it first
	// (materialize).
	rows     func(*htmlBuf)
	NextURL  string
	FirstURL string // set on a later page
}

// shape is the part of a cached content's key that says which of the
// list's optional parts show: rows (or the "none found" text), the next
// link, the first-page link.
func (l *listRows) shape(hasRows bool) string {
	bits := []byte("000")
	if hasRows {
		bits[0] = '1'
	}
	if l.NextURL != "" {
		bits[1] = '1'
	}
	if l.FirstURL != "" {
		bits[2] = '1'
	}
	return string(bits)
}

// marked is l with markers for the values that differ between requests.
func (l listRows) marked() listRows {
	l.Rows = markRows
	if l.NextURL != "" {
		l.NextURL = markNext
	}
	if l.FirstURL != "" {
		l.FirstURL = markFirst
	}
	return l
}

func (l *listRows) marks() []string { return listMarks }

func (l *listRows) fill(w *bytes.Buffer, mark string) {
	switch mark {
	case markRows:
		if l.rows != nil && l.Rows == "" {
			l.rows((*htmlBuf)(w))
			return
		}
		w.WriteString(string(l.Rows))
	case markNext:
		attrURL(w, l.NextURL)
	case markFirst:
		attrURL(w, l.FirstURL)
	}
}

func (l *listRows) materialize() {
	if l.rows != nil && l.Rows == "" {
		var b htmlBuf
		l.rows(&b)
		l.Rows = b.html()
	}
}

// cellLabel is a list cell's column name, written into the cell itself:
// on a phone the table's rows become cards and its header row is not
// shown (app.css, .cl), so each value names its column in real text, which
// every screen reader reads whether or not the browser still treats the
// cards as a table (Safari does not); a data-label shown by CSS ::before
// would be neither selectable nor reliably read. Wider screens hide it
// and show the header row. The class name is short because every row of
// a long list carries it.
func cellLabel(l i18n.Lang, key string) string {
	return `<span class="cl">` + escapeText(i18n.T(l, key)) + `: </span>`
}
