package web_test

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var (
	cssVarRe = regexp.MustCompile(`var\((--[a-z0-9-]+)\)`)
	hexRe    = regexp.MustCompile(`#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b`)
	pxRe     = regexp.MustCompile(`(-?\d+(?:\.\d+)?)px|\b0\b`)
)

// colourIn is the #hex colour in a value such as "2px solid var(--line)",
// its custom properties taken from :root.
func colourIn(t *testing.T, rules []cssRule, what, value string) string {
	t.Helper()
	value = cssVarRe.ReplaceAllStringFunc(value, func(v string) string {
		return cssDecl(rules, "", ":root", cssVarRe.FindStringSubmatch(v)[1])
	})
	c := hexRe.FindString(value)
	if c == "" {
		t.Fatalf("%s: no #hex colour in %q", what, value)
	}
	if len(c) == 4 {
		c = "#" + strings.Repeat(c[1:2], 2) + strings.Repeat(c[2:3], 2) + strings.Repeat(c[3:4], 2)
	}
	return strings.ToLower(c)
}

// pxIn is the n-th length (in px; a bare 0) in value.
func pxIn(t *testing.T, what, value string, n int) int {
	t.Helper()
	m := pxRe.FindAllStringSubmatch(value, -1)
	if len(m) <= n {
		t.Fatalf("%s: no length %d in %q", what, n+1, value)
	}
	f, _ := strconv.ParseFloat(m[n][1], 64)
	return int(f)
}

// contrast is the WCAG contrast ratio of two #rrggbb colours.
func contrast(a, b string) float64 {
	lum := func(c string) float64 {
		var l float64
		for i, w := range []float64{.2126, .7152, .0722} {
			v, _ := strconv.ParseUint(c[1+2*i:3+2*i], 16, 8)
			s := float64(v) / 255
			if s <= .04045 {
				s /= 12.92
			} else {
				s = math.Pow((s+.055)/1.055, 2.4)
			}
			l += w * s
		}
		return l
	}
	la, lb := lum(a), lum(b)
	return (math.Max(la, lb) + .05) / (math.Min(la, lb) + .05)
}

// focusRing is what a focused control shows from its border outwards,
// one colour per pixel band: an outset box-shadow (spread) under an outline
// (offset, width), then the background.
func focusRing(border, shadow string, spread int, outline string, offset, width int, background string) []string {
	out := []string{border}
	for d := 0; d < max(spread, offset+width); d++ {
		c := background
		if d < spread {
			c = shadow
		}
		if outline != "" && d >= offset && d < offset+width {
			c = outline
		}
		if out[len(out)-1] != c {
			out = append(out, c)
		}
	}
	if out[len(out)-1] != background {
		out = append(out, background)
	}
	return out
}

// TestGalleryTilesContrast: the security image gallery of Pengaktifan
// shows its tiles, the chosen tile and the focus ring with edges of at
// least 3:1 against what touches them — the page (or a card) around, the
// tile's own background inside (WCAG 1.4.11) — and tells the chosen tile
// by more than its colour (1.4.1). Read from the stylesheet the page
// links, through the router.
func TestGalleryTilesContrast(t *testing.T) {
	w := newWorld(t)
	b := w.atActivation(master[0])
	page := b.get("/pengaktifan").body
	if !strings.Contains(page, `class="gallery__radio"`) {
		t.Fatal("no gallery on the activation page")
	}
	m := regexp.MustCompile(`href="(/static/app\.css[^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the activation page links no app.css")
	}
	css := b.get(m[1])
	if css.Code != 200 {
		t.Fatalf("%s: %d", m[1], css.Code)
	}
	rules := parseCSS(css.body)
	decl := func(selector, property string) string {
		t.Helper()
		v := cssDecl(rules, "", selector, property)
		if v == "" {
			t.Fatalf("%s: no %s", selector, property)
		}
		return v
	}
	const (
		tile    = ".gallery__label"
		chosen  = ".gallery__radio:checked + .gallery__label"
		focused = ".gallery__radio:focus-visible + .gallery__label"
	)
	grounds := map[string]string{"page": colourIn(t, rules, "body", decl("body", "background")),
		"card": colourIn(t, rules, ".card", decl(".card", "background"))}
	need := func(what, a, b string) {
		t.Helper()
		if r := contrast(a, b); r < 3 {
			t.Errorf("%s: %s against %s is %.2f:1, want at least 3:1", what, a, b, r)
		}
	}

	border := colourIn(t, rules, tile, decl(tile, "border"))
	inside := colourIn(t, rules, tile, decl(tile, "background"))
	need("tile border on its tile", border, inside)
	chosenBorder := cssDecl(rules, "", chosen, "border-color")
	if chosenBorder == "" {
		chosenBorder = decl(chosen, "border")
	}
	chosenBorder = colourIn(t, rules, chosen, chosenBorder)
	chosenInside := colourIn(t, rules, chosen, decl(chosen, "background"))
	need("chosen tile's border on its tint", chosenBorder, chosenInside)
	for name, g := range grounds {
		need("tile border on the "+name, border, g)
		need("chosen tile's border on the "+name, chosenBorder, g)
	}

	// Not by colour alone: the chosen tile carries a mark of its own,
	// itself 3:1 against what it sits on.
	tick := decl(chosen+"::after", "content")
	if tick == "none" || strings.Trim(strings.Split(tick, "/")[0], `" `) == "" {
		t.Errorf("the chosen tile shows no mark besides its colours (content %q)", tick)
	}
	tickOn := chosenInside
	if bg := cssDecl(rules, "", chosen+"::after", "background"); bg != "" {
		tickOn = colourIn(t, rules, "tick", bg)
		need("tick's badge on the chosen tile", tickOn, chosenInside)
	}
	need("tick", colourIn(t, rules, "tick", decl(chosen+"::after", "color")), tickOn)

	ring, width, offset, shadow, spread := focusRingOf(t, rules, focused, decl)
	if width < 2 {
		t.Errorf("focus ring %dpx wide, want at least 2px", width)
	}
	for _, edge := range []string{border, chosenBorder} {
		for name, g := range grounds {
			bands := focusRing(edge, shadow, spread, ring, offset, width, g)
			for i := 1; i < len(bands); i++ {
				need("focus ring (border to "+name+": "+strings.Join(bands, " | ")+")", bands[i-1], bands[i])
			}
		}
	}
}

// TestFocusRingStandsOutFromThePage: the focus ring every control shows
// (:focus-visible) ends in a band of at least 3:1 against the page and a
// card around it, and its bands against each other (WCAG 1.4.11).
func TestFocusRingStandsOutFromThePage(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	page := b.get("/").body
	m := regexp.MustCompile(`href="(/static/app\.css[^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the home page links no app.css")
	}
	rules := parseCSS(b.get(m[1]).body)
	decl := func(selector, property string) string {
		t.Helper()
		v := cssDecl(rules, "", selector, property)
		if v == "" {
			t.Fatalf("%s: no %s", selector, property)
		}
		return v
	}
	const focused = ":focus-visible"
	ring, width, offset, shadow, spread := focusRingOf(t, rules, focused, decl)
	grounds := map[string]string{"page": colourIn(t, rules, "body", decl("body", "background")),
		"card": colourIn(t, rules, ".card", decl(".card", "background"))}
	for name, g := range grounds {
		// From the ring's inner band outwards (the control's own edge
		// varies: a white field, a navy button).
		bands := focusRing(shadow, shadow, spread, ring, offset, width, g)
		for i := 1; i < len(bands); i++ {
			if r := contrast(bands[i-1], bands[i]); r < 3 {
				t.Errorf("focus ring on the %s (%s): %s against %s is %.2f:1, want at least 3:1", name, strings.Join(bands, " | "), bands[i-1], bands[i], r)
			}
		}
	}
}

// focusRingOf reads selector's focus ring: the outline's colour, width and
// offset, and the outset box-shadow's colour and spread under it.
func focusRingOf(t *testing.T, rules []cssRule, selector string, decl func(selector, property string) string) (ring string, width, offset int, shadow string, spread int) {
	t.Helper()
	outline := decl(selector, "outline")
	ring, width = colourIn(t, rules, selector, outline), pxIn(t, selector, outline, 0)
	offset = pxIn(t, selector, decl(selector, "outline-offset"), 0)
	for _, s := range strings.Split(cssDecl(rules, "", selector, "box-shadow"), ",") {
		if s = strings.TrimSpace(s); s != "" && s != "none" && !strings.Contains(s, "inset") {
			shadow, spread = colourIn(t, rules, selector, s), pxIn(t, selector, s, 3)
		}
	}
	return ring, width, offset, shadow, spread
}
