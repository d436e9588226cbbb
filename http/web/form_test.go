package web

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/http/i18n"
)

func formContext(values url.Values) *gin.Context {
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest("POST", "/", strings.NewReader(values.Encode()))
	c.Request.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c
}

func TestReadForm(t *testing.T) {
	c := formContext(url.Values{
		"name":     {"  Siti  "},
		"password": {"  secret  "},
		"long":     {strings.Repeat("é", 20)},
		"bad":      {"a\x07b"},
		"note":     {"line one\nline two"},
	})
	f := ReadForm(c,
		Field{Name: "name", Label: "label.name", Required: true},
		Field{Name: "password", Required: true, Secret: true},
		Field{Name: "long", Max: 10},
		Field{Name: "bad"},
		Field{Name: "note", Multiline: true},
		Field{Name: "missing", Label: "label.phone", Required: true},
	)
	if f.Get("name") != "Siti" || f.Get("password") != "  secret  " {
		t.Fatalf("trim: %q %q", f.Get("name"), f.Get("password"))
	}
	if f.Shown("password") != "" || f.Shown("name") != "Siti" {
		t.Fatal("secret echoed or plain value hidden")
	}
	if got := f.Get("long"); got != strings.Repeat("é", 10) {
		t.Fatalf("long value kept as %q", got)
	}
	if msg, ok := f.Error("long"); !ok || msg.MS != "Terlalu panjang: maksimum 10 aksara" {
		t.Fatalf("long: %+v", msg)
	}
	if _, ok := f.Error("bad"); !ok || f.Get("bad") != "" {
		t.Fatal("control character accepted or echoed")
	}
	if _, ok := f.Error("note"); ok {
		t.Fatal("line break refused in a multiline field")
	}
	probs := f.Problems()
	if len(probs) != 3 || probs[0].Name != "long" || probs[2].Name != "missing" || probs[2].Label != "label.phone" {
		t.Fatalf("problems in form order: %+v", probs)
	}
	f.Fail("long", i18n.Text{MS: "kedua"})
	if msg, _ := f.Error("long"); msg.MS == "kedua" {
		t.Fatal("a second error replaced the first")
	}
	f.Fail("", i18n.Text{MS: "umum"})
	if f.Global == nil || f.Valid() {
		t.Fatal("form-level error lost")
	}
	if !NewForm(map[string]string{"a": "b"}).Valid() {
		t.Fatal("new form invalid")
	}
}

func TestViewHelpers(t *testing.T) {
	site, err := NewSite(Config{}, Deps{Sessions: nil})
	if err == nil || site != nil {
		t.Fatal("site without sessions accepted")
	}
	f := NewForm(map[string]string{"modul": "tuntutan", "image": "teko"})
	f.FailKey("modul", "err.choose_one")
	v := View{Page: Page{Form: f}, Lang: i18n.EN, site: &Site{assets: map[string]string{}}}
	for _, img := range securityImages {
		v.site.assets[img.URLPath()] = "h"
	}
	sel := v.Select("modul", "label.modul", "pendahuluan|modul.pendahuluan", "tuntutan|modul.tuntutan")
	if sel.Label != "Module Type" || sel.Error != "Please choose one" || !sel.Options[1].Selected || sel.Options[1].Label != "Claim" {
		t.Fatalf("select: %+v", sel)
	}
	g := v.Gallery("image")
	checked := 0
	for _, it := range g.Items {
		if it.Checked {
			checked++
			if it.ID != "teko" || it.Name != "Teapot" || !strings.HasPrefix(it.URL, "/static/security/teko.svg?v=") {
				t.Fatalf("checked item %+v", it)
			}
		}
	}
	if checked != 1 || len(g.Items) != len(securityImages) {
		t.Fatalf("gallery %d items, %d checked", len(g.Items), checked)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("unknown field option accepted")
		}
	}()
	v.Field("x", "label.name", "text", "colour=red")
}
