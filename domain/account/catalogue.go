package account

import (
	"slices"
	"strings"
)

// SecretQuestion is one question offered at activation ("Soalan dan Jawapan
// Rahsia"). The account stores only its ID; the texts live here so that
// rewording a question does not touch stored events.
type SecretQuestion struct {
	ID string
	MS string // Bahasa Melayu
	EN string
}

var secretQuestions = []SecretQuestion{
	{"sekolah-rendah", "Apakah nama sekolah rendah pertama anda?", "What was the name of your first primary school?"},
	{"kawan-zaman-kanak", "Siapakah nama kawan baik anda semasa kanak-kanak?", "What was the name of your best friend as a child?"},
	{"bandar-lahir-ibu", "Di bandar manakah ibu anda dilahirkan?", "In which town was your mother born?"},
	{"haiwan-peliharaan", "Apakah nama haiwan peliharaan pertama anda?", "What was the name of your first pet?"},
	{"guru-kegemaran", "Siapakah nama guru kegemaran anda?", "What was the name of your favourite teacher?"},
	{"makanan-kegemaran", "Apakah makanan kegemaran anda semasa kecil?", "What was your favourite food as a child?"},
	{"jalan-rumah-pertama", "Apakah nama jalan rumah pertama anda?", "What was the name of the street of your first home?"},
	{"kerja-pertama", "Di manakah tempat kerja pertama anda?", "Where was your first job?"},
}

// SecretQuestions lists the questions offered at activation, in display
// order.
func SecretQuestions() []SecretQuestion {
	return append([]SecretQuestion(nil), secretQuestions...)
}

// SecretQuestionByID finds a question.
func SecretQuestionByID(id string) (SecretQuestion, bool) {
	for _, q := range secretQuestions {
		if q.ID == id {
			return q, true
		}
	}
	return SecretQuestion{}, false
}

// SecurityImage is one picture of the security-image gallery ("Imej
// Online"). The web layer ships one original SVG per ID
// (http/web/static/security/<ID>.svg) and its own bilingual names; the two
// lists must hold the same IDs in the same order (decoys are picked by
// index). Never reorder or remove an entry: accounts store the IDs.
type SecurityImage struct {
	ID    string
	Label string // Malay alt text
}

var securityImages = []SecurityImage{
	{"rumah-api", "Rumah Api"},
	{"wau-bulan", "Wau Bulan"},
	{"sampan", "Sampan"},
	{"durian", "Durian"},
	{"enggang", "Burung Enggang"},
	{"kubah-masjid", "Kubah Masjid"},
	{"pokok-getah", "Pokok Getah"},
	{"teko", "Teko"},
	{"basikal", "Basikal"},
	{"belimbing", "Belimbing Besi"},
	{"bulan-bintang", "Bulan dan Bintang"},
	{"bunga-raya", "Bunga Raya"},
	{"ketupat", "Ketupat"},
	{"pokok-kelapa", "Pokok Kelapa"},
	{"kucing", "Kucing"},
	{"payung", "Payung"},
}

// SecurityImages lists the gallery in display order.
func SecurityImages() []SecurityImage {
	return append([]SecurityImage(nil), securityImages...)
}

// ValidSecurityImage reports whether id is in the gallery.
func ValidSecurityImage(id string) bool {
	for _, im := range securityImages {
		if im.ID == id {
			return true
		}
	}
	return false
}

// Secret phrases come from one catalogue, built from two word lists: a
// person chooses theirs from phrases of it offered at activation, and an ID
// without an activated account shows a decoy from it, picked by an HMAC of
// the ID (infra/security) so the same ID always shows the same one. Since
// both come from the catalogue, the phrase the password page shows cannot
// tell whether an ID has an account; a phrase typed freely would (a decoy
// is never "Kopi Pagi Melaka").
var (
	phraseNouns = []string{"Bunga", "Pantai", "Kucing", "Langit", "Hujan", "Perahu", "Bulan", "Pelangi", "Taman", "Sungai", "Burung", "Angin", "Embun", "Kopi", "Buku", "Pagi", "Senja", "Rama-rama", "Ombak", "Teh", "Lampu", "Jambatan", "Kebun", "Layang-layang"}
	phraseAdjs  = []string{"Biru", "Merah", "Tenang", "Indah", "Ceria", "Harum", "Damai", "Kecil", "Putih", "Hijau", "Manis", "Redup", "Jingga", "Sunyi", "Riang", "Lembut", "Emas", "Ungu", "Segar", "Terang"}
)

// PhraseCount is how many phrases the catalogue holds.
func PhraseCount() int { return len(phraseNouns) * len(phraseAdjs) }

// Phrase returns the catalogue's phrase i (taken modulo PhraseCount).
func Phrase(i int) string {
	n := PhraseCount()
	i = ((i % n) + n) % n
	return phraseNouns[i/len(phraseAdjs)] + " " + phraseAdjs[i%len(phraseAdjs)]
}

// ValidPhrase reports whether p is one of the catalogue's phrases, as
// written there.
func ValidPhrase(p string) bool {
	noun, adj, ok := strings.Cut(p, " ")
	return ok && slices.Contains(phraseNouns, noun) && slices.Contains(phraseAdjs, adj)
}
