// Package projections is the read side: projectors turn events into read
// models, and queries read only those read models. The ports the read side
// consumes are declared here; adapters live in infra/readstore and
// infra/eventstore.
package projections

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// EventLog is the slice of the event-store port the read side needs.
type EventLog interface {
	ReadAll(ctx context.Context, after uint64, limit int) ([]eventlog.Record, error)
	Subscribe(ctx context.Context, after uint64, handle func(context.Context, eventlog.Record) error) error
	LastPosition(ctx context.Context) (uint64, error)
}

// Doc is one read-model document. Version is the version of the source it
// reflects (normally the stream version of the last event applied); a put
// with a version not greater than the stored one is ignored, so delivering an
// event twice changes nothing. Fields holds the values of the collection's
// indexed fields (string or int64 only) that Find can filter and sort on;
// Body is the whole document as JSON.
type Doc struct {
	ID      string
	Version uint64
	Fields  map[string]any
	Body    json.RawMessage
}

// CollectionSpec declares a collection and the fields Find may use.
type CollectionSpec struct {
	Name    string
	Indexes []string
	// Owner, when set, is the projector that declares the collection now:
	// Ensure records it, so that another projector's rebuild that gives the
	// collection up (see SwapRebuild) does not drop it after it moved. The
	// engine sets it; a projector's own declarations leave it empty.
	Owner string
}

// Query finds documents by equality on indexed fields, sorted by one indexed
// field (ties broken by ID), a page at a time. After is the opaque cursor
// from the previous Page.Next ("" for the first page).
type Query struct {
	Collection string
	Where      map[string]any
	SortBy     string // "" sorts by ID
	Desc       bool
	Limit      int
	After      string

	// Bound, when not nil, ends the sorted result at a sort value (a string
	// or an integer, like a Where value; it needs SortBy): only documents
	// that sort no later than one whose sort field equals Bound are
	// found. Descending that is a sort value >= Bound, ascending <= Bound,
	// in the sort order: absent values below every value (outside a
	// descending bound, inside an ascending one), integers below strings.
	// Page.Next is "" once no further document lies within the bound, so a
	// caller with a window (the statement lists) reads no row beyond it. A
	// cursor stays valid under another Bound (a window that moved on).
	Bound any

	// BodyOnly asks for the documents' ID and Body alone: Version is 0 and
	// Fields nil. For a caller that reads only the body, it spares the
	// store reading the indexed fields and building a map per document.
	BodyOnly bool
}

// Page is one page of a Find. Next is "" on the last page.
type Page struct {
	Docs []Doc
	Next string
}

// Errors of the read-store port.
var (
	ErrUnknownCollection = errors.New("projections: unknown collection")
	ErrUnindexedField    = errors.New("projections: field is not indexed")
	ErrBadCursor         = errors.New("projections: invalid page cursor")
	// ErrUnavailable: the read store's server could not be reached (or
	// did not answer in time); trying again later is the remedy.
	ErrUnavailable = errors.New("projections: read store unavailable")
)

// Reader is what queries need of a read store.
type Reader interface {
	Get(ctx context.Context, collection, id string) (Doc, bool, error)
	Find(ctx context.Context, q Query) (Page, error)
}

// Batch is a projector's unit of work: the puts of several events and the
// checkpoint after them, committed together (SQLite: one transaction; Mongo:
// puts first, checkpoint last — idempotent puts make a replay harmless).
// Get sees the batch's own uncommitted puts.
type Batch interface {
	Get(ctx context.Context, collection, id string) (Doc, bool, error)
	Put(ctx context.Context, collection string, doc Doc) error
	Delete(ctx context.Context, collection, id string) error
}

// ReadStore is the whole read-store port, implemented by every adapter and
// checked by one contract suite.
type ReadStore interface {
	Reader

	// Ensure creates collections and their indexes if missing, and records
	// a spec's Owner as the live collection's owner.
	Ensure(ctx context.Context, specs ...CollectionSpec) error

	// Write runs fn as one batch for projector and, if fn succeeds, stores
	// checkpoint as the projector's position with it.
	Write(ctx context.Context, projector string, checkpoint uint64, fn func(Batch) error) error

	// Checkpoint returns a projector's stored position (0: none).
	Checkpoint(ctx context.Context, projector string) (uint64, error)

	// BeginRebuild creates empty shadow copies of the collections; writes
	// through the returned store go to the shadows (and to a shadow
	// checkpoint for projector) while readers of this store still see the
	// live collections. SwapRebuild replaces the live collections and the
	// checkpoint with the shadows atomically (as far as the backend can).
	// The swapped-in collections belong to projector from then on, and the
	// swap drops those of its collections that specs no longer names (a
	// new layout that gives a collection up), which then read as unknown;
	// a collection another projector has since declared (Ensure with its
	// Owner) is that one's, and a collection created by Ensure without an
	// owner is never dropped this way. A process still running an older
	// binary that reads a dropped collection gets ErrUnknownCollection: an
	// upgrade that changes a projector's layout replaces that projector's
	// older processes anyway (their rows no longer match).
	BeginRebuild(ctx context.Context, projector string, specs ...CollectionSpec) (ReadStore, error)
	SwapRebuild(ctx context.Context, projector string, specs ...CollectionSpec) error

	// DropShadows drops what an unfinished rebuild of projector left
	// behind: its shadow collections and shadow checkpoint, which a rebuild
	// cut short before its swap leaves until the projector's next
	// BeginRebuild. It returns the names of the collections whose shadows
	// it dropped, sorted (none: nothing was left). The live collections and
	// checkpoint, and other projectors' shadows, are untouched. A store
	// that BeginRebuild returned for projector is unusable afterwards, so
	// the caller must know no rebuild of projector is running, in this
	// process or another (the engine holds the projector's rebuild claim).
	DropShadows(ctx context.Context, projector string) ([]string, error)

	Ping(ctx context.Context) error
	Close() error
}

// Projector turns events into read-model documents. Project is called for
// every event whose type is in Handles, in log order, inside a batch; it must
// be deterministic and free of side effects other than batch writes, so that
// a rebuild equals the live result.
type Projector interface {
	Name() string
	Handles() []string
	Collections() []CollectionSpec
	Project(ctx context.Context, b Batch, env eventlog.Envelope) error
}

// Layouter is a Projector whose read model has a layout version: the shape of
// the documents and collections it writes. The engine stores the version
// with the projector's collections; when it starts and finds another one (a
// build with a different layout wrote them), it rebuilds the projector
// before projecting live, because projecting on top of documents of another
// shape would leave a mix of both. Raise the version whenever a change to
// Project or Collections changes what an already projected log produces. A
// projector that does not implement Layouter has layout 0 and is never
// rebuilt automatically.
type Layouter interface {
	Layout() int
}

// Changed is a document a projector's commit wrote, or found written
// already by another process sharing the store (its put ignored as not
// newer): its collection, ID and indexed fields as the projector put them,
// or Deleted (Fields nil). See engine.ViewObserver.
type Changed struct {
	Collection string
	ID         string
	Fields     map[string]any
	Deleted    bool
}

type bulkKey struct{}

// Bulk marks ctx for a Write that may wait for others: a rebuild's or a
// catch-up's batch, large and in no one's way. A store with one writer
// (SQLite) lets the other writes waiting for it (a live projector a page
// waits for, a consumer's checkpoint, a lease renewal) go first, though not
// for ever: a stream of them without a gap lets it through once a second.
func Bulk(ctx context.Context) context.Context { return context.WithValue(ctx, bulkKey{}, true) }

// IsBulk reports whether ctx was marked by Bulk.
func IsBulk(ctx context.Context) bool { b, _ := ctx.Value(bulkKey{}).(bool); return b }
