package payment_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/payment"
)

var now = time.Date(2025, 3, 10, 2, 0, 0, 0, time.UTC)

func details() payment.Details {
	return payment.Details{
		Module:      payment.Tuntutan,
		Type:        payment.TuntutanPerjalanan,
		VoucherNo:   "BV-2025-000123",
		VoucherDate: "2025-03-01",
		Reference:   "TP/2025/77",
		Description: "Tuntutan perjalanan ke Kuala Lumpur",
		AmountSen:   123456,
		PayeeIC:     "880101-04-5678",
	}
}

func cmd(n int) uuid.UUID { return uuid.NewSHA1(uuid.NameSpaceOID, []byte{byte(n), byte(n >> 8)}) }

// change returns a valid change to status s.
func change(s payment.Status) payment.Change {
	c := payment.Change{To: s, Date: "2025-03-05"}
	switch s {
	case payment.DiterimaOlehBank:
		c.EFTNo, c.PaymentDate = "EFT0001", "2025-03-06"
	case payment.Dikeluarkan:
		c.ChequeNo, c.PaymentDate = "CHQ-55", "2025-03-06"
	case payment.GagalDiprosesBank, payment.Dibatalkan:
		c.Reason = "Akaun bank tidak sah"
	}
	return c
}

// pathTo lists the moves from Diterima to s.
var pathTo = map[payment.Status][]payment.Status{
	payment.Diterima:          nil,
	payment.DalamProses:       {payment.DalamProses},
	payment.Diluluskan:        {payment.DalamProses, payment.Diluluskan},
	payment.DihantarKeBank:    {payment.DalamProses, payment.Diluluskan, payment.DihantarKeBank},
	payment.DiterimaOlehBank:  {payment.DalamProses, payment.Diluluskan, payment.DihantarKeBank, payment.DiterimaOlehBank},
	payment.GagalDiprosesBank: {payment.DalamProses, payment.Diluluskan, payment.DihantarKeBank, payment.GagalDiprosesBank},
	payment.Dikeluarkan:       {payment.DalamProses, payment.Diluluskan, payment.Dikeluarkan},
	payment.Dibatalkan:        {payment.Dibatalkan},
}

// given replays the events of a payment that reached status s, received on
// 1 March (its moves are dated after it).
func given(t *testing.T, s payment.Status) *payment.Payment {
	t.Helper()
	d := details()
	d.ReceivedDate = "2025-03-01"
	d, err := d.Normalize(now)
	if err != nil {
		t.Fatal(err)
	}
	events := []eventlog.Event{payment.Recorded{PaymentID: "P1", CommandID: cmd(0).String(), Details: d}}
	from := payment.Diterima
	for i, to := range pathTo[s] {
		c, err := change(to).Normalize(now)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, payment.StatusChanged{PaymentID: "P1", CommandID: cmd(100 + i).String(), From: from, Change: c})
		from = to
	}
	p := payment.New()
	for _, e := range events {
		if err := p.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	if p.Status() != s {
		t.Fatalf("given: status %s, want %s", p.Status(), s)
	}
	return p
}

func TestRecord(t *testing.T) {
	p := payment.New()
	if err := p.Record("P1", cmd(1), details(), now); err != nil {
		t.Fatal(err)
	}
	ev := p.Uncommitted()
	if len(ev) != 1 {
		t.Fatalf("events: %v", ev)
	}
	rec := ev[0].(payment.Recorded)
	if rec.PayeeIC != "880101045678" || rec.ReceivedDate != "2025-03-10" || rec.CommandID != cmd(1).String() {
		t.Fatalf("recorded: %+v", rec)
	}
	if p.Status() != payment.Diterima {
		t.Fatalf("status %s", p.Status())
	}
}

func TestRecordRepeatIsNoOp(t *testing.T) {
	p := given(t, payment.Diterima)
	// Same command again, and the same details under another command.
	for _, c := range []uuid.UUID{cmd(0), cmd(7)} {
		if err := p.Record("P1", c, details(), now.Add(48*time.Hour)); err != nil {
			t.Fatalf("repeat %v: %v", c, err)
		}
	}
	if n := len(p.Uncommitted()); n != 0 {
		t.Fatalf("repeat recorded %d events", n)
	}
	d := details()
	d.AmountSen++
	if err := p.Record("P1", cmd(8), d, now); !errors.Is(err, payment.ErrAlreadyRecorded) {
		t.Fatalf("different details: %v", err)
	}
}

func TestRecordValidation(t *testing.T) {
	cases := []struct {
		field string
		edit  func(*payment.Details)
	}{
		{"module", func(d *payment.Details) { d.Module = "gaji" }},
		{"type", func(d *payment.Details) { d.Type = "" }},
		{"type", func(d *payment.Details) { d.Type = "pendahuluan-diri" }}, // wrong module
		{"type", func(d *payment.Details) { d.Type = "tuntutan-hiburan" }},
		{"voucher_no", func(d *payment.Details) { d.VoucherNo = "  " }},
		{"voucher_no", func(d *payment.Details) { d.VoucherNo = strings.Repeat("9", 33) }},
		{"voucher_date", func(d *payment.Details) { d.VoucherDate = "01/03/2025" }},
		{"voucher_date", func(d *payment.Details) { d.VoucherDate = "2025-02-30" }},
		{"voucher_date", func(d *payment.Details) { d.VoucherDate = "2027-01-01" }},
		{"voucher_date", func(d *payment.Details) { d.VoucherDate = "1989-12-31" }},
		{"description", func(d *payment.Details) { d.Description = "" }},
		{"description", func(d *payment.Details) { d.Description = "a\x00b" }},
		{"amount_sen", func(d *payment.Details) { d.AmountSen = 0 }},
		{"amount_sen", func(d *payment.Details) { d.AmountSen = -5 }},
		{"amount_sen", func(d *payment.Details) { d.AmountSen = payment.MaxAmountSen + 1 }},
		{"payee_ic", func(d *payment.Details) { d.PayeeIC = "" }},
		{"payee_ic", func(d *payment.Details) { d.PayeeIC = "88010104567" }},
		{"payee_ic", func(d *payment.Details) { d.PayeeIC = "881301045678" }}, // month 13
		{"payee_ic", func(d *payment.Details) { d.PayeeIC = "880101175678" }}, // place code 17
		{"payee_ic", func(d *payment.Details) { d.PayeeIC = "8801010456-78" }},
		{"received_date", func(d *payment.Details) { d.ReceivedDate = "yesterday" }},
	}
	for _, c := range cases {
		d := details()
		c.edit(&d)
		p := payment.New()
		err := p.Record("P1", cmd(1), d, now)
		var fe *payment.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || fe.Reason == "" {
			t.Errorf("%s: got %v", c.field, err)
		}
		if !errors.Is(err, payment.ErrInvalid) {
			t.Errorf("%s: not ErrInvalid: %v", c.field, err)
		}
		if len(p.Uncommitted()) != 0 {
			t.Errorf("%s: recorded despite error", c.field)
		}
	}
	for _, id := range []string{"", "-x", "a/b", strings.Repeat("x", 65)} {
		if err := payment.New().Record(id, cmd(1), details(), now); err == nil {
			t.Errorf("id %q accepted", id)
		}
	}
}

// TestEveryMove tries every target status from every status: the legal ones
// record exactly one StatusChanged, the others an *IllegalMoveError naming
// the current status and the allowed moves.
func TestEveryMove(t *testing.T) {
	legal := map[payment.Status][]payment.Status{
		payment.Diterima:          {payment.DalamProses, payment.Dibatalkan},
		payment.DalamProses:       {payment.Diluluskan, payment.Dibatalkan},
		payment.Diluluskan:        {payment.DihantarKeBank, payment.Dikeluarkan, payment.Dibatalkan},
		payment.DihantarKeBank:    {payment.DiterimaOlehBank, payment.GagalDiprosesBank, payment.Dikeluarkan, payment.Dibatalkan},
		payment.GagalDiprosesBank: {payment.DihantarKeBank, payment.Dikeluarkan, payment.Dibatalkan},
		payment.DiterimaOlehBank:  nil,
		payment.Dikeluarkan:       nil,
		payment.Dibatalkan:        nil,
	}
	for _, from := range payment.Statuses() {
		for _, to := range payment.Statuses() {
			p := given(t, from)
			err := p.ChangeStatus(cmd(9), change(to), now)
			if slices.Contains(legal[from], to) {
				if err != nil {
					t.Errorf("%s → %s: %v", from, to, err)
					continue
				}
				ev := p.Uncommitted()
				if len(ev) != 1 || ev[0].(payment.StatusChanged).From != from || ev[0].(payment.StatusChanged).To != to || p.Status() != to {
					t.Errorf("%s → %s: events %+v", from, to, ev)
				}
				continue
			}
			var ill *payment.IllegalMoveError
			if !errors.As(err, &ill) || !errors.Is(err, payment.ErrIllegalMove) {
				t.Errorf("%s → %s: got %v, want illegal move", from, to, err)
				continue
			}
			if ill.From != from || ill.To != to || !slices.Equal(ill.Allowed, legal[from]) {
				t.Errorf("%s → %s: error %+v", from, to, ill)
			}
			if !strings.Contains(err.Error(), from.Label()) {
				t.Errorf("%s → %s: message does not name the current status: %s", from, to, err)
			}
			for _, a := range legal[from] {
				if !strings.Contains(err.Error(), a.Label()) {
					t.Errorf("%s → %s: message does not name allowed %s: %s", from, to, a, err)
				}
			}
			// Only the refusal is recorded (under the command ID, so a
			// repeat gets it again); the status stays.
			if ev := p.Uncommitted(); len(ev) != 1 || p.Status() != from {
				t.Errorf("%s → %s: state changed despite refusal: %+v", from, to, ev)
			} else if r, ok := ev[0].(payment.MoveRefused); !ok || r.From != from || r.To != to || r.Code != payment.RefusedIllegalMove || !slices.Equal(r.Allowed, legal[from]) {
				t.Errorf("%s → %s: recorded %+v, want a MoveRefused", from, to, ev[0])
			}
		}
	}
}

func TestChangeFieldsPerStatus(t *testing.T) {
	cases := []struct {
		from  payment.Status
		c     payment.Change
		field string
	}{
		{payment.DihantarKeBank, payment.Change{To: payment.DiterimaOlehBank, PaymentDate: "2025-03-06"}, "eft_no"},
		{payment.DihantarKeBank, payment.Change{To: payment.DiterimaOlehBank, EFTNo: "E1"}, "payment_date"},
		{payment.Diluluskan, payment.Change{To: payment.Dikeluarkan, PaymentDate: "2025-03-06"}, "cheque_no"},
		{payment.DihantarKeBank, payment.Change{To: payment.GagalDiprosesBank}, "reason"},
		{payment.Diterima, payment.Change{To: payment.Dibatalkan, Reason: "  "}, "reason"},
		{payment.Diterima, payment.Change{To: payment.DalamProses, EFTNo: "E1"}, "eft_no"},
		{payment.Diterima, payment.Change{To: payment.DalamProses, Reason: "why"}, "reason"},
		{payment.Diterima, payment.Change{To: payment.DalamProses, PaymentDate: "2025-03-01"}, "payment_date"},
		{payment.DihantarKeBank, payment.Change{To: payment.DiterimaOlehBank, EFTNo: "E1", ChequeNo: "C1", PaymentDate: "2025-03-06"}, "cheque_no"},
		{payment.Diterima, payment.Change{To: "lulus"}, "status"},
		{payment.Diterima, payment.Change{}, "status"},
		{payment.Diterima, payment.Change{To: payment.DalamProses, Date: "2025-13-01"}, "date"},
	}
	for _, c := range cases {
		p := given(t, c.from)
		err := p.ChangeStatus(cmd(9), c.c, now)
		var fe *payment.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%+v: got %v, want field %s", c.c, err, c.field)
		}
	}
}

func TestChangeDefaultsDateAndRepeatIsNoOp(t *testing.T) {
	p := given(t, payment.Diterima)
	late := time.Date(2025, 3, 10, 17, 0, 0, 0, time.UTC) // 01:00 on the 11th in Melaka
	if err := p.ChangeStatus(cmd(9), payment.Change{To: payment.DalamProses}, late); err != nil {
		t.Fatal(err)
	}
	if got := p.Uncommitted()[0].(payment.StatusChanged).Date; got != "2025-03-11" {
		t.Fatalf("default date %s", got)
	}
	// The same command again, even after further moves, is a no-op.
	if err := p.ChangeStatus(cmd(10), payment.Change{To: payment.Diluluskan}, late); err != nil {
		t.Fatal(err)
	}
	if err := p.ChangeStatus(cmd(9), payment.Change{To: payment.DalamProses}, late); err != nil {
		t.Fatalf("repeat: %v", err)
	}
	if len(p.Uncommitted()) != 2 || p.Status() != payment.Diluluskan {
		t.Fatalf("repeat changed state: %d events, %s", len(p.Uncommitted()), p.Status())
	}
}

func TestNotRecorded(t *testing.T) {
	p := payment.New()
	if err := p.ChangeStatus(cmd(1), change(payment.DalamProses), now); !errors.Is(err, payment.ErrNotRecorded) {
		t.Fatal(err)
	}
	if err := p.Amend(cmd(1), details(), "", now); !errors.Is(err, payment.ErrNotRecorded) {
		t.Fatal(err)
	}
}

func TestAmend(t *testing.T) {
	p := given(t, payment.Diluluskan)
	d := details()
	d.AmountSen = 99900
	d.Type = payment.TuntutanLebihMasa
	if err := p.Amend(cmd(20), d, "Amaun dibetulkan", now); err != nil {
		t.Fatal(err)
	}
	ev := p.Uncommitted()
	if len(ev) != 1 || ev[0].(payment.Amended).AmountSen != 99900 || ev[0].(payment.Amended).ReceivedDate != "2025-03-01" {
		t.Fatalf("%+v", ev)
	}
	if p.Details().AmountSen != 99900 {
		t.Fatal("state not amended")
	}
	// Same details again under another command: nothing changes; only
	// that the command ran is recorded (so a repeat of it stays a repeat).
	if err := p.Amend(cmd(21), d, "", now); err != nil || len(p.Uncommitted()) != 2 {
		t.Fatalf("identical amendment: %v, %d events", err, len(p.Uncommitted()))
	}
	if u, ok := p.Uncommitted()[1].(payment.AmendmentUnchanged); !ok || u.CommandID != cmd(21).String() || p.Details().AmountSen != 99900 {
		t.Fatalf("identical amendment recorded %+v", p.Uncommitted()[1])
	}
	d2 := d
	d2.PayeeIC = "900202-05-1234"
	var fe *payment.FieldError
	if err := p.Amend(cmd(22), d2, "", now); !errors.As(err, &fe) || fe.Field != "payee_ic" {
		t.Fatalf("payee change: %v", err)
	}
	d3 := d
	d3.Module, d3.Type = payment.Pendahuluan, payment.PendahuluanDiri
	if err := p.Amend(cmd(23), d3, "", now); !errors.As(err, &fe) || fe.Field != "module" {
		t.Fatalf("module change: %v", err)
	}
}

func TestAmendRefusedOnceAtTheBank(t *testing.T) {
	for _, s := range []payment.Status{payment.DihantarKeBank, payment.DiterimaOlehBank, payment.GagalDiprosesBank, payment.Dikeluarkan, payment.Dibatalkan} {
		p := given(t, s)
		d := details()
		d.AmountSen = 1
		if err := p.Amend(cmd(20), d, "", now); !errors.Is(err, payment.ErrNotAmendable) {
			t.Errorf("%s: %v", s, err)
		}
	}
}

func TestApplyRefusesUnknownEvents(t *testing.T) {
	type other struct{ payment.Recorded }
	if err := payment.New().Apply(other{}); err == nil {
		t.Fatal("unknown event applied")
	}
	if err := payment.New().Apply(payment.StatusChanged{}); !errors.Is(err, payment.ErrNotRecorded) {
		t.Fatal("status change before record applied")
	}
}

func TestEventsRoundTripThroughRegistry(t *testing.T) {
	reg := eventlog.NewRegistry()
	payment.Register(reg)
	p := given(t, payment.Diterima)
	if err := p.ChangeStatus(cmd(5), change(payment.Dibatalkan), now); err != nil {
		t.Fatal(err)
	}
	e := p.Uncommitted()[0]
	typ, data, err := reg.Encode(e)
	if err != nil || typ != "payment.StatusChanged.v1" {
		t.Fatal(typ, err)
	}
	env, err := reg.Decode(eventlog.Record{Type: typ, Data: data})
	if err != nil || env.Event != e {
		t.Fatalf("%v %+v", err, env.Event)
	}
	if !strings.Contains(string(data), `"status":"dibatalkan"`) || !strings.Contains(string(data), `"from":"diterima"`) {
		t.Fatalf("data %s", data)
	}
}

// "More than a year in the future" is a question about calendar dates in
// Melaka: every hour of 10 March 2025 there (UTC+8, which starts on 9 March
// in UTC) accepts 10 March 2026 and refuses 11 March 2026.
func TestYearAheadIsTheMelakaDate(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(2025, 3, 9, 16, 0, 0, 0, time.UTC),   // 00:00 MYT
		time.Date(2025, 3, 9, 20, 0, 0, 0, time.UTC),   // 04:00 MYT
		time.Date(2025, 3, 9, 23, 59, 0, 0, time.UTC),  // 07:59 MYT
		time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC),   // 08:00 MYT
		time.Date(2025, 3, 10, 2, 0, 0, 0, time.UTC),   // 10:00 MYT
		time.Date(2025, 3, 10, 15, 59, 0, 0, time.UTC), // 23:59 MYT
	} {
		d := details()
		d.VoucherDate = "2026-03-10"
		if _, err := d.Normalize(at); err != nil {
			t.Errorf("%s MYT: a year ahead to the day refused: %v", at.In(calendar.Melaka).Format("15:04"), err)
		}
		d.VoucherDate = "2026-03-11"
		var fe *payment.FieldError
		if _, err := d.Normalize(at); !errors.As(err, &fe) || fe.Field != "voucher_date" {
			t.Errorf("%s MYT: a year and a day ahead: %v, want a voucher_date error", at.In(calendar.Melaka).Format("15:04"), err)
		}
	}
}

// Given a payment recorded with an explicit received date, when a new
// request records it again with another explicit date, then it is refused
// as a conflict (not answered duplicate with the date dropped); a request
// that leaves the date out is still the same payment on a later day.
func TestRecordAgainWithOtherReceivedDate(t *testing.T) {
	p := payment.New()
	d := details()
	d.ReceivedDate = "2025-03-02"
	if err := p.Record("P1", cmd(1), d, now); err != nil {
		t.Fatal(err)
	}
	n := len(p.Uncommitted())
	other := d
	other.ReceivedDate = "2025-03-08"
	if err := p.Record("P1", cmd(2), other, now); !errors.Is(err, payment.ErrAlreadyRecorded) {
		t.Fatalf("other received date: %v, want %v", err, payment.ErrAlreadyRecorded)
	}
	if err := p.Record("P1", cmd(3), d, now.Add(72*time.Hour)); err != nil {
		t.Fatalf("same explicit date again: %v", err)
	}
	left := d
	left.ReceivedDate = ""
	if err := p.Record("P1", cmd(4), left, now.Add(72*time.Hour)); err != nil {
		t.Fatalf("date left out, three days later: %v", err)
	}
	if len(p.Uncommitted()) != n || p.Details().ReceivedDate != "2025-03-02" {
		t.Fatalf("events %d → %d, received date %s", n, len(p.Uncommitted()), p.Details().ReceivedDate)
	}
}

// A move dated ahead was recorded: staff saw "Diterima oleh Bank" on a day
// still to come (any date up to a year ahead passed). Today in Melaka is
// the latest a move may be dated; a repeat keeps answering as before.
func TestChangeIsNotDatedAhead(t *testing.T) {
	late := time.Date(2025, 3, 10, 17, 0, 0, 0, time.UTC) // 01:00 on the 11th in Melaka
	for _, date := range []string{"2025-03-12", "2026-03-10"} {
		p := given(t, payment.DihantarKeBank)
		err := p.ChangeStatus(cmd(9), payment.Change{To: payment.DiterimaOlehBank, Date: date, EFTNo: "E1", PaymentDate: "2025-03-10"}, late)
		var fe *payment.FieldError
		if !errors.As(err, &fe) || fe.Field != "date" || !strings.Contains(fe.Reason, "after today (2025-03-11)") || len(p.Uncommitted()) != 0 {
			t.Errorf("%s: %v", date, err)
		}
	}
	p := given(t, payment.DihantarKeBank)
	if err := p.ChangeStatus(cmd(9), payment.Change{To: payment.DiterimaOlehBank, Date: "2025-03-11", EFTNo: "E1", PaymentDate: "2025-03-10"}, late); err != nil {
		t.Fatalf("today in Melaka: %v", err)
	}
}

// Given a payment received on 1 March and moved to Dalam Proses on 5 March,
// when the next move is dated before the move it follows, or (first move)
// before the payment was received, then it is refused on date, naming the
// date it may not precede, and nothing is recorded. Before, any date up to
// today was taken, and the history showed a payment approved before it was
// in process, or in process before it was received. The same day is fine.
func TestMoveIsNotDatedBeforeTheOneItFollows(t *testing.T) {
	received := given(t, payment.Diterima)
	var fe *payment.FieldError
	err := received.ChangeStatus(cmd(9), payment.Change{To: payment.DalamProses, Date: "2025-02-28"}, now)
	if !errors.As(err, &fe) || fe.Field != "date" || !strings.Contains(fe.Reason, "received date (2025-03-01)") || len(received.Uncommitted()) != 0 {
		t.Errorf("first move before the received date: %v", err)
	}
	if err := received.ChangeStatus(cmd(9), payment.Change{To: payment.DalamProses, Date: "2025-03-01"}, now); err != nil {
		t.Errorf("first move on the received date: %v", err)
	}

	inProcess := given(t, payment.DalamProses) // moved on 2025-03-05
	for _, to := range []payment.Status{payment.Diluluskan, payment.Dibatalkan} {
		c := change(to)
		c.Date = "2025-03-04"
		err := inProcess.ChangeStatus(cmd(9), c, now)
		if !errors.As(err, &fe) || fe.Field != "date" || !strings.Contains(fe.Reason, "previous move's date (2025-03-05") || len(inProcess.Uncommitted()) != 0 {
			t.Errorf("%s before the previous move: %v", to, err)
		}
	}
	if err := inProcess.ChangeStatus(cmd(9), change(payment.Diluluskan), now); err != nil {
		t.Errorf("on the previous move's date: %v", err)
	}
	// A repeat of a move stored before is still its repeat.
	if err := received.ChangeStatus(cmd(9), payment.Change{To: payment.DalamProses, Date: "2025-03-01"}, now); err != nil {
		t.Errorf("repeat: %v", err)
	}
}

// Given a log stored before moves had to be dated by today (a994efa) or
// after the received date (0817a22, 7ced934): a move dated ahead, or a
// received date amended past the moves, when the payment is moved today,
// then the move is taken. Before, a move dated before that later date was
// refused and one dated on it was refused as ahead, so the payment could
// not move at all, not even be cancelled, until that day came.
func TestMoveAfterADateStoredAheadIsTakenToday(t *testing.T) {
	d := details()
	d.ReceivedDate = "2025-03-01"
	d, err := d.Normalize(now)
	if err != nil {
		t.Fatal(err)
	}
	recorded := payment.Recorded{PaymentID: "P1", CommandID: cmd(0).String(), Details: d}
	ahead := d
	ahead.ReceivedDate = "2025-03-20" // after now's 10 March
	for name, stored := range map[string][]eventlog.Event{
		"move dated ahead": {recorded,
			payment.StatusChanged{PaymentID: "P1", CommandID: cmd(1).String(), From: payment.Diterima, Change: payment.Change{To: payment.DalamProses, Date: "2025-04-01"}}},
		"received date amended ahead past a move": {recorded,
			payment.StatusChanged{PaymentID: "P1", CommandID: cmd(1).String(), From: payment.Diterima, Change: payment.Change{To: payment.DalamProses, Date: "2025-03-05"}},
			payment.Amended{PaymentID: "P1", CommandID: cmd(2).String(), Details: ahead},
			payment.StatusChanged{PaymentID: "P1", CommandID: cmd(3).String(), From: payment.DalamProses, Change: payment.Change{To: payment.Diluluskan, Date: "2025-03-06"}},
			payment.StatusChanged{PaymentID: "P1", CommandID: cmd(4).String(), From: payment.Diluluskan, Change: payment.Change{To: payment.DihantarKeBank, Date: "2025-03-07"}}},
	} {
		p := payment.New()
		for _, e := range stored {
			if err := p.Apply(e); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.ChangeStatus(cmd(9), payment.Change{To: payment.Dibatalkan, Reason: "Ditarik balik oleh pemohon"}, now); err != nil || p.Status() != payment.Dibatalkan {
			t.Errorf("%s: cancelled today: %v", name, err)
		}
	}
	// A date ahead still does not let a move go before a date that has come.
	p := given(t, payment.DalamProses) // moved on 2025-03-05
	var fe *payment.FieldError
	if err := p.ChangeStatus(cmd(9), payment.Change{To: payment.Dibatalkan, Date: "2025-03-04", Reason: "x"}, now); !errors.As(err, &fe) || fe.Field != "date" {
		t.Errorf("before a previous move that has come: %v", err)
	}
}

// Given a payment that moved to Dalam Proses on 5 March, when an amendment
// moves its received date past that (6 March), then it is refused on
// received_date naming the move, and nothing is recorded: the history would
// show it in process before it was received (moves may not be dated before
// the received date). Before, the amendment was recorded. The move's day,
// an earlier day, and a payment not yet moved are fine.
func TestReceivedDateIsNotAmendedPastAMove(t *testing.T) {
	late := details()
	late.ReceivedDate = "2025-03-06"
	inProcess := given(t, payment.DalamProses)
	err := inProcess.Amend(cmd(9), late, "Tarikh terima dibetulkan", now)
	var fe *payment.FieldError
	if !errors.As(err, &fe) || fe.Field != "received_date" || !strings.Contains(fe.Reason, "first status move's date (2025-03-05, to Dalam Proses)") || len(inProcess.Uncommitted()) != 0 {
		t.Fatalf("received date past the move: %v, %d events", err, len(inProcess.Uncommitted()))
	}
	approved := given(t, payment.Diluluskan)
	if err := approved.Amend(cmd(9), late, "", now); !errors.As(err, &fe) || fe.Field != "received_date" {
		t.Errorf("received date past the moves of an approved payment: %v", err)
	}
	for _, date := range []string{"2025-03-05", "2025-02-28"} {
		d := details()
		d.ReceivedDate = date
		p := given(t, payment.DalamProses)
		if err := p.Amend(cmd(9), d, "", now); err != nil || p.Details().ReceivedDate != date {
			t.Errorf("received date amended to %s: %v", date, err)
		}
	}
	received := given(t, payment.Diterima)
	if err := received.Amend(cmd(9), late, "", now); err != nil || received.Details().ReceivedDate != "2025-03-06" {
		t.Errorf("received date of a payment not yet moved: %v", err)
	}
}

// Given a payment sent to the bank, when it is moved to Diterima oleh Bank
// with a payment date after today in Melaka, then it is refused on
// payment_date and nothing is recorded: the bank cannot have received money
// on a day still to come (before, any date up to a year ahead was taken).
// Today is fine, and a cheque (Dikeluarkan) may still be post-dated.
func TestBankPaymentIsNotDatedAhead(t *testing.T) {
	late := time.Date(2025, 3, 10, 17, 0, 0, 0, time.UTC) // 01:00 on the 11th in Melaka
	for _, date := range []string{"2025-03-12", "2026-03-10"} {
		p := given(t, payment.DihantarKeBank)
		err := p.ChangeStatus(cmd(9), payment.Change{To: payment.DiterimaOlehBank, Date: "2025-03-11", EFTNo: "E1", PaymentDate: date}, late)
		var fe *payment.FieldError
		if !errors.As(err, &fe) || fe.Field != "payment_date" || !strings.Contains(fe.Reason, "after today (2025-03-11)") || len(p.Uncommitted()) != 0 {
			t.Errorf("paid on %s: %v", date, err)
		}
	}
	p := given(t, payment.DihantarKeBank)
	if err := p.ChangeStatus(cmd(9), payment.Change{To: payment.DiterimaOlehBank, Date: "2025-03-11", EFTNo: "E1", PaymentDate: "2025-03-11"}, late); err != nil {
		t.Errorf("paid today in Melaka: %v", err)
	}
	cheque := given(t, payment.DihantarKeBank)
	if err := cheque.ChangeStatus(cmd(9), payment.Change{To: payment.Dikeluarkan, Date: "2025-03-11", ChequeNo: "C1", PaymentDate: "2025-03-20"}, late); err != nil {
		t.Errorf("post-dated cheque: %v", err)
	}
}

// An illegal move is refused as such whatever its fields lack or get
// wrong: given a cancelled payment and a paid one, when a move is sent
// that could not happen from there with a field missing or dated ahead,
// then the answer is the IllegalMoveError (its current status and the
// moves allowed), not a field error about a move that cannot be made.
func TestIllegalMoveIsSaidBeforeItsFields(t *testing.T) {
	for _, tc := range []struct {
		name string
		from payment.Status
		c    payment.Change
	}{
		{"paid, cancelled without a reason", payment.DiterimaOlehBank, payment.Change{To: payment.Dibatalkan, Date: "2025-03-05"}},
		{"cancelled, paid with a payment date ahead", payment.Dibatalkan, payment.Change{To: payment.DiterimaOlehBank, Date: "2025-03-05", EFTNo: "EFT1", PaymentDate: "2025-12-31"}},
		{"cancelled, paid without an EFT number", payment.Dibatalkan, payment.Change{To: payment.DiterimaOlehBank, Date: "2025-03-05", PaymentDate: "2025-03-05"}},
	} {
		p := given(t, tc.from)
		var ill *payment.IllegalMoveError
		if err := p.ChangeStatus(cmd(7), tc.c, now); !errors.As(err, &ill) || ill.From != tc.from {
			t.Errorf("%s: %v, want an IllegalMoveError from %s", tc.name, err, tc.from)
		}
		// The refusal is recorded with the move as it was asked.
		if got := p.Uncommitted(); len(got) != 1 || got[0].(payment.MoveRefused).Change != tc.c {
			t.Errorf("%s: recorded %v", tc.name, got)
		}
	}
	// A move from where it is legal still gets its fields checked.
	var fe *payment.FieldError
	if err := given(t, payment.DihantarKeBank).ChangeStatus(cmd(8), payment.Change{To: payment.GagalDiprosesBank, Date: "2025-03-05"}, now); !errors.As(err, &fe) || fe.Field != "reason" {
		t.Errorf("a legal move without its reason: %v, want a field error on reason", err)
	}
}
