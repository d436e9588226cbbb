package demo_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/mykad"
	"github.com/melaka-gov/ispeks/domain/payment"
	"github.com/melaka-gov/ispeks/domain/statement"
	"github.com/melaka-gov/ispeks/infra/demo"
	"github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
)

type rig struct {
	t     *testing.T
	store *sqlite.Store
	reg   *eventlog.Registry
	mu    sync.Mutex
	now   time.Time
}

func newRig(t *testing.T, now time.Time) *rig {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "events.db"), sqlite.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	reg := eventlog.NewRegistry()
	employee.Register(reg)
	payment.Register(reg)
	statement.Register(reg)
	return &rig{t: t, store: store, reg: reg, now: now}
}

func (r *rig) clock() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.now
}

func (r *rig) load() demo.Summary {
	r.t.Helper()
	sum, err := demo.Load(context.Background(), demo.Deps{
		Runner: commands.Runner{Store: r.store, Registry: r.reg, Now: r.clock},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return sum
}

func (r *rig) head() uint64 {
	p, err := r.store.LastPosition(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return p
}

// world is the log read back and replayed.
type world struct {
	staff      map[string]employee.Details
	payments   map[string]*payment.Payment
	moves      int
	statements map[string]statement.Content
	actors     map[eventlog.Actor]int
}

func (r *rig) read() world {
	r.t.Helper()
	w := world{staff: map[string]employee.Details{}, payments: map[string]*payment.Payment{},
		statements: map[string]statement.Content{}, actors: map[eventlog.Actor]int{}}
	emps := map[string]*employee.Employee{}
	var after uint64
	for {
		recs, err := r.store.ReadAll(context.Background(), after, 500)
		if err != nil {
			r.t.Fatal(err)
		}
		for _, rec := range recs {
			after = rec.Position
			env, err := r.reg.Decode(rec)
			if err != nil {
				r.t.Fatal(err)
			}
			w.actors[rec.Metadata.Actor]++
			switch ev := env.Event.(type) {
			case employee.StaffRecorded, employee.StaffUpdated:
				e := emps[rec.Stream]
				if e == nil {
					e = employee.New()
					emps[rec.Stream] = e
				}
				if err := e.Apply(ev); err != nil {
					r.t.Fatal(err)
				}
				w.staff[e.Details().IC] = e.Details()
			case payment.Recorded, payment.StatusChanged:
				p := w.payments[rec.Stream]
				if p == nil {
					p = payment.New()
					w.payments[rec.Stream] = p
				}
				if err := p.Apply(ev); err != nil {
					r.t.Fatal(err)
				}
				if _, ok := ev.(payment.StatusChanged); ok {
					w.moves++
				}
			case statement.Issued:
				w.statements[ev.StatementID] = ev.Content
			default:
				r.t.Fatalf("unexpected event %s", rec.Type)
			}
		}
		if len(recs) < 500 {
			return w
		}
	}
}

var t0 = time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC) // 2 March 2026, 11:00 in Melaka

func TestLoadTwiceAppendsNothing(t *testing.T) {
	r := newRig(t, t0)
	first := r.load()
	head := r.head()
	if first.Appended == 0 || uint64(first.Appended) != head || first.LastPosition != head {
		t.Fatalf("first load %+v, log head %d", first, head)
	}
	second := r.load()
	if r.head() != head || second.Appended != 0 || second.LastPosition != 0 {
		t.Fatalf("second load appended: %+v, head %d→%d", second, head, r.head())
	}
	if second.Statements != first.Statements || second.Payments != first.Payments {
		t.Fatalf("second load planned other items: %+v vs %+v", second, first)
	}

	// A later start adds the periods paid since, and nothing else: the
	// payments' dates count back from a later today, but their commands
	// are the ones already run.
	r.mu.Lock()
	r.now = t0.AddDate(0, 1, 0) // 2 April: March slips, Bantuan Khas 2026 paid since
	r.mu.Unlock()
	later := r.load()
	w := r.read()
	if later.Appended == 0 || len(w.statements) != first.Statements+later.Appended {
		t.Fatalf("later load %+v; %d statements in the log", later, len(w.statements))
	}
	if len(w.payments) != first.Payments || w.moves != first.StatusChanges {
		t.Fatalf("later load changed payments: %d payments, %d moves", len(w.payments), w.moves)
	}
}

func TestEveryStatusAndType(t *testing.T) {
	r := newRig(t, t0)
	sum := r.load()
	w := r.read()

	if len(w.payments) != sum.Payments || w.moves != sum.StatusChanges || len(w.statements) != sum.Statements {
		t.Fatalf("summary %+v; log has %d payments, %d moves, %d statements", sum, len(w.payments), w.moves, len(w.statements))
	}
	if len(w.actors) != 1 || w.actors[demo.Actor] == 0 {
		t.Fatalf("actors %v", w.actors)
	}

	// Every status of both modules, and the first person alone has them all.
	first := demo.Staff()[0].IC
	all := map[payment.Module]map[payment.Status]bool{}
	firsts := map[payment.Module]map[payment.Status]bool{}
	for _, p := range w.payments {
		d := p.Details()
		if all[d.Module] == nil {
			all[d.Module], firsts[d.Module] = map[payment.Status]bool{}, map[payment.Status]bool{}
		}
		all[d.Module][p.Status()] = true
		if d.PayeeIC == first {
			firsts[d.Module][p.Status()] = true
		}
		if _, ok := w.staff[d.PayeeIC]; !ok {
			t.Fatalf("payment %s to someone not in the master", p.ID())
		}
	}
	for _, m := range payment.Modules() {
		for _, s := range payment.Statuses() {
			if !all[m][s] || !firsts[m][s] {
				t.Errorf("no %s payment in status %s (for the first person: %v)", m.Label(), s.Label(), firsts[m][s])
			}
		}
	}

	// Every statement type; totals add up; slips of the last 18 months.
	types := map[statement.Type]int{}
	monthlyOf := map[string]map[int]bool{} // IC → YYYYMM
	for id, c := range w.statements {
		types[c.Type]++
		if _, ok := w.staff[c.Payee.IC]; !ok {
			t.Fatalf("statement %s to someone not in the master", id)
		}
		var e, d int64
		for _, l := range c.Earnings {
			e += l.AmountSen
		}
		for _, l := range c.Deductions {
			d += l.AmountSen
		}
		if c.Totals.EarningsSen != e || c.Totals.DeductionsSen != d || c.Totals.NetSen != e-d || c.Totals.NetSen <= 0 {
			t.Fatalf("statement %s totals %+v, lines %d - %d", id, c.Totals, e, d)
		}
		if c.Type == statement.SlipGajiBulanan {
			if monthlyOf[c.Payee.IC] == nil {
				monthlyOf[c.Payee.IC] = map[int]bool{}
			}
			monthlyOf[c.Payee.IC][c.Period.Year*100+c.Period.Month] = true
			names := map[string]bool{}
			for _, l := range c.Earnings {
				names[l.Code] = true
			}
			if !names["GP"] || !names["ITKA"] || !names["ITP"] || !names["COLA"] {
				t.Fatalf("slip %s lacks a basic line: %v", id, names)
			}
		}
	}
	for _, typ := range statement.Types() {
		if types[typ] == 0 {
			t.Errorf("no statement of type %s", typ.Label())
		}
	}
	if len(monthlyOf) < 8 {
		t.Fatalf("monthly slips for only %d people", len(monthlyOf))
	}
	for ic, months := range monthlyOf {
		// Today is 2 March 2026: February's slip (paid on 25 February) is
		// the newest; 18 months back is September 2024.
		if len(months) != 18 || !months[202602] || !months[202409] || months[202603] {
			t.Fatalf("%s has monthly slips %v", mykad.Mask(ic), months)
		}
	}
	deductions := map[string]bool{}
	for _, c := range w.statements {
		for _, l := range c.Deductions {
			deductions[l.Code] = true
		}
	}
	for _, code := range []string{"PCB", "KWSP", "PERKESO", "ZAKAT", "ANGKASA", "LPPSA"} {
		if !deductions[code] {
			t.Errorf("no statement deducts %s", code)
		}
	}
}

func TestStaffList(t *testing.T) {
	people := demo.Staff()
	if len(people) < 12 {
		t.Fatalf("%d demo staff", len(people))
	}
	mailboxes := map[string]int{}
	depts := map[string]bool{}
	ics := map[string]bool{}
	for _, p := range people {
		d, err := p.Details().Validate()
		if err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		if d != p.Details() {
			t.Fatalf("%s is not in normalised form: %+v", p.Name, d)
		}
		if !employee.DomainAllowed(p.Email, []string{"melaka.gov.my"}) {
			t.Fatalf("%s: e-mail %s", p.Name, p.Email)
		}
		if ics[p.IC] {
			t.Fatalf("IC of %s twice", p.Name)
		}
		ics[p.IC] = true
		mailboxes[p.Email]++
		depts[p.Department] = true
		if p.SharedMailbox != (mailboxes[p.Email] > 1 || strings.HasPrefix(p.Email, "pentadbiran.")) {
			t.Fatalf("%s: SharedMailbox %v", p.Name, p.SharedMailbox)
		}
	}
	shared := 0
	for _, n := range mailboxes {
		if n > 1 {
			shared += n
		}
	}
	if shared != 2 || len(depts) < 6 {
		t.Fatalf("%d staff share a mailbox, %d departments", shared, len(depts))
	}
}

func TestLoadStopsOnCancel(t *testing.T) {
	r := newRig(t, t0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := demo.Load(ctx, demo.Deps{Runner: commands.Runner{Store: r.store, Registry: r.reg, Now: r.clock}, Logger: slog.New(slog.DiscardHandler)})
	if err == nil {
		t.Fatal("a cancelled load succeeded")
	}
}
