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
	tx, err := s.c.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("readstore/sqlite: begin rebuild of %s: %w", projector, err)
	}
	defer tx.Rollback()
	names := map[string]bool{}
	for _, sp := range parsed {
		names[sp.Name] = true
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
	s.c.log.Info("rebuild started", "projector", projector, "collections", len(parsed))
	return &Store{c: s.c, shadow: true, projector: projector, names: names}, nil
}

// SwapRebuild replaces the live tables and the projector's checkpoint with
// the shadows in one transaction: readers see the old state or the new one,
// never a mix. Prepared statements of other connections re-prepare against
// the renamed tables by themselves.
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
	tx, err := s.c.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("readstore/sqlite: swap rebuild of %s: %w", projector, err)
	}
	defer tx.Rollback()
	for _, sp := range parsed {
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
		if _, err := tx.ExecContext(ctx, "UPDATE _collections SET shadow = 0, projector = '' WHERE name = ? AND shadow = 1", sp.Name); err != nil {
			return fmt.Errorf("readstore/sqlite: swap rebuild of %s: %w", projector, err)
		}
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
	s.c.log.Info("rebuild swapped in", "projector", projector, "collections", len(parsed))
	return s.c.reload(ctx)
}
