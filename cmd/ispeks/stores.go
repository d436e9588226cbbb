package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/config"
	"github.com/melaka-gov/ispeks/infra/eventstore"
	"github.com/melaka-gov/ispeks/infra/eventstore/kurrent"
	esqlite "github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
	rmongo "github.com/melaka-gov/ispeks/infra/readstore/mongo"
	rsqlite "github.com/melaka-gov/ispeks/infra/readstore/sqlite"
	"github.com/melaka-gov/ispeks/infra/redact"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/engine"
)

// prepareDataDir makes the data directory and checks it can be written, so a
// bad --data fails at start with one clear line rather than deep in a store.
func prepareDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("data directory %s: %w", dir, err)
	}
	probe, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("data directory %s is not writable: %w", dir, errors.Unwrap(err))
	}
	probe.Close()
	return os.Remove(probe.Name())
}

// requireLog refuses a console command that only reads or changes what is
// there when the embedded event store the configuration names does not
// exist: opening it would create an empty one, and "integrity verified: 0
// events" or "no parked mail" from a mistyped --data reads as all clear.
func requireLog(cfg *config.Config) error {
	kind, target, err := cfg.EventStore()
	if err != nil || kind != config.KindSQLite {
		return err
	}
	if _, err := os.Stat(target); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no event store at %s: check --data or --event-store (only serve, projectors, admin create, clients add and import start a new one)", target)
	}
	return nil
}

// notAsRoot refuses a console command run as root against a data directory
// that another user (the portal's service account) owns: what the command
// makes there — the log's -wal and -shm, views.db, on a new install the
// log and master.key — would be root's, 0600, and the portal could no
// longer open it. It looks at the log if there is one, else at the
// directory; a root-owned install (the portal runs as root) is left alone.
// A command that writes nothing (the audit commands) is not refused.
func notAsRoot(cfg *config.Config) error {
	if os.Geteuid() != 0 {
		return nil
	}
	path := cfg.DataDir
	if kind, target, err := cfg.EventStore(); err == nil && kind == config.KindSQLite {
		if _, err := os.Stat(target); err == nil {
			path = target
		}
	}
	uid, ok := fileOwner(path)
	if !ok || uid == 0 {
		return nil
	}
	owner := strconv.Itoa(uid)
	if u, err := user.LookupId(owner); err == nil {
		owner = u.Username
	}
	return fmt.Errorf("--data: %s belongs to the user %s, and this command runs as root: the files it made there would be root's and the portal could not open them; run it as that user (sudo -u %s ispeks …)", path, owner, owner)
}

// openEventStore opens the configured event store; its operational
// messages go to log.
func openEventStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (eventstore.Store, error) {
	kind, target, err := cfg.EventStore()
	if err != nil {
		return nil, err
	}
	switch kind {
	case config.KindKurrent:
		s, err := kurrent.Open(ctx, target)
		if err != nil {
			return nil, fmt.Errorf("event store %s: %w", redact.URL(target), err)
		}
		return s, nil
	default:
		// The directory of the file opened, which --event-store sqlite:PATH
		// may put outside --data: an auditor verifying a backup copy
		// gets no empty data directory made where they stand.
		if err := prepareDataDir(filepath.Dir(target)); err != nil {
			return nil, err
		}
		s, err := esqlite.Open(ctx, target, esqlite.Options{Logger: log})
		if err != nil {
			return nil, fmt.Errorf("event store: %w", err)
		}
		return s, nil
	}
}

// openLogToRead opens the configured log for the audit commands, which
// only read it: the embedded one read-only, writing nothing and making no
// directory or -wal/-shm file (an auditor's copy may be on read-only
// media), a server's as any command does.
func (c *cli) openLogToRead(ctx context.Context) (readLog, error) {
	if err := requireLog(&c.cfg); err != nil {
		return nil, err
	}
	kind, target, err := c.cfg.EventStore()
	if err != nil {
		return nil, err
	}
	if kind != config.KindSQLite {
		return openEventStore(ctx, &c.cfg, c.log)
	}
	s, err := esqlite.OpenReadOnly(ctx, target)
	if err != nil {
		return nil, fmt.Errorf("event store: %w", err)
	}
	return s, nil
}

// openReadStore opens the configured read store; its operational messages
// (rebuilds, dropped collections) go to log.
func openReadStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (projections.ReadStore, error) {
	kind, target, err := cfg.ReadStore()
	if err != nil {
		return nil, err
	}
	switch kind {
	case config.KindMongo:
		s, err := rmongo.OpenWith(ctx, target, cfg.MongoDatabase, rmongo.Options{Logger: log})
		if err != nil {
			return nil, fmt.Errorf("read store %s: %w", redact.URL(target), err)
		}
		return s, nil
	default:
		if err := prepareDataDir(filepath.Dir(target)); err != nil {
			return nil, err
		}
		s, err := rsqlite.Open(ctx, target, rsqlite.Options{Logger: log})
		if err != nil {
			return nil, fmt.Errorf("read store: %w", err)
		}
		return s, nil
	}
}

// readStoreAhead words engine.ErrReadStoreAhead for the operator: what
// happened and what to delete.
func (c *cli) readStoreAhead(err error) error {
	if errors.Is(err, engine.ErrLogEmpty) {
		// Deleting the read store here would lose the mailer's position
		// and its unsent mail, for a typo.
		where := "the event log"
		if _, target, terr := c.cfg.EventStore(); terr == nil {
			where += " " + redact.URL(target)
		}
		return fmt.Errorf("%w: %s holds no event, but the read store holds the read models of a log: check --data and --event-store (a mistyped directory starts an empty log); if this really is a new log, %s", err, where, readStoreReset(&c.cfg))
	}
	if errors.Is(err, engine.ErrReadStoreAhead) {
		return fmt.Errorf("%w: the log was restored from a backup and the read models were kept; %s", err, readStoreReset(&c.cfg))
	}
	return err
}

// checkReadStoreBehind is openApp's restore check for a command that opens
// only the log (backup): no projector or consumer of the read store is past
// the log's end.
func (c *cli) checkReadStoreBehind(ctx context.Context, log projections.EventLog) error {
	views, err := openReadStore(ctx, &c.cfg, c.log)
	if err != nil {
		return err
	}
	defer views.Close()
	// Only the projectors' names matter here: nothing is projected.
	e, err := engine.New(engine.Config{Log: log, Store: views, Registry: newRegistry(), Projectors: (&app{}).projectors(), Logger: c.log})
	if err != nil {
		return err
	}
	return c.readStoreAhead(e.CheckReadStore(ctx))
}

// refuseNewLogBesideReadModels refuses, before anything is made, an
// embedded log about to be created (its file is missing) beside a read
// store that has projected a log: a mistyped --data or --event-store with
// the read store set elsewhere. Opening the log first made an empty
// events.db, its directory and a new master.key at the mistyped place
// before the read-store check refused to go on.
func (c *cli) refuseNewLogBesideReadModels(ctx context.Context) error {
	if !newInstall(&c.cfg) {
		return nil
	}
	rkind, rtarget, err := c.cfg.ReadStore()
	if err != nil {
		return err
	}
	if rkind == config.KindSQLite {
		if _, err := os.Stat(rtarget); errors.Is(err, fs.ErrNotExist) {
			return nil // a new install: both are made now
		}
	}
	return c.checkReadStoreBehind(ctx, noLog{})
}

// newInstall reports whether the embedded event log does not exist yet
// (an event store on a server is taken to exist; a configuration error is
// left to the open that follows, which names it).
func newInstall(cfg *config.Config) bool {
	kind, target, err := cfg.EventStore()
	if err != nil || kind != config.KindSQLite {
		return false
	}
	_, err = os.Stat(target)
	return errors.Is(err, fs.ErrNotExist)
}

// noLog is the log a missing events.db would be: empty.
type noLog struct{}

func (noLog) ReadAll(context.Context, uint64, int) ([]eventlog.Record, error) { return nil, nil }
func (noLog) LastPosition(context.Context) (uint64, error)                    { return 0, nil }
func (noLog) Subscribe(ctx context.Context, _ uint64, _ func(context.Context, eventlog.Record) error) error {
	<-ctx.Done()
	return ctx.Err()
}

// readStoreReset tells how to throw the read models away so they are
// rebuilt from the log (the restore steps of README "Backup and restore").
func readStoreReset(cfg *config.Config) string {
	kind, target, err := cfg.ReadStore()
	switch {
	case err != nil:
	case kind == config.KindMongo:
		return fmt.Sprintf("stop every iSPEKS process, drop the MongoDB database %s and start again: the read models are rebuilt from the log", cfg.MongoDatabase)
	default:
		return fmt.Sprintf("stop every iSPEKS process, delete %s (with its -wal and -shm) and start again: the read models are rebuilt from the log", target)
	}
	return "delete the read store and start again: the read models are rebuilt from the log"
}
