// Package mongo is the MongoDB read-store adapter (projections.ReadStore),
// on go.mongodb.org/mongo-driver/v2. It needs nothing beyond single-document
// atomicity (no transactions, no renameCollection), so it runs on MongoDB and
// on Mongo-wire servers such as FerretDB alike.
//
// A document is {_id: id, _v: version, _body: "<the JSON, verbatim>", and
// one top-level field per indexed field that is present}. The body is kept
// as a string so it comes back byte for byte; indexed field names cannot
// start with "_", so they never clash with the adapter's own.
//
// Collections are generations: the logical collection "staff" lives in a
// physical collection "staff__g<N>", and the catalog (_ispeks_catalog, a
// chain of revision documents, the highest current) maps names to
// generations, records the declared indexes, the shadow generations of
// rebuilds in progress, and which checkpoint document (_ispeks_checkpoints,
// "<projector>@<generation>") is each projector's live one, and which
// projector's rebuild swapped each live collection in. SwapRebuild inserts
// one new revision, so readers switch from the old collections and
// checkpoint to the new ones at once (and lose the projector's collections
// it no longer declares); the old generations are dropped after a delay,
// when readers in other processes, which re-read the catalog every
// CatalogTTL, have moved on. (renameCollection with dropTarget would swap one
// collection at a time only, and FerretDB lacks dropTarget.)
//
// Write applies a batch's puts and deletes as one ordered bulk write per
// collection, collections in name order, then stores the checkpoint. A
// crash in between replays the batch, which changes nothing: a put applies
// only over an older version. A crash can leave some collections written
// and not others: a projector that writes derived documents before its main
// one (and skips an event its main document has seen) relies on the
// derived collections' names sorting first (payment_rows before payments,
// employee_names before employees).
package mongo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"

	"github.com/melaka-gov/ispeks/infra/readstore/internal/rskit"
	"github.com/melaka-gov/ispeks/projections"
)

// Options tune a Store; the zero value takes the defaults.
type Options struct {
	// CatalogTTL is how stale this process's copy of the catalog may get
	// before a read re-reads it, i.e. how long after another process's
	// rebuild swap this one may still read the old collections. Default 1 s.
	CatalogTTL time.Duration
	// DropDelay is how long a swapped-out generation is kept for readers
	// still on it before it is dropped. Default 30 s; at least 2×CatalogTTL.
	DropDelay time.Duration
	// ServerSelectionTimeout is how long an operation waits for a
	// reachable server before it fails with projections.ErrUnavailable
	// (a page then answers 503 rather than hang). Default 5 s, the driver's
	// 30 s being far past what a person waits for a page; a
	// serverSelectionTimeoutMS in the URI wins.
	ServerSelectionTimeout time.Duration
	Logger                 *slog.Logger
}

// Store is a read store in one MongoDB database. The value returned by Open
// reads and writes the live collections; BeginRebuild returns a Store over
// the shadows.
type Store struct {
	c *core

	// Shadow stores only: the rebuild's projector, its collections and
	// its checkpoint generation, fixed when the rebuild began.
	shadow    bool
	projector string
	gens      map[string]int64
	cpGen     int64
}

var _ projections.ReadStore = (*Store)(nil)

type core struct {
	client *mongo.Client
	db     *mongo.Database
	opts   Options
	log    *slog.Logger

	mu       sync.Mutex
	updMu    sync.Mutex // serialises this process's catalog changes
	cat      *catalog
	loadedAt time.Time

	bg     sync.WaitGroup // delayed drops
	stop   context.CancelFunc
	bgCtx  context.Context
	closed atomic.Bool
	// reads counts the reads in progress (Get, Find, Ping, Checkpoint):
	// Close waits for them before it disconnects, or a read mid-way
	// between two of its requests would fail with the driver's "client is
	// disconnected".
	reads *rskit.Gate
	// midRead, if set (tests), runs in Find once the collection is
	// resolved, before the first query.
	midRead func()
}

// Open connects to the server at uri and uses database.
func Open(ctx context.Context, uri, database string) (*Store, error) {
	return OpenWith(ctx, uri, database, Options{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, uri, database string, o Options) (*Store, error) {
	if database == "" || len(database) > 63 || strings.ContainsAny(database, "/\\. \"$*<>:|?") {
		return nil, fmt.Errorf("readstore/mongo: database name %q: must be 1-63 characters without /\\. \"$*<>:|?", database)
	}
	if o.CatalogTTL <= 0 {
		o.CatalogTTL = time.Second
	}
	if o.DropDelay <= 0 {
		o.DropDelay = 30 * time.Second
	}
	o.DropDelay = max(o.DropDelay, 2*o.CatalogTTL)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ServerSelectionTimeout <= 0 {
		o.ServerSelectionTimeout = 5 * time.Second
	}
	// Set before ApplyURI, which overrides it only if the URI sets it.
	client, err := mongo.Connect(options.Client().SetServerSelectionTimeout(o.ServerSelectionTimeout).ApplyURI(uri).SetAppName("ispeks-readstore"))
	if err != nil {
		return nil, fmt.Errorf("readstore/mongo: connect: %w", err)
	}
	bgCtx, stop := context.WithCancel(context.Background())
	c := &core{
		client: client,
		db:     client.Database(database),
		opts:   o,
		log:    o.Logger.With("component", "readstore/mongo", "database", database),
		stop:   stop,
		bgCtx:  bgCtx,
		reads:  rskit.NewGate(),
	}
	if err := client.Ping(ctx, readpref.Primary()); err != nil {
		c.close()
		// The caller names the server (redacted): this message would repeat it.
		return nil, fmt.Errorf("readstore/mongo: ping: %w", err)
	}
	if _, err := c.catalog(ctx, true); err != nil {
		c.close()
		return nil, err
	}
	return &Store{c: c}, nil
}

// Ping checks the server answers.
func (s *Store) Ping(ctx context.Context) error {
	if !s.c.reads.Enter() {
		return errClosed
	}
	defer s.c.reads.Leave()
	if err := s.c.client.Ping(ctx, readpref.Primary()); err != nil {
		return unavailable(fmt.Errorf("readstore/mongo: ping: %w", err))
	}
	return nil
}

// Close disconnects once the reads in progress have finished; later reads
// and writes fail with an error saying the store is closed. Pending delayed
// drops are abandoned; the next BeginRebuild or Ensure of any process
// finishes them. A shadow store's Close does nothing: it shares the live
// store's connection.
func (s *Store) Close() error {
	if s.shadow || s.c.closed.Swap(true) {
		return nil
	}
	s.c.reads.Close()
	return s.c.close()
}

func (c *core) close() error {
	c.stop()
	c.bg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.client.Disconnect(ctx); err != nil {
		return fmt.Errorf("readstore/mongo: disconnect: %w", err)
	}
	return nil
}

var errClosed = fmt.Errorf("readstore/mongo: store is closed")

// unavailable marks an error that says the server could not be reached, or
// did not answer in time, as projections.ErrUnavailable: a page then answers
// 503 "try again" rather than 500, whose incident would send someone
// looking for a bug.
func unavailable(err error) error {
	if err == nil || errors.Is(err, projections.ErrUnavailable) {
		return err
	}
	if mongo.IsNetworkError(err) || mongo.IsTimeout(err) {
		return fmt.Errorf("%w: %w", projections.ErrUnavailable, err)
	}
	return err
}
