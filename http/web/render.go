package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin/render"
)

// files holds the templates and static assets, built into the binary.
//
//go:embed templates static
var files embed.FS

// FS returns the embedded files (templates/ and static/), for tests and
// tools.
func FS() fs.FS { return files }

// pages is the Gin HTML renderer: one template set per page (the shared
// layout and partials cloned, then the page's own file), so every page can
// define its own "content" block.
type pages struct {
	sets    map[string]*template.Template
	frags   *fragments
	content sync.Map // contentKey → []piece (cachedContent)
}

var _ render.HTMLRender = (*pages)(nil)

// parsePages parses templates/layout/*.html as the base and each
// templates/pages/NAME.html as page NAME.
func parsePages(fsys fs.FS) (*pages, error) {
	base, err := template.New("layout").Funcs(template.FuncMap{
		"join":  strings.Join,
		"plus1": func(i int) int { return i + 1 },
	}).ParseFS(fsys, "templates/layout/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: layout templates: %w", err)
	}
	names, err := fs.Glob(fsys, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	fragT, err := base.Clone()
	if err != nil {
		return nil, err
	}
	p := &pages{sets: map[string]*template.Template{}, frags: &fragments{t: fragT}}
	for _, file := range names {
		name := strings.TrimSuffix(path.Base(file), ".html")
		t, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := t.ParseFS(fsys, file); err != nil {
			return nil, fmt.Errorf("web: page %s: %w", name, err)
		}
		p.sets[name] = t
	}
	return p, nil
}

// Instance implements render.HTMLRender.
func (p *pages) Instance(name string, data any) render.Render {
	return htmlPage{t: p.sets[name], p: p, name: name, data: data}
}

// cachedContent is page data whose "content" block is the same for every
// request with one key but for a few values (a table's rows, a pager's
// links). Such a block is drawn through its template once per key, with
// markers (see fragments) in place of those values, and then filled in per
// request: executing a page template costs more than the list it shows.
type cachedContent interface {
	// contentKey is "" when the page must be drawn through the template.
	contentKey() string
	// withMarkers is a copy of the data with markers for the values that
	// differ between requests of one key.
	withMarkers() any
	// fill writes the value of marker mark, escaped as the template would.
	fill(w *bytes.Buffer, mark string)
	marks() []string
}

// cachedPieces returns the content of v cut at cc's markers, drawing it on
// the first request of its key.
func (h htmlPage) cachedPieces(v *View, cc cachedContent, key string) ([]piece, error) {
	key = h.name + "|" + string(v.Lang) + "|" + key
	if got, ok := h.p.content.Load(key); ok {
		return got.([]piece), nil
	}
	mv := *v
	mv.Data = cc.withMarkers()
	// The request's own values a content block may show (a form's CSRF
	// token, the user's name and department) are markers too, as in the
	// layout (fragments): what is cached belongs to no one.
	mv.CSRF = markCSRF
	if v.User != nil {
		u := *v.User
		u.Name, u.Department, u.UserID = markName, markDept, ""
		mv.User = &u
	}
	var buf bytes.Buffer
	if err := h.t.ExecuteTemplate(&buf, "content", &mv); err != nil {
		return nil, err
	}
	pcs := splitAt(squeezeSpace(buf.String()), append(slices.Clip(cc.marks()), markCSRF, markName, markDept))
	h.p.content.Store(key, pcs)
	return pcs, nil
}

// splitAt cuts s at each occurrence of marks.
func splitAt(s string, marks []string) []piece {
	var out []piece
	for len(s) > 0 {
		at, found := -1, ""
		for _, m := range marks {
			if i := strings.Index(s, m); i >= 0 && (at < 0 || i < at) {
				at, found = i, m
			}
		}
		if at < 0 {
			return append(out, piece{text: s})
		}
		out = append(out, piece{text: s[:at]}, piece{mark: found})
		s = s[at+len(found):]
	}
	return out
}

// content writes the page's "content" block: from the cache when the
// page's data allows it (a valid form, no problem or notice shown).
func (h htmlPage) content(buf *bytes.Buffer, v *View) error {
	if cc, ok := v.Data.(cachedContent); ok && v.Problem == nil && v.Notice == "" && v.Form.Valid() {
		if key := cc.contentKey(); key != "" {
			pcs, err := h.cachedPieces(v, cc, key)
			if err != nil {
				return err
			}
			for _, p := range pcs {
				if p.mark != "" {
					if !fillView(buf, v, p.mark) {
						cc.fill(buf, p.mark)
					}
				} else {
					buf.WriteString(p.text)
				}
			}
			return nil
		}
	}
	if m, ok := v.Data.(interface{ materialize() }); ok {
		m.materialize() // the template needs the values fill would write
	}
	return h.t.ExecuteTemplate(buf, "content", v)
}

// attrURL writes a same-site URL (one starting with "/") as html/template
// writes it into an href: characters outside a URL's set percent-encoded,
// then '&' and '+' escaped for the attribute. Anything else goes through
// html/template itself.
func attrURL(w *bytes.Buffer, u string) {
	if !strings.HasPrefix(u, "/") { // a scheme is possible: html/template filters it
		var b bytes.Buffer
		_ = hrefTemplate.Execute(&b, u)
		out := b.String()
		w.WriteString(out[len(`<a href="`) : len(out)-len(`">`)])
		return
	}
	const hexDigits = "0123456789abcdef"
	isHex := func(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch {
		case c == '%' && (i+2 >= len(u) || !isHex(u[i+1]) || !isHex(u[i+2])):
			w.WriteString("%25") // not an escape: html/template encodes the '%'
		case c == '%':
			w.WriteByte(c)
		case c == '&':
			w.WriteString("&amp;")
		case c == '+':
			w.WriteString("&#43;")
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("!#$*,/:;=?@[]-._~", c) >= 0:
			w.WriteByte(c)
		default:
			w.WriteByte('%')
			w.WriteByte(hexDigits[c>>4])
			w.WriteByte(hexDigits[c&0xf])
		}
	}
}

var hrefTemplate = template.Must(template.New("href").Parse(`<a href="{{.}}">`))

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// htmlPage renders into a buffer first: a template error then becomes a
// clean error page instead of half a page.
type htmlPage struct {
	t    *template.Template
	p    *pages
	name string
	data any
}

func (h htmlPage) Render(w http.ResponseWriter) error {
	if h.t == nil {
		return fmt.Errorf("web: no page template %q", h.name)
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	v, ok := h.data.(*View)
	if !ok {
		return fmt.Errorf("web: page %s rendered without a *View", h.name)
	}
	if err := h.p.frags.render(buf, "page-top", v); err != nil {
		return fmt.Errorf("web: render %s: %w", h.name, err)
	}
	if v.Carried != "" {
		buf.WriteString(`<div class="alert alert--info" role="status"><p>`)
		template.HTMLEscape(buf, []byte(v.T(v.Carried)))
		buf.WriteString("</p></div>\n")
	}
	if err := h.content(buf, v); err != nil {
		return fmt.Errorf("web: render %s: %w", h.name, err)
	}
	if err := h.p.frags.render(buf, "page-bottom", v); err != nil {
		return fmt.Errorf("web: render %s: %w", h.name, err)
	}
	h.WriteContentType(w)
	// The length up front: the page goes out in one write, not in chunks.
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	_, err := w.Write(buf.Bytes())
	return err
}

func (h htmlPage) WriteContentType(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
}

// assets maps static file names to short content hashes for cache busting.
func hashAssets(fsys fs.FS) (map[string]string, error) {
	sub, err := fs.Sub(fsys, "static")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[p] = hex.EncodeToString(sum[:5])
		return nil
	})
	return out, err
}
