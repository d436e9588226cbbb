package web

import (
	"bytes"
	"html/template"
	"slices"
	"strings"
	"sync"
)

// The layout halves ("page-top", "page-bottom") are the same for every
// request with one page title, language, login state, role set and current
// menu item. Rendering them through html/template costs several times more
// than a small page's own content (every action is a few reflective
// calls), so each is rendered once per such key, with markers standing in
// for the few values that differ per request (the user's name and
// department, the language link, the CSRF token of the logout form); the
// markers are then replaced by the escaped values.
type fragments struct {
	t     *template.Template // layout templates only
	mu    sync.Mutex         // html/template executes its escaper once, on first use
	cache sync.Map           // key → string
}

// Markers: plain words so that html/template leaves them unchanged in text
// and in attribute values.
const (
	markCSRF    = "@@ispeks-csrf@@"
	markName    = "@@ispeks-name@@"
	markDept    = "@@ispeks-dept@@"
	markLangURL = "@@ispeks-langurl@@"
	markTitle   = "@@ispeks-title@@" // the page's TitleDetail
)

// menuCurrent is the menu path the request path belongs to ("" if none):
// the only part of the path the layout depends on.
func menuCurrent(path string) string {
	best := ""
	var walk func([]MenuItem)
	walk = func(items []MenuItem) {
		for _, it := range items {
			// path is it.Path or below it (no it.Path+"/" built: every
			// page runs this twice).
			under := it.Path != "/" && len(path) > len(it.Path) && path[len(it.Path)] == '/' && strings.HasPrefix(path, it.Path)
			if it.Path != "" && (path == it.Path || under) && len(it.Path) > len(best) {
				best = it.Path
			}
			walk(it.Children)
		}
	}
	walk(menu)
	return best
}

// render writes layout template name for v into w.
func (f *fragments) render(w *bytes.Buffer, name string, v *View) error {
	cur := menuCurrent(v.Path)
	var roles []string
	if v.User != nil && len(v.User.Roles) > 0 {
		roles = slices.Clone(v.User.Roles)
		slices.Sort(roles)
	}
	logged := "0"
	if v.User != nil {
		logged = "1"
	}
	// The title's words: "Ralat:" before it, or the error page's error;
	// the document a page names is a marker, so the cache holds one entry
	// per page, not one per voucher or slip.
	detail := ""
	if v.TitleDetail != "" {
		detail = markTitle
	}
	key := strings.Join([]string{name, string(v.Lang), logged, strings.Join(roles, ","), cur, v.pageTitle(detail)}, "|")
	cached, ok := f.cache.Load(key)
	if !ok {
		fv := *v
		fv.CSRF, fv.LangURL, fv.Path, fv.TitleDetail = markCSRF, markLangURL, cur, detail
		if v.User != nil {
			u := *v.User
			u.Name, u.Department, u.UserID, u.Roles = markName, markDept, "", roles
			fv.User = &u
		}
		var buf bytes.Buffer
		f.mu.Lock()
		err := f.t.ExecuteTemplate(&buf, name, &fv)
		f.mu.Unlock()
		if err != nil {
			return err
		}
		cached = split(squeezeSpace(buf.String()))
		f.cache.Store(key, cached)
	}
	for _, p := range cached.([]piece) {
		if p.mark == "" || !fillView(w, v, p.mark) {
			w.WriteString(p.text)
		}
	}
	return nil
}

// fillView writes the value of one of the view's own markers (the layout's,
// and those of a cached content block: see cachedPieces), escaped as the
// template would; false for any other marker.
func fillView(w *bytes.Buffer, v *View, mark string) bool {
	hb := (*htmlBuf)(w) // escapes as template.HTMLEscape, without a []byte copy
	switch mark {
	case markCSRF:
		hb.text(v.CSRF)
	case markLangURL:
		hb.text(v.LangURL)
	case markTitle:
		hb.text(v.TitleDetail)
	case markName:
		if v.User != nil {
			hb.text(v.User.Name)
		}
	case markDept:
		if v.User != nil {
			hb.text(v.User.Department)
		}
	default:
		return false
	}
	return true
}

// piece is literal text, or a marker to fill in.
type piece struct {
	text string
	mark string
}

var markers = []string{markCSRF, markName, markDept, markLangURL, markTitle}

// split cuts rendered HTML at its markers.
func split(s string) []piece {
	var out []piece
	for {
		i := strings.Index(s, "@@ispeks-")
		if i < 0 {
			return append(out, piece{text: s})
		}
		found := ""
		for _, m := range markers {
			if strings.HasPrefix(s[i:], m) {
				found = m
			}
		}
		if found == "" { // not ours: keep the text as is
			out = append(out, piece{text: s[:i+2]})
			s = s[i+2:]
			continue
		}
		out = append(out, piece{text: s[:i]}, piece{mark: found})
		s = s[i+len(found):]
	}
}

// squeezeSpace drops the templates' indentation and blank lines from HTML
// that is drawn once and sent many times: each run of white space that
// holds a line break becomes that line break alone. A browser shows the
// page the same (white space between words and tags collapses anyway);
// HTML with preformatted text is left as it is.
func squeezeSpace(s string) string {
	if strings.Contains(s, "<pre") || strings.Contains(s, "<textarea") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			b.WriteByte(c)
			i++
			continue
		}
		j, newline := i, false
		for j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r') {
			newline = newline || s[j] == '\n'
			j++
		}
		if newline {
			b.WriteByte('\n')
		} else {
			b.WriteString(s[i:j])
		}
		i = j
	}
	return b.String()
}
