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
	sets  map[string]*template.Template
	frags *fragments
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
	return htmlPage{t: p.sets[name], frags: p.frags, name: name, data: data}
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// htmlPage renders into a buffer first: a template error then becomes a
// clean error page instead of half a page.
type htmlPage struct {
	t     *template.Template
	frags *fragments
	name  string
	data  any
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
	if err := h.frags.render(buf, "page-top", v); err != nil {
		return fmt.Errorf("web: render %s: %w", h.name, err)
	}
	if err := h.t.ExecuteTemplate(buf, "content", v); err != nil {
		return fmt.Errorf("web: render %s: %w", h.name, err)
	}
	if err := h.frags.render(buf, "page-bottom", v); err != nil {
		return fmt.Errorf("web: render %s: %w", h.name, err)
	}
	h.WriteContentType(w)
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
