package commands_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/loginprobe"
	"github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
	"github.com/melaka-gov/ispeks/infra/security"
)

// accts is the fixture of the account command tests: the real SQLite event
// store in a temporary directory, the real security components (argon2id
// with small parameters so the suite stays quick; the cost parameters
// themselves are tested in infra/security), and a clock the test moves.
type accts struct {
	t      testing.TB
	path   string // the event store's file
	store  *sqlite.Store
	reg    *eventlog.Registry
	runner commands.Runner
	sec    commands.AccountSecurity
	sealer *security.Sealer
	keyed  *security.Keyed
	hasher *security.Argon2
	h      commands.AccountHandlers

	mu  sync.Mutex
	now time.Time
}

var acctT0 = time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)

// Staff of the tests. Nurul and Hafiz share their department's mailbox.
const (
	sitiIC     = "791117045671"
	nurulIC    = "850203145432"
	hafizIC    = "900512015123"
	adminIC    = "750101045001"
	strangerIC = "820304105555"
)

func newAccts(t testing.TB) *accts {
	t.Helper()
	return newAcctsWith(t, security.NewArgon2(security.Argon2Params{MemoryKiB: 256, Time: 1, Threads: 1}, 0))
}

// newAcctsWith builds the fixture around a given hasher (benchmarks use the
// production parameters).
func newAcctsWith(t testing.TB, hasher *security.Argon2) *accts {
	t.Helper()
	path := filepath.Join(t.TempDir(), "events.db")
	store, err := sqlite.Open(context.Background(), path, sqlite.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	reg := eventlog.NewRegistry()
	account.Register(reg)
	employee.Register(reg)
	loginprobe.Register(reg)
	master := make([]byte, security.MasterKeySize)
	for i := range master {
		master[i] = byte(i * 7)
	}
	sealer, err := security.NewSealer(master)
	if err != nil {
		t.Fatal(err)
	}
	keyed, err := security.NewKeyed(master)
	if err != nil {
		t.Fatal(err)
	}
	f := &accts{t: t, path: path, store: store, reg: reg, sealer: sealer, keyed: keyed, hasher: hasher, now: acctT0}
	f.runner = commands.Runner{Store: store, Registry: reg, Now: f.clock}
	f.sec = commands.AccountSecurity{Hasher: hasher, Sealer: sealer, Keyed: keyed, TOTP: security.TOTP{}, Secrets: security.Generator{}}
	f.h = commands.NewAccountHandlers(f.runner, f.sec, commands.AccountPolicy{})
	for _, d := range []employee.Details{
		{IC: sitiIC, Name: "Siti Aminah binti Omar", Email: "siti.aminah@melaka.gov.my", Department: "Jabatan Kewangan dan Perbendaharaan", Post: "Pegawai Kewangan", StaffNumber: "JKPN-0042"},
		{IC: nurulIC, Name: "Nurul Huda binti Rahman", Email: "pentadbiran.jkr@melaka.gov.my", Department: "Jabatan Kerja Raya", Post: "Pembantu Tadbir", StaffNumber: "JKR-1001"},
		{IC: hafizIC, Name: "Hafiz bin Ismail", Email: "pentadbiran.jkr@melaka.gov.my", Department: "Jabatan Kerja Raya", Post: "Juruteknik", StaffNumber: "JKR-1002"},
	} {
		f.ok(f.h.PutStaff.Handle(context.Background(), commands.PutStaff{Meta: f.system(), Details: d}))
	}
	return f
}

func (f *accts) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *accts) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func meta(kind, id string) commands.Meta {
	return commands.Meta{CommandID: uuid.New(), CorrelationID: uuid.NewString(), Actor: eventlog.Actor{Kind: kind, ID: id}, SourceIP: "127.0.0.1", UserAgent: "test"}
}

func (f *accts) system() commands.Meta        { return meta(eventlog.ActorSystem, "test") }
func (f *accts) user(id string) commands.Meta { return meta(eventlog.ActorUser, id) }
func (f *accts) anon() commands.Meta          { return meta(eventlog.ActorAnonymous, "") }
func (f *accts) admin() commands.Meta         { return meta(eventlog.ActorAdmin, adminIC) }

// ok fails the test on a command error.
func (f *accts) ok(res commands.Result, err error) commands.Result {
	f.t.Helper()
	if err != nil {
		f.t.Fatalf("given: %v", err)
	}
	return res
}

// events decodes a stream.
func (f *accts) events(stream string) []eventlog.Envelope {
	f.t.Helper()
	recs, err := f.store.ReadStream(context.Background(), stream, 1, eventlog.Forwards, 10000)
	if err != nil {
		f.t.Fatal(err)
	}
	out := make([]eventlog.Envelope, len(recs))
	for i, r := range recs {
		if out[i], err = f.reg.Decode(r); err != nil {
			f.t.Fatal(err)
		}
	}
	return out
}

func (f *accts) types(stream string) []string {
	var out []string
	for _, e := range f.events(stream) {
		out = append(out, e.Type)
	}
	return out
}

func (f *accts) accountStream(ic string) string { return "account-" + ic }

// tempPassword opens the latest temporary password of an account the way
// the mail consumer does: from the event, with the sealer.
func (f *accts) tempPassword(ic string) (string, account.TemporaryPasswordIssued) {
	f.t.Helper()
	evs := f.events(f.accountStream(ic))
	for i := len(evs) - 1; i >= 0; i-- {
		if ev, ok := evs[i].Event.(account.TemporaryPasswordIssued); ok {
			pt, err := f.sealer.Open(ev.Sealed, ev.AAD())
			if err != nil {
				f.t.Fatalf("mailer cannot open the temporary password: %v", err)
			}
			return string(pt), ev
		}
	}
	f.t.Fatalf("no temporary password on %s", ic)
	return "", account.TemporaryPasswordIssued{}
}

const sitiPassword = "kuih lapis sedap sekali"

// register registers ic with its master e-mail.
func (f *accts) register(ic, email string) {
	f.t.Helper()
	f.ok(f.h.Register.Handle(context.Background(), commands.RegisterAccount{Meta: f.anon(), IC: ic, Email: email}))
}

// activate registers, logs in with the temporary password and activates.
func (f *accts) activate(ic, email, password string) {
	f.t.Helper()
	f.register(ic, email)
	temp, _ := f.tempPassword(ic)
	out, _, err := f.h.LogIn.LogIn(context.Background(), commands.LogIn{Meta: f.anon(), UserID: ic, Password: temp})
	if err != nil || !out.MustActivate {
		f.t.Fatalf("temporary login: %+v %v", out, err)
	}
	f.ok(f.h.Activate.Handle(context.Background(), commands.ActivateAccount{Meta: f.user(ic), UserID: ic, Form: account.ActivationForm{
		Password: password, ConfirmPassword: password, QuestionID: "haiwan-peliharaan", Answer: "Comot", ImageID: "wau-bulan", Phrase: "Pantai Tenang",
	}}))
}

func (f *accts) logIn(ic, password string) (account.LoginOutcome, error) {
	out, _, err := f.h.LogIn.LogIn(context.Background(), commands.LogIn{Meta: f.anon(), UserID: ic, Password: password})
	return out.LoginOutcome, err
}

// makeAdmin bootstraps adminIC as an active administrator with TOTP, and
// returns its TOTP secret.
func (f *accts) makeAdmin() string {
	f.t.Helper()
	ctx := context.Background()
	created, _, err := f.h.CreateAdministrator.Create(ctx, commands.CreateAdministrator{Meta: f.system(), Staff: employee.Details{
		IC: adminIC, Name: "Mohd Fadzlezam bin Sulaiman", Email: "fadzlezam@melaka.gov.my", Department: "Jabatan Kewangan dan Perbendaharaan", Post: "Pegawai Teknologi Maklumat", StaffNumber: "JKPN-0001",
	}})
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.logIn(adminIC, created.TemporaryPassword); err != nil {
		f.t.Fatal(err)
	}
	pw := "pentadbir sistem melaka"
	f.ok(f.h.Activate.Handle(ctx, commands.ActivateAccount{Meta: f.user(adminIC), UserID: adminIC, Form: account.ActivationForm{
		Password: pw, ConfirmPassword: pw, QuestionID: "kerja-pertama", Answer: "Ayer Keroh", ImageID: "enggang", Phrase: "Ombak Biru",
	}}))
	enrol, _, err := f.h.EnrolTOTP.Enrol(ctx, commands.EnrolTOTP{Meta: f.user(adminIC), UserID: adminIC, CurrentPassword: pw})
	if err != nil {
		f.t.Fatal(err)
	}
	code, _ := security.TOTP{}.Code(enrol.Secret, f.clock())
	if _, _, err := f.h.ConfirmTOTP.Confirm(ctx, commands.ConfirmTOTP{Meta: f.user(adminIC), UserID: adminIC, Code: code}); err != nil {
		f.t.Fatal(err)
	}
	return enrol.Secret
}
