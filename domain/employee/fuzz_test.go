package employee

import (
	"strings"
	"testing"
)

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"ali@melaka.gov.my", "Ali <ali@x.my>", "a@b", "\"a b\"@melaka.gov.my", "a@@b.c", "ÀLI@melaka.gov.my"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, fe := NormalizeEmail("email", s)
		if fe != nil {
			if fe.Field != "email" || fe.Code == "" || strings.Contains(fe.Reason, s) && len(s) > 40 {
				t.Fatalf("field error %+v", fe)
			}
			return
		}
		if got != strings.ToLower(got) || strings.Count(got, "@") != 1 || len(got) > MaxEmail {
			t.Fatalf("NormalizeEmail(%q) = %q", s, got)
		}
		if again, fe := NormalizeEmail("email", got); fe != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q, %v", got, again, fe)
		}
	})
}

func FuzzDetailsValidate(f *testing.F) {
	f.Add("791117-04-5671", "Siti Aminah", "siti@melaka.gov.my", "JKPN", "Pegawai", "A-1")
	f.Add("", "\x00", "x", "", "\n", "#")
	f.Fuzz(func(t *testing.T, ic, name, email, dept, post, no string) {
		d, err := Details{IC: ic, Name: name, Email: email, Department: dept, Post: post, StaffNumber: no}.Validate()
		if err != nil {
			return
		}
		// A valid record stays valid and unchanged when validated again.
		again, err := d.Validate()
		if err != nil || again != d {
			t.Fatalf("validated record %+v changes or fails again: %+v %v", d, again, err)
		}
	})
}
