package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/payment"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/web"
	"github.com/melaka-gov/ispeks/projections/statements"
	"github.com/melaka-gov/ispeks/projections/verifycode"
)

// /sahkan/{code}, with no login: a real code is confirmed with only what
// is needed to compare with the paper; a corrected statement's earlier code
// says it was superseded; a forged code is not recognised.
func TestVerifyPage(t *testing.T) {
	p := newPayPortal(t, payOptions{})
	p.fixtures()
	bank := p.browser() // not logged in

	// The code as printed on the PDF and the HTML slip.
	siti := p.as(paySitiIC, "Siti Aminah binti Omar", "")
	printed := regexp.MustCompile(`Kod pengesahan: ([A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4})`).FindStringSubmatch(pdfText(t, siti.get("/penyata-gaji/SG-2026-01-S/dokumen.pdf").raw))
	if printed == nil {
		t.Fatal("no code on the PDF")
	}
	ok := bank.get("/sahkan/" + printed[1])
	if ok.code != http.StatusOK {
		t.Fatalf("genuine: %d", ok.code)
	}
	payHas(t, "genuine", ok.body, "Dokumen ini sah", "Slip Gaji Bulanan", "Januari 2026", "S*** A*** b*** O***", "4,504.93")
	payHasNot(t, "genuine", ok.body, "Siti", "Aminah", paySitiIC, "791117", "JKPN-0042", "Gaji Pokok", "telah digantikan")
	if ok.hdr.Get("X-Robots-Tag") == "" || !strings.Contains(ok.hdr.Get("Cache-Control"), "no-store") {
		t.Errorf("verification answers must be neither indexed nor cached: %v", ok.hdr)
	}
	// Typed by hand: lower case, spaces, no dashes, through the form.
	typed := strings.ToLower(strings.ReplaceAll(printed[1], "-", " "))
	if r := bank.get(web.PathVerify + "?kod=" + url.QueryEscape(typed)); r.code != http.StatusOK || !strings.Contains(r.body, "Dokumen ini sah") {
		t.Errorf("typed code: %d", r.code)
	}

	// Revision 1 of the corrected February slip.
	old := bank.get("/sahkan/" + verifycode.Format(statements.Code(payKey, "SG-2026-02-S", 1)))
	payHas(t, "superseded", old.body, "Dokumen ini telah digantikan", "semakan ke-1", "ke-2", "Februari 2026")
	payHasNot(t, "superseded", old.body, "Dokumen ini sah<")
	cur := bank.get("/sahkan/" + verifycode.Format(statements.Code(payKey, "SG-2026-02-S", 2)))
	payHas(t, "current revision", cur.body, "Dokumen ini sah", "4,454.93")

	// A payment report's code.
	pay := bank.get("/sahkan/" + payCode("PAY-S-001"))
	payHas(t, "payment", pay.body, "Dokumen ini sah", "Laporan Status Bayaran", "Pendahuluan Perjalanan", "BV-2026-000101",
		"******-**-"+paySitiIC[len(paySitiIC)-4:], "1,234.50", "Diterima oleh Bank", "10/01/2026")
	// Not the birth date and place of birth the IC's first eight digits are.
	payHasNot(t, "payment", pay.body, paySitiIC, "791117", "-04-", "Siti", "EFT20260110")

	// Forged and unknown codes (malformed ones: TestVerifyMalformedCode).
	forged := verifycode.Format(statements.Code([]byte("another key, another portal!!"), "SG-2026-01-S", 1))
	for _, code := range []string{forged, "AAAA-BBBB-CCCC-DDDD"} {
		r := bank.get("/sahkan/" + url.PathEscape(code))
		if r.code != http.StatusNotFound {
			t.Errorf("%q: %d", code, r.code)
		}
		payHas(t, "unknown", r.body, "Kod pengesahan tidak dikenali")
		payHasNot(t, "unknown", r.body, "Dokumen ini sah")
	}

	en := bank.get("/sahkan/" + printed[1] + "?lang=en")
	payHas(t, "english", en.body, "This document is genuine", "Monthly Pay Slip", "Net Amount (RM)")

	form := p.browser().get(web.PathVerify)
	payHas(t, "form", form.body, "Kod Pengesahan", `name="kod"`, `action="/sahkan"`)
	payHasNot(t, "form", form.body, "tidak dikenali", "Dokumen ini sah")
}

// Look-ups are throttled per client address, so codes cannot be tried in
// bulk; another address is not affected, and the bucket refills.
func TestVerifyThrottle(t *testing.T) {
	var now time.Time
	clock := func() time.Time { return now }
	now = payT0
	p := newPayPortal(t, payOptions{throttle: httpx.NewThrottle(httpx.ThrottleConfig{Burst: 3, Every: time.Minute}, clock)})
	p.fixtures()
	a, other := p.browser(), p.browser()
	other.remote = "198.51.100.7:5000"
	for i := range 3 {
		if r := a.get("/sahkan/AAAA-BBBB-CCCC-DDD" + string(rune('A'+i))); r.code != http.StatusNotFound {
			t.Fatalf("try %d: %d", i+1, r.code)
		}
	}
	r := a.get("/sahkan/" + payCode("PAY-S-001"))
	if r.code != http.StatusTooManyRequests || r.hdr.Get("Retry-After") == "" {
		t.Fatalf("4th: %d %v", r.code, r.hdr)
	}
	payHas(t, "throttled", r.body, "Terlalu banyak percubaan")
	payHasNot(t, "throttled", r.body, "Dokumen ini sah")
	if r := other.get("/sahkan/" + payCode("PAY-S-001")); r.code != http.StatusOK {
		t.Errorf("another address: %d", r.code)
	}
	// The empty form does not count.
	if r := a.get(web.PathVerify); r.code != http.StatusOK {
		t.Errorf("form while throttled: %d", r.code)
	}
	now = now.Add(time.Minute)
	if r := a.get("/sahkan/" + payCode("PAY-S-001")); r.code != http.StatusOK {
		t.Errorf("after a minute: %d", r.code)
	}
}

// The English page gives a statement's period in English, as the slip's
// own English page does: a bank clerk reading in English saw "Februari
// 2026" and "Tahun 2025" beside English labels.
func TestVerifyPageEnglishPeriod(t *testing.T) {
	p := newPayPortal(t, payOptions{})
	p.fixtures()
	bank := p.browser()
	for _, c := range []struct{ id, want, not string }{
		{"SG-2026-01-S", "<dd>January 2026</dd>", "Januari"},
		{"EC-2025-S", "<dd>Year 2025</dd>", "Tahun 2025"},
	} {
		r := bank.get("/sahkan/" + verifycode.Format(statements.Code(payKey, c.id, 1)) + "?lang=en")
		payHas(t, c.id, r.body, "This document is genuine", c.want)
		payHasNot(t, c.id, r.body, c.not)
	}
	old := bank.get("/sahkan/" + verifycode.Format(statements.Code(payKey, "SG-2026-02-S", 1)) + "?lang=en")
	payHas(t, "superseded", old.body, "This document has been superseded", "<dd>February 2026</dd>")
	payHasNot(t, "superseded", old.body, "Februari")
	// The Malay page keeps the Malay label (a new browser: ?lang= is kept).
	ms := p.browser().get("/sahkan/" + verifycode.Format(statements.Code(payKey, "SG-2026-02-S", 1)))
	payHas(t, "malay", ms.body, "<dd>Februari 2026</dd>")
}

// Something that cannot be a code (a 0 typed for an O, a character left
// out, nothing at all) is a typing mistake, not a forged document: the
// field says what a code is made of. Before, the clerk read "not
// recognised ... may not be genuine" about a genuine slip.
func TestVerifyMalformedCode(t *testing.T) {
	p := newPayPortal(t, payOptions{})
	p.fixtures()
	bank := p.browser()
	good := verifycode.Format(statements.Code(payKey, "SG-2026-01-S", 1))
	zero := strings.Replace(good, "O", "0", 1)
	if zero == good {
		zero = good[:len(good)-1] + "1"
	}
	for _, code := range []string{zero, good[:len(good)-1], "not-a-code", strings.Repeat("A", 300)} {
		r := bank.get("/sahkan/" + url.PathEscape(code))
		if r.code != http.StatusUnprocessableEntity {
			t.Errorf("%q: %d", code, r.code)
		}
		payHas(t, code, r.body, "Terdapat masalah pada borang", "Kod Pengesahan", "16 aksara: huruf A hingga Z dan angka 2 hingga 7", `aria-invalid="true"`)
		payHasNot(t, code, r.body, "tidak dikenali", "Dokumen ini sah", "telah digantikan")
	}
	r := bank.get(web.PathVerify + "?kod=+")
	if r.code != http.StatusUnprocessableEntity {
		t.Errorf("blank code: %d", r.code)
	}
	payHas(t, "blank", r.body, "Sila isi ruangan ini")
	payHasNot(t, "blank", r.body, "tidak dikenali")
	en := bank.get(web.PathVerify + "?kod=not-a-code&lang=en")
	payHas(t, "english", en.body, "the letters A to Z and the digits 2 to 7 only")
	// A well-formed code nobody issued is still "not recognised".
	if r := bank.get("/sahkan/AAAA-BBBB-CCCC-DDDD"); r.code != http.StatusNotFound {
		t.Errorf("unknown: %d", r.code)
	}
}

// A payment the finance system amended after it was recorded: a printout
// made before shows other figures, and the check confirmed its code under
// "Dokumen ini sah" beside the new ones. The check now says the details
// were amended (how many times), that those shown are the latest and that
// a printout showing others is out of date; in English too. A payment
// never amended is confirmed as before.
func TestVerifyAmendedPayment(t *testing.T) {
	p := newPayPortal(t, payOptions{})
	p.fixtures()
	for range 2 {
		p.must(commands.AmendPaymentHandler{Runner: p.runner}.Handle(context.Background(), commands.AmendPayment{Meta: p.meta(), PaymentID: "PAY-S-002",
			Reason: "Amaun disemak semula", Patch: func(d payment.Details) payment.Details { d.AmountSen += 2500; return d }}))
	}
	bank := p.browser()
	r := bank.get("/sahkan/" + payCode("PAY-S-002"))
	if r.code != http.StatusOK {
		t.Fatalf("amended: %d", r.code)
	}
	payHas(t, "amended", r.body, "Butiran dokumen ini telah dipinda", "dipinda oleh sistem kewangan selepas ia direkodkan (2 kali)", "250.00", "cetakan yang menunjukkan butiran lain telah lapuk", "<dt>Pindaan</dt><dd>2 kali</dd>")
	payHasNot(t, "amended", r.body, "Dokumen ini sah<", "200.00")
	en := bank.get("/sahkan/" + payCode("PAY-S-002") + "?lang=en")
	payHas(t, "amended (English)", en.body, "details have been amended", "after it was recorded (amendments: 2)", "a printout showing other details is out of date", "250.00", "<dt>Amendments</dt><dd>2</dd>")
	payHasNot(t, "amended (English)", en.body, "This document is genuine<")
	never := p.browser().get("/sahkan/" + payCode("PAY-S-003"))
	payHas(t, "never amended", never.body, "Dokumen ini sah<")
	payHasNot(t, "never amended", never.body, "dipinda", "Pindaan")
}

// A code pasted from a word processor or a chat, whose hyphens became
// dashes and whose spaces became no-break spaces or a line end, is the
// printed code: before, the clerk was told it was not a code at all.
func TestVerifyPastedCode(t *testing.T) {
	p := newPayPortal(t, payOptions{})
	p.fixtures()
	bank := p.browser()
	code := verifycode.Format(statements.Code(payKey, "SG-2026-01-S", 1))
	for _, pasted := range []string{
		strings.ReplaceAll(code, "-", "\u2013"), strings.ReplaceAll(code, "-", " \u2014 "),
		strings.ReplaceAll(code, "-", "\u00a0"), strings.Replace(code, "-", "-\r\n", 1) + "\n",
	} {
		r := bank.get(web.PathVerify + "?kod=" + url.QueryEscape(pasted))
		if r.code != http.StatusOK {
			t.Errorf("%q: %d", pasted, r.code)
		}
		payHas(t, pasted, r.body, "Dokumen ini sah", "Januari 2026")
	}
}
