package web_test

import (
	"testing"

	"github.com/melaka-gov/ispeks/http/web"
)

// A select's empty choice is read aloud: "—" says nothing (a screen reader
// reads "em dash" or skips it), so it says what to do, or what it means
// where the field is optional (Tahun: every year in the window). It stays
// the empty value, which the form refuses where a choice is required.
func TestSelectEmptyOptionSaysWhatItIs(t *testing.T) {
	p := newPayPortal(t, payOptions{})
	p.fixtures()
	b := p.as(paySitiIC, "Siti Aminah binti Omar", "")

	pay := b.get(web.PathStatusBayaran)
	payHas(t, "Jenis Modul", pay.body, `<option value="">Sila pilih</option>`)
	stmts := b.get(web.PathPenyataGaji)
	payHas(t, "Urusniaga and Tahun", stmts.body, `<option value="">Sila pilih</option>`, `<option value="">Semua tahun</option>`)
	payHasNot(t, "statement form", stmts.body+pay.body, `<option value="">—</option>`, `<option value=""></option>`)

	en := b.get(web.PathPenyataGaji + "?lang=en")
	payHas(t, "english", en.body, `<option value="">Please choose</option>`, `<option value="">All years</option>`)
}
