package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/melaka-gov/ispeks/infra/readstore/internal/rskit"
	"github.com/melaka-gov/ispeks/projections"
)

// Write runs fn in one transaction and stores checkpoint in the same one: a
// crash leaves either the whole batch with its checkpoint or neither.
func (s *Store) Write(ctx context.Context, projector string, checkpoint uint64, fn func(projections.Batch) error) error {
	if s.c.closed.Load() {
		return errClosed
	}
	if err := rskit.CheckProjector(projector); err != nil {
		return err
	}
	if checkpoint > math.MaxInt64 {
		return fmt.Errorf("%w: projector %q: checkpoint %d does not fit in int64", rskit.ErrInvalid, projector, checkpoint)
	}
	if err := s.c.turn.acquire(ctx, projections.IsBulk(ctx)); err != nil {
		return fmt.Errorf("readstore/sqlite: write %s: wait for the writer: %w", projector, err)
	}
	defer s.c.turn.release()
	if s.c.closed.Load() {
		return errClosed // closing as this got the writer: Close waits for it to let go
	}
	tx, err := s.c.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("readstore/sqlite: write %s: begin: %w", projector, err)
	}
	b := &batch{s: s, tx: tx, run: context.WithoutCancel(ctx), stmts: map[string]*sql.Stmt{}, puts: map[string]*putPlan{}}
	defer func() {
		for _, st := range b.stmts {
			st.Close()
		}
		_ = tx.Rollback() // no-op after Commit
		// The connection is free again: keep what this batch had to
		// prepare for the next ones.
		for _, q := range b.fresh {
			if st, closeIt, err := s.c.wstmts.get(context.WithoutCancel(ctx), s.c.w, q); err == nil && closeIt {
				st.Close() // cache full: nothing to keep
			}
		}
	}()
	if err := fn(b); err != nil {
		return err
	}
	st, err := b.stmt(ctx, checkpointSQL)
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		_, err = st.ExecContext(b.run, projector, boolInt(s.shadow), int64(checkpoint))
	}
	if err != nil {
		return fmt.Errorf("readstore/sqlite: write %s: checkpoint: %w", projector, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("readstore/sqlite: write %s: commit: %w", projector, err)
	}
	return nil
}

const checkpointSQL = `INSERT INTO _checkpoints (projector, shadow, position) VALUES (?, ?, ?)
	ON CONFLICT (projector, shadow) DO UPDATE SET position = excluded.position`

// Checkpoint returns the projector's stored position (the shadow one on a
// shadow store).
func (s *Store) Checkpoint(ctx context.Context, projector string) (uint64, error) {
	if !s.c.reads.Enter() {
		return 0, errClosed
	}
	defer s.c.reads.Leave()
	if err := rskit.CheckProjector(projector); err != nil {
		return 0, err
	}
	var pos int64
	err := s.c.r.QueryRowContext(ctx, "SELECT position FROM _checkpoints WHERE projector = ? AND shadow = ?", projector, boolInt(s.shadow)).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("readstore/sqlite: checkpoint of %s: %w", projector, err)
	}
	return uint64(pos), nil
}

// batch runs its statements in the Write's transaction, so Get sees the
// batch's own puts and deletes.
type batch struct {
	s  *Store
	tx *sql.Tx
	// run is the Write's context without its cancellation, for the
	// statements: under a cancellable context the driver starts a goroutine
	// and a progress handler per statement to interrupt it, ~3 % of the CPU
	// of projecting slips, for one-row statements that take microseconds.
	// The batch checks the real context before each statement instead (and
	// a cancelled Write rolls back).
	run   context.Context
	stmts map[string]*sql.Stmt // bound to tx, closed with it
	puts  map[string]*putPlan  // by collection
	fresh []string             // statements prepared in tx, to keep after it
	need  []string             // Put's scratch: the fields a document names
	args  []any                // Put's scratch: the statement's arguments
}

func (b *batch) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := b.stmts[q]; ok {
		return st, nil
	}
	var st *sql.Stmt
	if kept := b.s.c.wstmts.lookup(q); kept != nil {
		// Prepared on the writer's one connection already: database/sql
		// reuses it for the transaction without preparing again.
		st = b.tx.StmtContext(ctx, kept)
	} else {
		var err error
		if st, err = b.tx.PrepareContext(ctx, q); err != nil {
			return nil, err
		}
		b.fresh = append(b.fresh, q)
	}
	b.stmts[q] = st
	return st, nil
}

func (b *batch) Get(ctx context.Context, collection, id string) (projections.Doc, bool, error) {
	return b.s.get(ctx, b, collection, id)
}

// Put stores doc unless the stored version is the same or newer. All indexed
// columns are written, so a newer put replaces the whole document.
func (b *batch) Put(ctx context.Context, collection string, doc projections.Doc) error {
	var need []string
	if len(doc.Fields) > 0 {
		need = b.need[:0]
		for k := range doc.Fields {
			need = append(need, k)
		}
		b.need = need
	}
	sp, err := b.s.spec(ctx, collection, need...)
	if err != nil {
		return err
	}
	pp := b.puts[collection]
	if pp == nil || !slices.Equal(pp.fields, sp.Fields) {
		pp = &putPlan{fields: sp.Fields, sql: putSQL(table(collection, b.s.shadow), sp.Fields)}
		b.puts[collection] = pp
	}
	// The arguments' slice is the batch's, reused: database/sql copies
	// what it binds. A field's value goes straight to its place (nil when
	// absent), without a map of the fields in between.
	args := append(b.args[:0], doc.ID, int64(doc.Version), []byte(doc.Body))
	base := len(args)
	for range sp.Fields {
		args = append(args, nil)
	}
	err = rskit.EachField(sp, doc, func(f string, v any) {
		if i, ok := slices.BinarySearch(sp.Fields, f); ok {
			args[base+i] = v
		}
	})
	if err != nil {
		clear(args)
		b.args = args[:0]
		return err
	}
	defer func() { clear(args); b.args = args[:0] }()
	st, err := b.stmt(ctx, pp.sql)
	if err != nil {
		return fmt.Errorf("readstore/sqlite: put %s/%s: %w", collection, doc.ID, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("readstore/sqlite: put %s/%s: %w", collection, doc.ID, err)
	}
	if _, err := st.ExecContext(b.run, args...); err != nil {
		return fmt.Errorf("readstore/sqlite: put %s/%s: %w", collection, doc.ID, err)
	}
	return nil
}

type putPlan struct {
	fields []string
	sql    string
}

func putSQL(tbl string, fields []string) string {
	var q strings.Builder
	q.WriteString("INSERT INTO " + tbl + " (id, version, body")
	for _, f := range fields {
		q.WriteString(", " + col(f))
	}
	q.WriteString(") VALUES (?, ?, ?" + strings.Repeat(", ?", len(fields)) + ") ON CONFLICT (id) DO UPDATE SET version = excluded.version, body = excluded.body")
	for _, f := range fields {
		q.WriteString(", " + col(f) + " = excluded." + col(f))
	}
	q.WriteString(" WHERE excluded.version > " + tbl + ".version")
	return q.String()
}

// Delete removes a document; deleting a missing one is not an error.
func (b *batch) Delete(ctx context.Context, collection, id string) error {
	if _, err := b.s.spec(ctx, collection); err != nil {
		return err
	}
	if err := rskit.CheckID(collection, id); err != nil {
		return err
	}
	st, err := b.stmt(ctx, "DELETE FROM "+table(collection, b.s.shadow)+" WHERE id = ?")
	if err != nil {
		return fmt.Errorf("readstore/sqlite: delete %s/%s: %w", collection, id, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("readstore/sqlite: delete %s/%s: %w", collection, id, err)
	}
	if _, err := st.ExecContext(b.run, id); err != nil {
		return fmt.Errorf("readstore/sqlite: delete %s/%s: %w", collection, id, err)
	}
	return nil
}
