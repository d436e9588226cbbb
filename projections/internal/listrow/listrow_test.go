package listrow

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestRoundTripAndJSON(t *testing.T) {
	strs := []string{"", "plain", `quote " and \ slash`, "tab\tnew\nline\r", "ctl\x01\x1f", "Bahasa: ringgit — 5 € ✓", "<a&b>", "bad\xffutf8"}
	w := NewWriter(3, 64)
	for i, s := range strs {
		w.Str(s).Int(int64(i*-1000 - 7))
	}
	w.Int(-9223372036854775808).Int(9223372036854775807)
	body := w.Bytes()
	// The body is JSON and encoding/json reads the same values.
	var generic []any
	if err := json.Unmarshal(body, &generic); err != nil {
		t.Fatalf("not JSON: %v: %s", err, body)
	}
	r := NewReader(body, 3)
	for i, s := range strs {
		want := s
		if s == "bad\xffutf8" {
			want = "bad\ufffdutf8"
		}
		if got := r.Str(); got != want {
			t.Errorf("string %d: %q, want %q", i, got, want)
		}
		if got := r.Int(); got != int64(i*-1000-7) {
			t.Errorf("int %d: %d", i, got)
		}
		if generic[1+2*i] != want {
			t.Errorf("encoding/json string %d: %q, want %q", i, generic[1+2*i], want)
		}
	}
	if a, b := r.Int(), r.Int(); a != -9223372036854775808 || b != 9223372036854775807 {
		t.Errorf("extremes: %d %d", a, b)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
}

func TestReadsReformattedJSON(t *testing.T) {
	// A store may hand back the JSON re-spaced; the row still reads.
	r := NewReader([]byte(" [ 1 , \"a\\u0041\" ,\n -5 ] \n"), 1)
	if s, n := r.Str(), r.Int(); s != "aA" || n != -5 || r.Err() != nil {
		t.Fatalf("%q %d %v", s, n, r.Err())
	}
}

func TestRejectsOtherLayouts(t *testing.T) {
	for name, c := range map[string]struct {
		body string
		read func(*Reader)
	}{
		"object":        {`{"id":"x"}`, func(r *Reader) { r.Str() }},
		"other version": {`[2,"x"]`, func(r *Reader) { r.Str() }},
		"too short":     {`[1,"x"]`, func(r *Reader) { r.Str(); r.Int() }},
		"too long":      {`[1,"x",5]`, func(r *Reader) { r.Str() }},
		"wrong type":    {`[1,5]`, func(r *Reader) { r.Str() }},
		"float":         {`[1,5.5]`, func(r *Reader) { r.Int() }},
		"unterminated":  {`[1,"x`, func(r *Reader) { r.Str() }},
		"no close":      {`[1,"x"`, func(r *Reader) { r.Str() }},
		"trailing":      {`[1,"x"]x`, func(r *Reader) { r.Str() }},
		"empty":         {``, func(r *Reader) { r.Str() }},
	} {
		r := NewReader([]byte(c.body), 1)
		c.read(&r)
		if err := r.Err(); !errors.Is(err, ErrLayout) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestReaderDoesNotCopyTheBody(t *testing.T) {
	w := NewWriter(1, 64)
	w.Str("Mac 2026")
	w.Int(12345)
	body := w.Bytes()
	allocs := testing.AllocsPerRun(100, func() {
		r := NewReader(body, 1)
		if r.Str() != "Mac 2026" || r.Int() != 12345 || r.Err() != nil {
			t.Fatal("row misread")
		}
	})
	if allocs != 0 {
		t.Fatalf("reading a row allocates %v times", allocs)
	}
}

func TestIntsAtEveryLength(t *testing.T) {
	// Up to 18 digits are read without strconv; 19 with it.
	for n, v := int64(1), 0; v < 19; v++ {
		for _, x := range []int64{n - 1, n, -n, -(n - 1), n*10 - 1, -(n*10 - 1)} {
			w := NewWriter(1, 32)
			w.Int(x)
			r := NewReader(w.Bytes(), 1)
			if got := r.Int(); got != x || r.Err() != nil {
				t.Fatalf("%d read as %d (%v)", x, got, r.Err())
			}
		}
		n *= 10
	}
	for _, bad := range []string{`[1,-]`, `[1,]`, `[1,99999999999999999999]`, `[1,--1]`} {
		r := NewReader([]byte(bad), 1)
		r.Int()
		if !errors.Is(r.Err(), ErrLayout) {
			t.Errorf("%s: %v", bad, r.Err())
		}
	}
}
