package account

import (
	"errors"
	"testing"
)

func FuzzCheckPassword(f *testing.F) {
	for _, s := range []string{"kuih lapis sedap", "password", "\x00\x01", "ｋｕｉｈ ｌａｐｉｓ", "791117045671xx"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, pw, confirm string) {
		err := CheckPassword(pw, confirm, "791117045671", MinPassword)
		if err == nil {
			if pw != confirm || IsCommonPassword(NormalizePassword(pw)) {
				t.Fatalf("accepted %q / %q", pw, confirm)
			}
			return
		}
		var fes FieldErrors
		if !errors.As(err, &fes) || !errors.Is(err, ErrInvalid) || len(fes) == 0 {
			t.Fatalf("error %v is not field errors", err)
		}
	})
}

func FuzzCheckProfile(f *testing.F) {
	f.Add("06-2307290", "Aras 3", "siti@melaka.gov.my")
	f.Add("+60 12 345 6789", "", "x@jkr.melaka.gov.my")
	f.Fuzz(func(t *testing.T, phone, office, email string) {
		p, err := CheckProfile(Profile{Phone: phone, Office: office, Email: email}, []string{"melaka.gov.my"})
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v", err)
			}
			return
		}
		if again, err := CheckProfile(p, []string{"melaka.gov.my"}); err != nil || again != p {
			t.Fatalf("checked profile %+v changes or fails again: %v", p, err)
		}
	})
}
