package account

import (
	"errors"
	"strings"
	"testing"
)

func fieldCodes(err error) map[string]string {
	out := map[string]string{}
	var fes FieldErrors
	if errors.As(err, &fes) {
		for _, fe := range fes {
			out[fe.Field] = fe.Code
		}
	}
	return out
}

func TestPasswordPolicy(t *testing.T) {
	cases := []struct {
		pw, confirm string
		min         int
		field, code string
	}{
		{"", "", 8, "password", "required"},
		{"Kuih7!", "Kuih7!", 8, "password", "too_short"},
		{"kuih lapis sedap", "kuih lapis sedap", 8, "", ""},
		{"kuih lapis", "kuih lapis", 12, "password", "too_short"},
		{"kuih lapis sedap", "kuih lapis sedap", 12, "", ""},
		{strings.Repeat("a", 129), strings.Repeat("a", 129), 8, "password", "too_long"},
		{strings.Repeat("ab", 5000), "", 8, "password", "too_long"},
		{"password", "password", 8, "password", "common"},
		{"Password2024!", "Password2024!", 8, "password", "common"},
		{"KATALALUAN", "KATALALUAN", 8, "password", "common"},
		{"sayang123", "sayang123", 8, "password", "common"},
		{"12345678", "12345678", 8, "password", "common"},
		{"zzzzzzzzz", "zzzzzzzzz", 8, "password", "common"},
		{"ic791117045671", "ic791117045671", 8, "password", "contains_user_id"},
		{"791117-04-5671x", "791117-04-5671x", 8, "password", "contains_user_id"},
		{"kuih\x00lapis sedap", "kuih\x00lapis sedap", 8, "password", "control_character"},
		{"kuih\nlapis sedap", "kuih\nlapis sedap", 8, "password", "control_character"},
		{"kuih lapis sedap", "kuih lapis sedaq", 8, "confirm_password", "mismatch"},
		{"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", "", 8, "password", "invalid"},
		// No composition rules: a long all-lower-case phrase is fine, and
		// so is Unicode.
		{"nasi lemak pagi ini", "nasi lemak pagi ini", 8, "", ""},
		{"ｋｕｉｈ ｌａｐｉｓ", "ｋｕｉｈ ｌａｐｉｓ", 8, "", ""},
		// A password is never shown: a format character in it (pasted
		// from a word processor) is not refused, so one set so can still
		// be set again and typed in.
		{"kuih\u200blapis\u00adsedap", "kuih\u200blapis\u00adsedap", 8, "", ""},
	}
	for _, c := range cases {
		err := CheckPassword(c.pw, c.confirm, id, c.min)
		codes := fieldCodes(err)
		if c.field == "" {
			if err != nil {
				t.Errorf("CheckPassword(%.20q) = %v, want ok", c.pw, err)
			}
			continue
		}
		if codes[c.field] != c.code {
			t.Errorf("CheckPassword(%.20q): %v, want %s/%s", c.pw, err, c.field, c.code)
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckPassword(%.20q) error is not ErrInvalid", c.pw)
		}
		if len(c.pw) > 100 && strings.Contains(err.Error(), c.pw[:50]) {
			t.Errorf("error echoes the password")
		}
	}
}

func TestNormalizePasswordMakesWidthsEqual(t *testing.T) {
	if NormalizePassword("ｋｕｉｈ") != NormalizePassword("kuih") {
		t.Fatal("NFKC not applied")
	}
}

func TestCommonListShipsAboutAThousand(t *testing.T) {
	if n := CommonPasswordCount(); n < 1000 {
		t.Fatalf("common-password list has %d entries", n)
	}
	for _, pw := range []string{"qwerty123", "iloveyou", "trustno1", "passw0rd", "Welcome123"} {
		if !IsCommonPassword(pw) {
			t.Errorf("%s not refused", pw)
		}
	}
	if IsCommonPassword("nasi lemak pagi ini") {
		t.Error("a good phrase refused")
	}
}

func validForm() ActivationForm {
	return ActivationForm{Password: "kuih lapis sedap", ConfirmPassword: "kuih lapis sedap", QuestionID: "haiwan-peliharaan", Answer: "  Comot ", ImageID: "wau-bulan", Phrase: "  Pantai  Tenang "}
}

func TestCheckActivation(t *testing.T) {
	f, err := CheckActivation(validForm(), id, MinPassword)
	if err != nil {
		t.Fatal(err)
	}
	if f.Phrase != "Pantai Tenang" {
		t.Errorf("phrase %q", f.Phrase)
	}
	bad := ActivationForm{Password: "short", ConfirmPassword: "short", QuestionID: "nope", Answer: strings.Repeat("x", 10000), ImageID: "", Phrase: "a\x07b"}
	_, err = CheckActivation(bad, id, MinPassword)
	want := map[string]string{"password": "too_short", "question": "unknown_choice", "answer": "too_long", "image": "required", "phrase": "control_character"}
	got := fieldCodes(err)
	for f, c := range want {
		if got[f] != c {
			t.Errorf("field %s: %q, want %q (%v)", f, got[f], c, err)
		}
	}
	// The IC however it is typed: with dashes or spaces it is the IC too.
	for _, answer := range []string{id, "791117-04-5671", "791117 04 5671", "ic saya 791117-045671"} {
		f2 := validForm()
		f2.Answer = answer
		if fieldCodes(func() error { _, e := CheckActivation(f2, id, MinPassword); return e }())["answer"] != "contains_user_id" {
			t.Errorf("IC number accepted as the secret answer: %q", answer)
		}
	}
	// The answer is a secret, never shown: only control characters are
	// refused in it, as when answers were first set (an answer set with a
	// zero-width space must still be checked by the helpdesk).
	f3 := validForm()
	f3.Answer = "Ayer\u200bKeroh"
	if err := func() error { _, e := CheckActivation(f3, id, MinPassword); return e }(); err != nil {
		t.Errorf("an answer with a zero-width space: %v", err)
	}
	f3.Answer = "Ayer\u0007Keroh"
	if fieldCodes(func() error { _, e := CheckActivation(f3, id, MinPassword); return e }())["answer"] != "control_character" {
		t.Error("an answer with a control character accepted")
	}
}

// Kemaskini Maklumat Pengguna: an office that shows nothing (only
// direction marks, zero-width spaces, a BOM, an Arabic letter mark) or
// holds an override is refused (it was saved, and shown blank); a
// direction mark inside visible text hides nothing and is kept.
func TestCheckProfileRefusesInvisibleCharacters(t *testing.T) {
	for _, office := range []string{"\u200f\u200f", "\u200b", "\ufeff", "\u061c", "\u200d\u200c", "\u3164", "Aras 3\u202e, Seri Negeri"} {
		_, err := CheckProfile(Profile{Phone: "06-2345678", Office: office, Email: "siti.aminah@melaka.gov.my"}, []string{"melaka.gov.my"})
		if fieldCodes(err)["office"] != "control_character" {
			t.Errorf("office %q: %v", office, err)
		}
	}
	if p, err := CheckProfile(Profile{Phone: "06-2345678", Office: "Aras 3\u200f, Seri Negeri", Email: "siti.aminah@melaka.gov.my"}, []string{"melaka.gov.my"}); err != nil || p.Office != "Aras 3\u200f, Seri Negeri" {
		t.Errorf("a direction mark inside visible text: %q %v", p.Office, err)
	}
}

func TestNormalizeAnswer(t *testing.T) {
	if NormalizeAnswer("  Sekolah   Kebangsaan\tBukit Baru ") != "sekolah kebangsaan bukit baru" {
		t.Fatal(NormalizeAnswer("  Sekolah   Kebangsaan\tBukit Baru "))
	}
}

func TestCheckProfile(t *testing.T) {
	allowed := []string{"melaka.gov.my"}
	p, err := CheckProfile(Profile{Phone: " +606-230 7290 ", Office: " Aras 3 ", Email: "Siti@Melaka.gov.my"}, allowed)
	if err != nil || p.Phone != "+606-230 7290" || p.Office != "Aras 3" || p.Email != "siti@melaka.gov.my" {
		t.Fatalf("%+v, %v", p, err)
	}
	_, err = CheckProfile(Profile{Phone: "call me", Office: strings.Repeat("o", 201), Email: "siti@gmail.com"}, allowed)
	got := fieldCodes(err)
	want := map[string]string{"phone": "invalid", "office": "too_long", "email": "domain_not_allowed"}
	for f, c := range want {
		if got[f] != c {
			t.Errorf("field %s: %q, want %q (%v)", f, got[f], c, err)
		}
	}
	if _, err := CheckProfile(Profile{Email: ""}, allowed); fieldCodes(err)["email"] != "required" {
		t.Errorf("empty e-mail: %v", err)
	}
}

func TestCatalogues(t *testing.T) {
	if len(SecurityImages()) < 12 {
		t.Fatalf("gallery has %d images, the issue asks for at least 12", len(SecurityImages()))
	}
	seen := map[string]bool{}
	for _, im := range SecurityImages() {
		if seen[im.ID] || !ValidSecurityImage(im.ID) || im.Label == "" {
			t.Errorf("image %+v", im)
		}
		seen[im.ID] = true
	}
	for _, q := range SecretQuestions() {
		if got, ok := SecretQuestionByID(q.ID); !ok || got != q || q.MS == "" || q.EN == "" {
			t.Errorf("question %+v", q)
		}
	}
	phrases := map[string]bool{}
	for i := 0; i < PhraseCount(); i++ {
		phrases[Phrase(i)] = true
	}
	if len(phrases) != PhraseCount() || PhraseCount() < 400 {
		t.Fatalf("%d distinct decoy phrases of %d", len(phrases), PhraseCount())
	}
	if Phrase(-1) != Phrase(PhraseCount()-1) {
		t.Error("negative index not wrapped")
	}
}

// A secret phrase is chosen from the catalogue the decoys come from: a
// phrase typed freely would tell a real ID's password page from an unknown
// one's. Every catalogue phrase is accepted; anything else is refused as
// not offered, with the field named.
func TestActivationPhraseFromTheCatalogue(t *testing.T) {
	for i := range PhraseCount() {
		f := validForm()
		f.Phrase = Phrase(i)
		if _, err := CheckActivation(f, id, MinPassword); err != nil {
			t.Fatalf("catalogue phrase %q: %v", f.Phrase, err)
		}
	}
	for _, typed := range []string{"Kopi Pagi Melaka", "pantai tenang", "Tenang Pantai", "Pantai Tenang Sekali", "Pantai"} {
		f := validForm()
		f.Phrase = typed
		_, err := CheckActivation(f, id, MinPassword)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "phrase" || fe.Code != "unknown_choice" {
			t.Errorf("typed phrase %q: %v, want phrase unknown_choice", typed, err)
		}
	}
}
