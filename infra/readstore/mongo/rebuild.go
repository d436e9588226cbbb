package mongo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/melaka-gov/ispeks/infra/readstore/internal/rskit"
	"github.com/melaka-gov/ispeks/projections"
)

// BeginRebuild gives each collection a new, empty shadow generation and the
// projector a new shadow checkpoint, dropping the shadows of an earlier,
// unfinished rebuild. The returned Store reads and writes only the shadows;
// this Store keeps serving the live generations.
func (s *Store) BeginRebuild(ctx context.Context, projector string, specs ...projections.CollectionSpec) (projections.ReadStore, error) {
	if s.c.closed.Load() {
		return nil, errClosed
	}
	if s.shadow {
		return nil, fmt.Errorf("readstore/mongo: BeginRebuild on a shadow store (rebuild of %q)", s.projector)
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
	var stale []string   // abandoned shadow collections
	var given []string   // of them, those of collections the projector no longer declares
	var staleCP []string // abandoned shadow checkpoint
	gens := map[string]int64{}
	var cpGen int64
	_, err = s.c.update(ctx, func(cat *catalog) error {
		stale, staleCP, given = stale[:0], staleCP[:0], given[:0]
		// An earlier rebuild of this projector that never swapped may have
		// left shadows of collections the projector has since given up.
		for name, e := range cat.Shadow {
			if e.Projector == projector && !slices.ContainsFunc(parsed, func(sp rskit.Spec) bool { return sp.Name == name }) {
				stale = append(stale, physical(name, e.Gen))
				given = append(given, name)
				delete(cat.Shadow, name)
			}
		}
		for _, sp := range parsed {
			if old, ok := cat.Shadow[sp.Name]; ok {
				stale = append(stale, physical(sp.Name, old.Gen))
			}
			gens[sp.Name] = cat.NextGen
			cat.Shadow[sp.Name] = entry{Gen: cat.NextGen, Indexes: sp.Entries(), Projector: projector}
			cat.NextGen++
		}
		if old, ok := cat.CPShadow[projector]; ok {
			staleCP = append(staleCP, cpID(projector, old))
		}
		cpGen = cat.NextGen
		cat.CPShadow[projector] = cpGen
		cat.NextGen++
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, name := range stale {
		if err := s.c.db.Collection(name).Drop(ctx); err != nil {
			return nil, fmt.Errorf("readstore/mongo: begin rebuild of %s: drop abandoned shadow %s: %w", projector, name, err)
		}
	}
	for _, id := range staleCP {
		if _, err := s.c.db.Collection(checkpointColl).DeleteOne(ctx, bson.D{{Key: fID, Value: id}}); err != nil {
			return nil, fmt.Errorf("readstore/mongo: begin rebuild of %s: %w", projector, err)
		}
	}
	for _, sp := range parsed {
		if err := createIndexes(ctx, s.c.db.Collection(physical(sp.Name, gens[sp.Name])), sp); err != nil {
			return nil, err
		}
	}
	s.c.collect(ctx)
	for _, name := range given {
		s.c.log.Info("dropped an abandoned rebuild's shadow of a collection the projector no longer declares", "collection", name, "projector", projector)
	}
	s.c.log.Info("rebuild started", "projector", projector, "collections", len(parsed))
	return &Store{c: s.c, shadow: true, projector: projector, gens: gens, cpGen: cpGen}, nil
}

// SwapRebuild makes the shadows and the shadow checkpoint live with one
// compare-and-swap of the catalog document. Readers in this process switch
// at once, those in other processes within CatalogTTL; the old generations
// are dropped after DropDelay.
//
// The live entries remember the projector, and the same catalog change
// retires every live collection this projector owns (swapped in or last
// declared by it through Ensure's Owner) that specs no longer names
// (dropped after DropDelay like an old generation): a projector whose new
// layout gives up a collection leaves no orphan behind. A collection whose
// owner is unknown (made by Ensure without an Owner, or written by a binary
// that did not record owners) is left alone, since another projector may
// use it.
func (s *Store) SwapRebuild(ctx context.Context, projector string, specs ...projections.CollectionSpec) error {
	if s.c.closed.Load() {
		return errClosed
	}
	if s.shadow {
		return fmt.Errorf("readstore/mongo: SwapRebuild on a shadow store: call it on the live store")
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
	var dropped []string
	_, err = s.c.update(ctx, func(cat *catalog) error {
		now := time.Now()
		names := map[string]bool{}
		for _, sp := range parsed {
			names[sp.Name] = true
			sh, ok := cat.Shadow[sp.Name]
			if !ok {
				return fmt.Errorf("readstore/mongo: swap rebuild of %s: collection %q has no rebuild in progress", projector, sp.Name)
			}
			if sh.Projector != projector {
				return fmt.Errorf("readstore/mongo: swap rebuild of %s: the shadow of %q belongs to the rebuild of %q", projector, sp.Name, sh.Projector)
			}
			if old, ok := cat.Live[sp.Name]; ok {
				cat.Retired = append(cat.Retired, retired{Collection: physical(sp.Name, old.Gen), At: now})
			}
			cat.Live[sp.Name] = entry{Gen: sh.Gen, Indexes: sh.Indexes, Projector: projector}
			delete(cat.Shadow, sp.Name)
		}
		// Ownerless entries (Projector "") never match: see above.
		dropped = dropped[:0]
		for name, e := range cat.Live {
			if e.Projector == projector && !names[name] {
				cat.Retired = append(cat.Retired, retired{Collection: physical(name, e.Gen), At: now})
				delete(cat.Live, name)
				dropped = append(dropped, name)
			}
		}
		cp, ok := cat.CPShadow[projector]
		if !ok {
			return fmt.Errorf("readstore/mongo: swap rebuild of %s: no rebuild in progress for this projector", projector)
		}
		cat.Retired = append(cat.Retired, retired{Checkpoint: cpID(projector, cat.CPLive[projector]), At: now})
		cat.CPLive[projector] = cp
		delete(cat.CPShadow, projector)
		return nil
	})
	if err != nil {
		return err
	}
	slices.Sort(dropped)
	for _, name := range dropped {
		s.c.log.Info("dropped a collection the projector no longer declares", "collection", name, "projector", projector)
	}
	s.c.log.Info("rebuild swapped in", "projector", projector, "collections", len(parsed))
	s.c.collectLater()
	return nil
}

// DropShadows retires the shadow generations and the shadow checkpoint a
// rebuild of projector left unswapped, with one catalog change, and drops
// them at once. Retired rather than dropped outright: should this process
// stop between the catalog change and the drops, a later collect drops
// them still.
func (s *Store) DropShadows(ctx context.Context, projector string) (_ []string, err error) {
	defer func() { err = unavailable(err) }()
	if s.c.closed.Load() {
		return nil, errClosed
	}
	if s.shadow {
		return nil, fmt.Errorf("readstore/mongo: DropShadows on a shadow store: call it on the live store")
	}
	if err := rskit.CheckProjector(projector); err != nil {
		return nil, err
	}
	var dropped []string
	_, err = s.c.update(ctx, func(cat *catalog) error {
		dropped = dropped[:0]
		for name, e := range cat.Shadow {
			if e.Projector == projector {
				// At zero: due at the next collect, no drop delay; nobody
				// reads an abandoned shadow.
				cat.Retired = append(cat.Retired, retired{Collection: physical(name, e.Gen)})
				delete(cat.Shadow, name)
				dropped = append(dropped, name)
			}
		}
		if gen, ok := cat.CPShadow[projector]; ok {
			cat.Retired = append(cat.Retired, retired{Checkpoint: cpID(projector, gen)})
			delete(cat.CPShadow, projector)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.c.collect(ctx)
	slices.Sort(dropped)
	if len(dropped) > 0 {
		s.c.log.Info("dropped an unfinished rebuild's shadow collections", "projector", projector, "collections", dropped)
	}
	return dropped, nil
}
