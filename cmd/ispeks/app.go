package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/backup"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/eventstore"
	"github.com/melaka-gov/ispeks/infra/mail"
	"github.com/melaka-gov/ispeks/infra/security"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/accounts"
	"github.com/melaka-gov/ispeks/projections/apiclients"
	"github.com/melaka-gov/ispeks/projections/engine"
	"github.com/melaka-gov/ispeks/projections/payments"
	"github.com/melaka-gov/ispeks/projections/statements"
)

// app is everything the subcommands share, opened from the configuration:
// the stores, the registry, the projector engine and the command runner.
type app struct {
	cli      *cli
	events   eventstore.Store
	views    projections.ReadStore
	registry *eventlog.Registry
	engine   *engine.Engine
	runner   commands.Runner
	metrics  *prometheus.Registry
	closers  []func() error

	// Security and the account handlers built on it.
	hasher   *security.Argon2
	sealer   *security.Sealer
	keyed    *security.Keyed
	docKey   []byte // HMAC key of document verification codes (/sahkan)
	accounts commands.AccountHandlers
	// payees remembers which IC numbers are in the employee master, so a
	// payroll run does not read one employee stream per slip.
	payees *commands.PayeeCache
}

func (a *app) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		_ = a.closers[i]()
	}
}

func (c *cli) openApp(ctx context.Context, metrics *prometheus.Registry) (*app, error) {
	a := &app{cli: c, registry: newRegistry(), metrics: metrics}
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()
	if err := c.refuseNewLogBesideReadModels(ctx); err != nil {
		return nil, err
	}
	var err error
	if a.events, err = openEventStore(ctx, &c.cfg, c.log); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.events.Close)
	if a.views, err = openReadStore(ctx, &c.cfg, c.log); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.views.Close)
	a.runner = commands.Runner{Store: a.events, Registry: a.registry, Now: time.Now}
	a.payees = &commands.PayeeCache{Next: commands.EmployeeStreams{Store: a.events}}
	if err := a.openSecurity(ctx); err != nil {
		return nil, err
	}
	a.engine, err = engine.New(engine.Config{
		Log:         a.events,
		Store:       a.views,
		Registry:    a.registry,
		Projectors:  a.projectors(),
		Metrics:     metrics,
		Logger:      c.log,
		WaitTimeout: c.cfg.ReadYourWrites,
		// A rebuild trades ~100 MiB of heap for a quarter less GC work; it
		// is process-wide, so only the console's rebuild sets it.
		RebuildGCPercent: c.rebuildGCPercent,
	})
	if err != nil {
		return nil, err
	}
	if err := c.readStoreAhead(a.engine.CheckReadStore(ctx)); err != nil {
		return nil, err
	}
	// The mailer's starting point is fixed when the stores are first set
	// up, by whichever command opens them first: on a fresh install that is
	// before anything is appended, so the mails of `admin create` or
	// `admin temporary-password` run before the first serve are sent by it.
	// An existing install keeps its checkpoint. The e-mail follower's
	// likewise: a master change imported before the first serve is
	// followed; on an install that predates it, it starts at the log head
	// (older StaffUpdated events name no previous e-mail anyway). The name
	// follower's the same way: on an install that predates it, a name HR
	// corrected before the upgrade is followed at the person's next master
	// change.
	if err := a.engine.RecordConsumerStarts(ctx, mail.ConsumerName, commands.EmailFollowerName, commands.NameFollowerName); err != nil {
		return nil, err
	}
	ok = true
	return a, nil
}

// projectors lists every read model of the product.
func (a *app) projectors() []projections.Projector {
	return []projections.Projector{
		accounts.Projector{},
		accounts.AttemptsProjector{},
		apiclients.Projector{},
		payments.Projector{Key: a.docKey},
		statements.Projector{Key: a.docKey},
	}
}

// catchUp runs the projectors until they have applied the whole log as it
// stands now, for CLI commands that read a read model right after writing
// (the portal process, if it runs, projects the same events idempotently).
func (a *app) catchUp(ctx context.Context) error {
	head, err := a.events.LastPosition(ctx)
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.engine.Run(runCtx) }()
	for {
		err = a.engine.WaitFor(ctx, head)
		if err == nil || ctx.Err() != nil {
			break
		}
		// A long log takes longer than one WaitFor bound: keep waiting
		// while the engine is still running.
		select {
		case runErr := <-done:
			stop()
			return runErr
		default:
		}
	}
	stop()
	if runErr := <-done; runErr != nil && !errors.Is(runErr, context.Canceled) {
		return runErr
	}
	return err
}

// openSecurity loads (or, on a new install, creates) the master key and
// builds the password hasher, the sealer for recoverable secrets, keyed
// hashes and the account handlers that use them.
func (a *app) openSecurity(ctx context.Context) error {
	cfg := &a.cli.cfg
	if err := prepareDataDir(filepath.Dir(cfg.KeyFile)); err != nil {
		return err
	}
	master, err := loadMasterKey(ctx, cfg.KeyFile, a.events, false, a.cli.log)
	if err != nil {
		return err
	}
	if a.sealer, err = security.NewSealer(master); err != nil {
		return err
	}
	if a.keyed, err = security.NewKeyed(master); err != nil {
		return err
	}
	if a.docKey, err = security.DeriveKey(master, "document-verification"); err != nil {
		return err
	}
	// Every core may hash (the full argon2id rate); the pages stay
	// responsive because the first derivation raises GOMAXPROCS by a spare
	// P (a request does not wait for a P behind a derivation) and sets
	// GOGC (--gc-percent). Measured with bench login.
	h := security.NewArgon2(security.DefaultArgon2Params(), 0)
	h.Tune(security.Argon2Tuning{SpareProcs: security.DefaultSpareProcs(h.Concurrency()), GCPercent: cfg.GCPercent})
	a.useHasher(h)
	return nil
}

// loadMasterKey reads the master key at path. It creates one only for a
// command that writes (readOnly unset) and while the log is still empty,
// i.e. on a new install: a log that holds events was sealed with a key,
// and a new one in its place (a backup restored without its key, a
// mistyped --key-file) would leave its secret phrases, TOTP secrets and
// temporary passwords unreadable, and seal new ones that the right key
// cannot open once it is put back. The audit commands set readOnly: they
// never create the key, and load one that group or others can read with a
// warning to logger instead of refusing it (security.ReadOptions says why).
func loadMasterKey(ctx context.Context, path string, log keyedLog, readOnly bool, logger *slog.Logger) ([]byte, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		last, err := log.LastPosition(ctx)
		if err != nil {
			return nil, err
		}
		if readOnly || last > 0 {
			return nil, fmt.Errorf("--key-file: %s does not exist, and the event log (%d events) was sealed with the install's master key: put that key file there or point --key-file at it", path, last)
		}
	}
	var master []byte
	var err error
	if readOnly {
		master, err = security.ReadMasterKey(path, security.ReadOptions{ReadOnlyUse: true, Logger: logger})
	} else {
		master, err = security.LoadOrCreateMasterKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("--key-file: %w", err)
	}
	if err := checkKeyOfLog(ctx, path, master, log); err != nil {
		return nil, err
	}
	return master, nil
}

// keyedLog is what loadMasterKey reads of the event log.
type keyedLog interface {
	LastPosition(context.Context) (uint64, error)
	ReadStream(ctx context.Context, stream string, from uint64, dir eventlog.Direction, limit int) ([]eventlog.Record, error)
	ReadAll(ctx context.Context, after uint64, limit int) ([]eventlog.Record, error)
}

// checkKeyOfLog refuses a master key other than the one the log's secrets
// were sealed with, as far as the log tells: its last backup record names
// that key; a log without one (a first backup ends before its own record)
// names it in its first sealed value (sealedKeyOfLog). A log restored
// beside another key (a new machine's portal, started once before the
// restore, made one) would otherwise start, its TOTP secrets, secret
// phrases and temporary passwords unreadable.
func checkKeyOfLog(ctx context.Context, path string, master []byte, log keyedLog) error {
	sealer, err := security.NewSealer(master)
	if err != nil {
		return err
	}
	// The key the log names, and where it names it.
	keyID, position, err := backupKeyOfLog(ctx, log)
	if err != nil {
		return err
	}
	where := fmt.Sprintf("the backup recorded at position %d", position)
	if keyID == "" {
		id, position, err := sealedKeyOfLog(ctx, log)
		if err != nil {
			return err
		}
		keyID, where = id, fmt.Sprintf("the value sealed at position %d", position)
	}
	if id := sealer.KeyID(); keyID != "" && id != keyID {
		return fmt.Errorf("--key-file: %s is not the master key this event log was sealed with (its key ID is %s; %s names %s): put the install's key there or point --key-file at it (a key made by a start before the log was restored opens none of its secrets)", path, id, where, keyID)
	}
	return nil
}

// backupKeyOfLog is the key ID the log's last backup record names and its
// position ("" when none does: no backup yet, or one taken before the log
// held a sealed value).
func backupKeyOfLog(ctx context.Context, log keyedLog) (string, uint64, error) {
	recs, err := log.ReadStream(ctx, backup.Stream, 0, eventlog.Backwards, 1) // 0: from the end
	if err != nil && !errors.Is(err, eventlog.ErrStreamNotFound) {
		return "", 0, err
	}
	var taken backup.Taken
	if len(recs) > 0 && json.Unmarshal(recs[0].Data, &taken) == nil && taken.KeyID != "" {
		return taken.KeyID, recs[0].Position, nil
	}
	return "", 0, nil
}

// sealedKeyProbe bounds how far into the log sealedKeyOfLog looks: an
// install's first temporary password (its first administrator's) comes
// after the employee master at most, and reading a few thousand events
// costs a start milliseconds.
const sealedKeyProbe = 20_000

// sealedValue finds a sealed value ("v1.<key ID>.…", security.Sealer) in an
// event's JSON: its field names all begin with "sealed".
var sealedValue = regexp.MustCompile(`"sealed[a-z_]*":"v1\.([A-Za-z0-9_-]+)\.`)

// sealedKeyOfLog is the key ID of the first sealed value among the log's
// first sealedKeyProbe events and its position ("" when there is none).
func sealedKeyOfLog(ctx context.Context, log keyedLog) (string, uint64, error) {
	const page = 1000
	after := uint64(0)
	for read := 0; read < sealedKeyProbe; {
		recs, err := log.ReadAll(ctx, after, page)
		if err != nil {
			return "", 0, err
		}
		for _, r := range recs {
			if m := sealedValue.FindSubmatch(r.Data); m != nil {
				return string(m[1]), r.Position, nil
			}
		}
		if len(recs) < page {
			break
		}
		read += len(recs)
		after = recs[len(recs)-1].Position
	}
	return "", 0, nil
}

// useHasher makes h the password hasher and builds the account handlers
// over it (the benches and tests swap in a hasher of other limits or cost).
func (a *app) useHasher(h *security.Argon2) {
	cfg := &a.cli.cfg
	a.hasher = h
	a.accounts = commands.NewAccountHandlers(a.runner, commands.AccountSecurity{
		Hasher:  a.hasher,
		Sealer:  a.sealer,
		Keyed:   a.keyed,
		TOTP:    security.TOTP{},
		Secrets: security.Generator{},
	}, commands.AccountPolicy{LockThreshold: cfg.LockThreshold, AllowedDomains: cfg.EmailDomains})
	// A login then reads only the events since the account's last login,
	// not a stream that grows by one event per login.
	a.accounts.LogIn.Accounts = commands.NewAccountCache(0)
}

// withExistingApp is withApp for a command that needs the data already
// there (requireLog).
func (c *cli) withExistingApp(run func(cmd *cobra.Command, args []string, a *app) error) func(*cobra.Command, []string) error {
	open := c.withApp(run)
	return func(cmd *cobra.Command, args []string) error {
		if err := requireLog(&c.cfg); err != nil {
			return err
		}
		return open(cmd, args)
	}
}

// withApp opens the app for one console command and closes it afterwards.
func (c *cli) withApp(run func(cmd *cobra.Command, args []string, a *app) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a, err := c.openApp(cmd.Context(), prometheus.NewRegistry())
		if err != nil {
			return err
		}
		defer a.Close()
		return run(cmd, args, a)
	}
}
