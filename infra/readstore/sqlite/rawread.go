package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"modernc.org/sqlite"

	"github.com/melaka-gov/ispeks/projections"
)

// The read path of pages talks to the driver directly: a small pool of
// read-only driver connections, each keeping its prepared statements by SQL
// text. database/sql's per-query work (connection and statement lookup,
// the Rows wrapper and its locks, Scan's conversions) cost about as much
// as SQLite's own work for a page of a dozen rows. Every query still runs in
// its own read transaction on the file, so it sees every commit before it,
// another process's too.

// rawPool is the reader connections of one store: at most size open, and
// a query waits for one rather than opening more. Opening a connection
// reads the schema and prepares statements again (a millisecond of CPU);
// under 64 concurrent requests an unbounded pool opened and closed one per
// request past size, which cost more than the queries.
type rawPool struct {
	dsn    string
	idle   chan *rawConn
	slots  chan struct{} // one per connection checked out or being opened
	size   int
	opened atomic.Int64 // connections opened so far (tests)
	closed atomic.Bool
}

// rawConn is one driver connection and its statements. It is used by one
// goroutine at a time (checked out of the pool).
type rawConn struct {
	c     driver.Conn
	stmts map[string]driver.Stmt
	dest  []driver.Value
}

// maxRawStmts bounds the statements kept per connection: query shapes are
// bounded by the declared fields, but a connection past the bound drops
// them all and starts again rather than growing.
const maxRawStmts = 256

var rawDriver sqlite.Driver

// The readers read the file with pread, into their own page caches, and do
// not memory-map it. SQLite drops a connection's cache and unmaps its map
// whenever another connection has committed since its last read, and a
// projector commits every few milliseconds while events arrive (a login
// is one): the map then cost a new mmap call and a page fault for every
// page the next query touched, where pread costs one call per page. On
// this project's 2-core VM (where a fault costs several µs) one person's
// page, with a writer committing every 5 ms: 1.5 GB store (30,000 staff's
// slips) 230–340 µs of CPU mapped, 117–122 µs with pread; 200,000 documents
// (BenchmarkReadsWhileProjecting) 116–120 µs and 101–102 µs. With no writer
// the map saved ~10 % on the small store and nothing measurable on the big
// one.
const readerMmapBytes = 0

// newRawPool is the reader pool of the store at path; mmapBytes > 0 maps
// that much of the file (the benchmark's comparison only).
func newRawPool(path string, mmapBytes int64) *rawPool {
	n := max(4, 2*runtime.GOMAXPROCS(0))
	d := dsn(path, true)
	if mmapBytes > 0 {
		d += "&_pragma=mmap_size(" + strconv.FormatInt(mmapBytes, 10) + ")"
	}
	return &rawPool{dsn: d, idle: make(chan *rawConn, n), slots: make(chan struct{}, n), size: n}
}

// raw returns the store's reader pool.
func (c *core) raw() *rawPool { return c.rawp }

// get checks a connection out: an idle one, else a new one while fewer
// than size are open, else it waits for one to be put back.
func (p *rawPool) get(ctx context.Context) (*rawConn, error) {
	if p.closed.Load() {
		return nil, errClosed
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case rc := <-p.idle:
		return rc, nil
	default:
	}
	dc, err := rawDriver.Open(p.dsn)
	if err != nil {
		<-p.slots
		return nil, err
	}
	p.opened.Add(1)
	return &rawConn{c: dc, stmts: map[string]driver.Stmt{}}, nil
}

// put returns a connection; a broken one (bad is set), or any once the
// store is closing, is closed instead.
func (p *rawPool) put(rc *rawConn, bad bool) {
	if bad || p.closed.Load() {
		rc.close()
	} else {
		p.idle <- rc // never blocks: at most size are checked out
		if p.closed.Load() {
			p.drain() // Close drained between the check and the send
		}
	}
	<-p.slots
}

// drain closes the idle connections for good: the store is closing, and
// a connection put back after this is closed instead of kept.
func (p *rawPool) drain() {
	p.closed.Store(true)
	for {
		select {
		case rc := <-p.idle:
			rc.close()
		default:
			return
		}
	}
}

func (rc *rawConn) close() {
	for _, st := range rc.stmts {
		_ = st.Close()
	}
	rc.stmts = nil
	_ = rc.c.Close()
}

func (rc *rawConn) stmt(ctx context.Context, q string) (driver.Stmt, error) {
	if st, ok := rc.stmts[q]; ok {
		return st, nil
	}
	if len(rc.stmts) >= maxRawStmts {
		for k, st := range rc.stmts {
			_ = st.Close()
			delete(rc.stmts, k)
		}
	}
	st, err := rc.c.(driver.ConnPrepareContext).PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	rc.stmts[q] = st
	return st, nil
}

// rawQuery runs q on a pooled connection and appends its rows, read as
// scanDocs reads them, to into.
func (c *core) rawQuery(ctx context.Context, sh shape, q string, into *found, args []driver.NamedValue) error {
	return c.rawQueryUntil(ctx, sh, q, into, args, nil)
}

// rawQueryUntil is rawQuery that stops before the row for which stop (if
// set) says so, given what was read so far and the row's values.
func (c *core) rawQueryUntil(ctx context.Context, sh shape, q string, into *found, args []driver.NamedValue, stop stopFunc) error {
	p := c.raw()
	rc, err := p.get(ctx)
	if err != nil {
		return err
	}
	if hook := c.midRead; hook != nil {
		stop = holdAtFirstRow(stop, hook)
	}
	err = rc.query(ctx, sh, q, into, args, stop)
	// A connection whose statement failed is closed rather than reused:
	// the failure may be the connection's (its statements are cheap to
	// prepare again), and a closed store keeps nothing.
	p.put(rc, err != nil || c.closed.Load())
	return err
}

type stopFunc func(f *found, next []driver.Value) bool

// holdAtFirstRow is stop that first runs hook, once (core.midRead).
func holdAtFirstRow(stop stopFunc, hook func()) stopFunc {
	var once sync.Once
	return func(f *found, next []driver.Value) bool {
		once.Do(hook)
		return stop != nil && stop(f, next)
	}
}

func (rc *rawConn) query(ctx context.Context, sh shape, q string, into *found, args []driver.NamedValue, stop stopFunc) error {
	st, err := rc.stmt(ctx, q)
	if err != nil {
		return err
	}
	// Not ctx: a cancellable context costs the driver an interrupt watcher
	// per query, and a page's read takes a fraction of a millisecond.
	rows, err := st.(driver.StmtQueryContext).QueryContext(context.Background(), args)
	if err != nil {
		return err
	}
	err = readDocs(rows, sh, into, &rc.dest, stop)
	if cerr := rows.Close(); err == nil && cerr != nil {
		return cerr
	}
	return err
}

// readDocs reads rows of colList(sh) as documents.
func readDocs(rows driver.Rows, sh shape, into *found, buf *[]driver.Value, stop stopFunc) error {
	base := sh.base()
	n := base + len(sh.fields)
	if cap(*buf) < n {
		*buf = make([]driver.Value, n)
	}
	dest := (*buf)[:n]
	for {
		clear(dest)
		err := rows.Next(dest)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if stop != nil && stop(into, dest) {
			return nil
		}
		var d projections.Doc
		if d.ID, err = colString(dest[0], "id"); err != nil {
			return err
		}
		if d.Body, err = colBytes(dest[base-1], "body"); err != nil {
			return err
		}
		if sh.key >= 0 {
			k, err := fieldValue(sh.fields[sh.key], dest[base+sh.key])
			if err != nil {
				return err
			}
			into.keys = append(into.keys, k)
		}
		if !sh.lean {
			v, ok := dest[1].(int64)
			if !ok {
				return fmt.Errorf("column version holds %T", dest[1])
			}
			d.Version = uint64(v)
			d.Fields = make(map[string]any, len(sh.fields)+len(sh.fixed))
			for _, c := range sh.fixed {
				d.Fields[c.Field] = c.Value
			}
			for i, f := range sh.fields {
				x, err := fieldValue(f, dest[base+i])
				if err != nil {
					return err
				}
				if x != nil {
					d.Fields[f] = x
				}
			}
		}
		into.docs = append(into.docs, d)
	}
}

// Column conversions that accept what SQLite may hand back for a column
// (a row changed by hand may hold TEXT where BLOB was written).

func colString(v driver.Value, name string) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	}
	return "", fmt.Errorf("column %s holds %T, want text", name, v)
}

func colBytes(v driver.Value, name string) ([]byte, error) {
	switch x := v.(type) {
	case []byte:
		return x, nil
	case string:
		return []byte(x), nil
	case nil: // an empty BLOB
		return nil, nil
	}
	return nil, fmt.Errorf("column %s holds %T, want bytes", name, v)
}

// namedArgs converts query arguments to driver values (the types the read
// path binds: strings, integers; nil stays nil).
func namedArgs(vals []any) ([]driver.NamedValue, error) {
	out := make([]driver.NamedValue, len(vals))
	for i, v := range vals {
		switch x := v.(type) {
		case nil, int64, string, []byte, float64, bool:
			out[i].Value = x
		case int:
			out[i].Value = int64(x)
		case int32:
			out[i].Value = int64(x)
		case uint64:
			if x > 1<<63-1 {
				return nil, fmt.Errorf("argument %d: %d overflows an integer", i+1, x)
			}
			out[i].Value = int64(x)
		default:
			dv, err := driver.DefaultParameterConverter.ConvertValue(v)
			if err != nil {
				return nil, fmt.Errorf("argument %d: %w", i+1, err)
			}
			out[i].Value = dv
		}
		out[i].Ordinal = i + 1
	}
	return out, nil
}
