package web

import (
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"
)

// listPlace is where in a list (Status Bayaran, Penyata Gaji) a person
// opened a record from: the page (its cursor and first row number) and,
// on Penyata Gaji, the year chosen. The list's row links carry it to the
// record's page, whose "Kembali ke senarai" returns there instead of to
// the list's first page (all years).
type listPlace struct {
	after string // the page's cursor, "" on the first page
	start int    // the page's first row number, 1 on the first page
	year  int    // the year chosen, 0 for all
}

// query adds the place to a list's query (modul, urusniaga).
func (p listPlace) query(q url.Values) url.Values {
	if p.after != "" {
		q.Set(queryAfter, p.after)
		if p.start > 1 {
			q.Set("mula", strconv.Itoa(p.start))
		}
	}
	if p.year != 0 {
		q.Set("tahun", strconv.Itoa(p.year))
	}
	return q
}

// linkSuffix is what a row link to a record adds to carry the place
// ("?mula=6&selepas=…", or "" on the first page of all years), escaped for
// an attribute: the same on every row of a page.
func (p listPlace) linkSuffix() string {
	q := p.query(url.Values{})
	if len(q) == 0 {
		return ""
	}
	return escapeText("?" + q.Encode())
}

// placeParam reads the place a record's page was opened from. Each value
// is checked, and one that does not pass is dropped (the list's default):
// a cursor is URL-safe base64 (what the read stores encode) of a bounded
// length, a row number is carried only with a cursor, and a year must be
// one validYear accepts (nil: no year on this list). The values go back
// out only through url.Values and the template's escaping.
func placeParam(c *gin.Context, validYear func(int) bool) listPlace {
	p := listPlace{start: 1}
	if v := c.Query(queryAfter); cursorShaped(v) {
		p.after = v
		if n, err := strconv.Atoi(c.Query("mula")); err == nil && n > 1 && n <= 1_000_000 {
			p.start = n
		}
	}
	if validYear != nil {
		if y, err := strconv.Atoi(c.Query("tahun")); err == nil && validYear(y) {
			p.year = y
		}
	}
	return p
}

// cursorShaped: v could be a page cursor (1 to maxCursor characters of
// the URL-safe base64 alphabet). Whether it is one the list decides.
func cursorShaped(v string) bool {
	if v == "" || len(v) > maxCursor {
		return false
	}
	for i := 0; i < len(v); i++ {
		switch b := v[i]; {
		case b >= 'A' && b <= 'Z', b >= 'a' && b <= 'z', b >= '0' && b <= '9', b == '-', b == '_':
		default:
			return false
		}
	}
	return true
}
