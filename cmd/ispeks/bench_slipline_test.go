package main

import (
	"bufio"
	"bytes"
	"fmt"
	"testing"
	"time"
)

// writeSlip builds its line with appends; it must be the line fmt wrote
// before (the dataset a reused --dir holds was written with it).
func TestWriteSlipLine(t *testing.T) {
	month := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range 50 {
		s := newBenchStaff(i * 613)
		var got bytes.Buffer
		w := bufio.NewWriter(&got)
		writeSlip(w, s, i, month)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if want := fmtSlipLine(s, i, month); got.String() != want {
			t.Fatalf("staff %d:\n got %s\nwant %s", i, got.String(), want)
		}
	}
}

// fmtSlipLine is the line as fmt wrote it.
func fmtSlipLine(s benchStaff, i int, month time.Time) string {
	itka, cola, earn, pcb, kwsp, perkeso, ded := slipAmounts(s)
	id := benchSlipID(month, i)
	payDate := time.Date(month.Year(), month.Month(), 25, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
	return fmt.Sprintf(`{"kind":"statement","request_id":"gaji-%s","statement":{"statement_id":%q,"type":"slip-gaji-bulanan",`+
		`"period":{"year":%d,"month":%d},"payee":{"ic":%q,"name":%q,"staff_no":%q,"department":%q,"post":%q,"grade":%q},`+
		`"employer":{"name":"Kerajaan Negeri Melaka"},"earnings":[{"code":"0001","name":"Gaji Pokok","amount_sen":%d},`+
		`{"name":"ITKA","amount_sen":%d},{"name":"COLA","amount_sen":%d}],"deductions":[{"name":"PCB","amount_sen":%d},`+
		`{"name":"KWSP","amount_sen":%d},{"name":"PERKESO","amount_sen":%d}],`+
		`"totals":{"earnings_sen":%d,"deductions_sen":%d,"net_sen":%d},"pay_date":%q}}`+"\n",
		id, id, month.Year(), int(month.Month()), s.IC, s.Name, s.StaffNo, s.Dept, s.Post, s.Grade,
		s.Basic, itka, cola, pcb, kwsp, perkeso, earn, ded, earn-ded, payDate)
}

func BenchmarkWriteSlip(b *testing.B) {
	month := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	s := newBenchStaff(7)
	w := bufio.NewWriterSize(&bytes.Buffer{}, 1<<20)
	for i := 0; b.Loop(); i++ {
		writeSlip(w, s, i, month)
		if w.Available() < 4096 {
			w.Reset(&bytes.Buffer{})
		}
	}
}

// benchSlipID is what fmt's "SG-%s-%06d" wrote: a reused --dir holds IDs
// made with it.
func TestBenchSlipIDPadsToSixDigits(t *testing.T) {
	m := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, i := range []int{0, 1, 9, 10, 99, 100, 12345, 99999, 100000, 999999, 1000000, 1234567} {
		if got, want := benchSlipID(m, i), fmt.Sprintf("SG-%s-%06d", m.Format("2006-01"), i); got != want {
			t.Fatalf("%d: %s, want %s", i, got, want)
		}
	}
}
