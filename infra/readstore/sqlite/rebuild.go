package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/melaka-gov/ispeks/infra/readstore/internal/rskit"
	"github.com/melaka-gov/ispeks/projections"
)

// BeginRebuild (re)creates empty shadow tables for specs and clears the
// projector's shadow checkpoint. The returned Store reads and writes only
// the shadows; this Store keeps serving the live tables.
func (s *Store) BeginRebuild(ctx context.Context, projector string, specs ...projections.CollectionSpec) (projections.ReadStore, error) {
	if s.c.closed.Load() {
		return nil, errClosed
	}
	if s.shadow {
		return nil, fmt.Errorf("readstore/sqlite: BeginRebuild on a shadow store (rebuild of %q)", s.projector)
	}
	if err := rskit.CheckProjector(projector); err != nil {
		return nil, err
	}
	parsed, err := rskit.ParseSpecs(specs)
	if err != nil {
		return nil, err
	}
	if len(parsed) == 0 {
		return nil, fmt.Errorf("%w: rebuild of %q names no collections", rskit.ErrInvalid, projector)
	}
	if err := s.c.turn.acquire(ctx, false); err != nil {
		return nil, fmt.Errorf("readstore/sqlite: begin rebuild of %s: wait for the writer: %w", projector, err)
	}
	defer s.c.turn.release()
	if s.c.closed.Load() {
		return nil, errClosed // closing as this got the writer: Close waits for it to let go
	}
	tx, err := s.c.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("readstore/sqlite: begin rebuild of %s: %w", projector, err)
	}
	defer tx.Rollback()
	names := map[string]bool{}
	for _, sp := range parsed {
		names[sp.Name] = true
	}
	// An earlier rebuild of this projector that never swapped may have left
	// shadows of collections the projector has since given up.
	abandoned, err := dropUndeclared(ctx, tx, projector, names, true)
	if err != nil {
		return nil, err
	}
	for _, sp := range parsed {
		if _, err := tx.ExecContext(ctx, "DROP TABLE IF EXISTS "+table(sp.Name, true)); err != nil {
			return nil, fmt.Errorf("readstore/sqlite: begin rebuild of %s: drop old shadow of %q: %w", projector, sp.Name, err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM _collections WHERE name = ? AND shadow = 1", sp.Name); err != nil {
			return nil, fmt.Errorf("readstore/sqlite: begin rebuild of %s: %w", projector, err)
		}
		if err := createCollection(ctx, tx, sp, true); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO _collections (name, shadow, indexes, projector) VALUES (?, 1, ?, ?)", sp.Name, encodeSpec(sp), projector); err != nil {
			return nil, fmt.Errorf("readstore/sqlite: begin rebuild of %s: %w", projector, err)
		}
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM _checkpoints WHERE projector = ? AND shadow = 1", projector); err != nil {
		return nil, fmt.Errorf("readstore/sqlite: begin rebuild of %s: %w", projector, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("readstore/sqlite: begin rebuild of %s: commit: %w", projector, err)
	}
	if err := s.c.reload(ctx); err != nil {
		return nil, err
	}
	for _, name := range abandoned {
		s.c.log.Info("dropped an abandoned rebuild's shadow of a collection the projector no longer declares", "collection", name, "projector", projector)
	}
	s.c.log.Info("rebuild started", "projector", projector, "collections", len(parsed))
	return &Store{c: s.c, shadow: true, projector: projector, names: names}, nil
}

// SwapRebuild replaces the live tables and the projector's checkpoint with
// the shadows in one transaction: readers see the old state or the new one,
// never a mix. Prepared statements of other connections re-prepare against
// the renamed tables by themselves.
//
// The swapped-in tables remember the projector (_collections.projector), and
// the same transaction drops every live table this projector owns (swapped
// in or last declared by it through Ensure's Owner) that specs no longer
// names: a projector whose new layout gives up a collection leaves no
// orphan behind. A table whose owner is unknown (an empty projector: created
// by Ensure without an Owner, or written by a binary that did not record
// owners) is left alone, since another projector may use it.
func (s *Store) SwapRebuild(ctx context.Context, projector string, specs ...projections.CollectionSpec) error {
	if s.c.closed.Load() {
		return errClosed
	}
	if s.shadow {
		return fmt.Errorf("readstore/sqlite: SwapRebuild on a shadow store: call it on the live store")
	}
	if err := rskit.CheckProjector(projector); err != nil {
		return err
	}
	parsed, err := rskit.ParseSpecs(specs)
	if err != nil {
		return err
	}
	if len(parsed) == 0 {
		return fmt.Errorf("%w: rebuild of %q names no collections", rskit.ErrInvalid, projector)
	}
	if err := s.c.turn.acquire(ctx, false); err != nil {
		return fmt.Errorf("readstore/sqlite: swap rebuild of %s: wait for the writer: %w", projector, err)
	}
	defer s.c.turn.release()
	if s.c.closed.Load() {
		return errClosed // closing as this got the writer: Close waits for it to let go
	}
	tx, err := s.c.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("readstore/sqlite: swap rebuild of %s: %w", projector, err)
	}
	defer tx.Rollback()
	names := map[string]bool{}
	for _, sp := range parsed {
		names[sp.Name] = true
		var owner string
		err := tx.QueryRowContext(ctx, "SELECT projector FROM _collections WHERE name = ? AND shadow = 1", sp.Name).Scan(&owner)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("readstore/sqlite: swap rebuild of %s: collection %q has no rebuild in progress", projector, sp.Name)
		}
		if err != nil {
			return fmt.Errorf("readstore/sqlite: swap rebuild of %s: %w", projector, err)
		}
		if owner != projector {
			return fmt.Errorf("readstore/sqlite: swap rebuild of %s: the shadow of %q belongs to the rebuild of %q", projector, sp.Name, owner)
		}
		for _, stmt := range []string{
			"DROP TABLE IF EXISTS " + table(sp.Name, false),
			"ALTER TABLE " + table(sp.Name, true) + " RENAME TO " + table(sp.Name, false),
		} {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("readstore/sqlite: swap rebuild of %s: collection %q: %w", projector, sp.Name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM _collections WHERE name = ? AND shadow = 0", sp.Name); err != nil {
			return fmt.Errorf("readstore/sqlite: swap rebuild of %s: %w", projector, err)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE _collections SET shadow = 0 WHERE name = ? AND shadow = 1", sp.Name); err != nil {
			return fmt.Errorf("readstore/sqlite: swap rebuild of %s: %w", projector, err)
		}
	}
	dropped, err := dropUndeclared(ctx, tx, projector, names, false)
	if err != nil {
		return err
	}
	// The shadow's checkpoint becomes the live one; none means 0.
	if _, err := tx.ExecContext(ctx, "DELETE FROM _checkpoints WHERE projector = ? AND shadow = 0", projector); err != nil {
		return fmt.Errorf("readstore/sqlite: swap rebuild of %s: %w", projector, err)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE _checkpoints SET shadow = 0 WHERE projector = ? AND shadow = 1", projector); err != nil {
		return fmt.Errorf("readstore/sqlite: swap rebuild of %s: %w", projector, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("readstore/sqlite: swap rebuild of %s: commit: %w", projector, err)
	}
	for _, name := range dropped {
		s.c.log.Info("dropped a collection the projector no longer declares", "collection", name, "projector", projector)
	}
	s.c.log.Info("rebuild swapped in", "projector", projector, "collections", len(parsed))
	return s.c.reload(ctx)
}

// DropShadows drops the shadow tables and the shadow checkpoint a rebuild
// of projector left unswapped, in one transaction.
func (s *Store) DropShadows(ctx context.Context, projector string) ([]string, error) {
	if s.c.closed.Load() {
		return nil, errClosed
	}
	if s.shadow {
		return nil, fmt.Errorf("readstore/sqlite: DropShadows on a shadow store: call it on the live store")
	}
	if err := rskit.CheckProjector(projector); err != nil {
		return nil, err
	}
	if err := s.c.turn.acquire(ctx, false); err != nil {
		return nil, fmt.Errorf("readstore/sqlite: drop shadows of %s: wait for the writer: %w", projector, err)
	}
	defer s.c.turn.release()
	if s.c.closed.Load() {
		return nil, errClosed // closing as this got the writer: Close waits for it to let go
	}
	tx, err := s.c.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("readstore/sqlite: drop shadows of %s: %w", projector, err)
	}
	defer tx.Rollback()
	dropped, err := dropUndeclared(ctx, tx, projector, nil, true) // every shadow of projector
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM _checkpoints WHERE projector = ? AND shadow = 1", projector); err != nil {
		return nil, fmt.Errorf("readstore/sqlite: drop shadows of %s: %w", projector, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("readstore/sqlite: drop shadows of %s: commit: %w", projector, err)
	}
	if len(dropped) > 0 {
		s.c.log.Info("dropped an unfinished rebuild's shadow tables", "projector", projector, "collections", dropped)
	}
	return dropped, s.c.reload(ctx)
}

// dropUndeclared drops, inside the caller's transaction, the live tables
// (or, with shadow, the shadow tables) owned by projector that are not in
// keep, and returns their names. Tables of an unknown owner (empty
// projector) are never touched: those of stores written before owners were
// recorded, and those created by Ensure without an Owner.
func dropUndeclared(ctx context.Context, tx *sql.Tx, projector string, keep map[string]bool, shadow bool) ([]string, error) {
	fail := func(err error) ([]string, error) {
		return nil, fmt.Errorf("readstore/sqlite: rebuild of %s: drop the collections it no longer declares: %w", projector, err)
	}
	rows, err := tx.QueryContext(ctx, "SELECT name FROM _collections WHERE shadow = ? AND projector = ? ORDER BY name", boolInt(shadow), projector)
	if err != nil {
		return fail(err)
	}
	var drop []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return fail(err)
		}
		if !keep[name] {
			drop = append(drop, name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	for _, name := range drop {
		_, err := tx.ExecContext(ctx, "DROP TABLE IF EXISTS "+table(name, shadow))
		if err == nil {
			_, err = tx.ExecContext(ctx, "DELETE FROM _collections WHERE name = ? AND shadow = ?", name, boolInt(shadow))
		}
		if err != nil {
			return fail(fmt.Errorf("%q: %w", name, err))
		}
	}
	return drop, nil
}
