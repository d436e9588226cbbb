package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/melaka-gov/ispeks/infra/readstore/internal/rskit"
	"github.com/melaka-gov/ispeks/projections"
)

func table(name string, shadow bool) string {
	if shadow {
		return `"s_` + name + `"`
	}
	return `"c_` + name + `"`
}

func col(field string) string { return `"f_` + field + `"` }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// reload reads the catalog: how another process (or an earlier run) declared
// the collections.
func (c *core) reload(ctx context.Context) error {
	rows, err := c.r.QueryContext(ctx, "SELECT name, shadow, indexes, projector FROM _collections")
	if err != nil {
		return fmt.Errorf("readstore/sqlite: read catalog: %w", err)
	}
	defer rows.Close()
	live := map[string]rskit.Spec{}
	shad := map[string]shadowSpec{}
	for rows.Next() {
		var name, indexes, projector string
		var shadow bool
		if err := rows.Scan(&name, &shadow, &indexes, &projector); err != nil {
			return fmt.Errorf("readstore/sqlite: read catalog: %w", err)
		}
		spec, err := decodeSpec(name, indexes)
		if err != nil {
			return err
		}
		if shadow {
			shad[name] = shadowSpec{Spec: spec, projector: projector}
		} else {
			live[name] = spec
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("readstore/sqlite: read catalog: %w", err)
	}
	c.mu.Lock()
	c.live, c.shad = live, shad
	c.mu.Unlock()
	return nil
}

func decodeSpec(name, indexes string) (rskit.Spec, error) {
	var entries []string
	if err := json.Unmarshal([]byte(indexes), &entries); err != nil {
		return rskit.Spec{}, fmt.Errorf("readstore/sqlite: catalog entry of %q is corrupt: %w", name, err)
	}
	spec, err := rskit.ParseSpec(projections.CollectionSpec{Name: name, Indexes: entries})
	if err != nil {
		return rskit.Spec{}, fmt.Errorf("readstore/sqlite: catalog entry of %q is corrupt: %w", name, err)
	}
	return spec, nil
}

func encodeSpec(s rskit.Spec) string {
	b, _ := json.Marshal(s.Entries())
	return string(b)
}

// spec returns the declared spec of a collection as this store sees it
// (live or shadow).
func (s *Store) cached(name string) (rskit.Spec, bool) {
	if s.shadow && !s.names[name] {
		return rskit.Spec{}, false
	}
	s.c.mu.RLock()
	defer s.c.mu.RUnlock()
	if s.shadow {
		sp, ok := s.c.shad[name]
		return sp.Spec, ok
	}
	sp, ok := s.c.live[name]
	return sp, ok
}

// spec looks a collection up, re-reading the catalog once on a miss (another
// process may have declared it, or swapped in a rebuild with more fields);
// need lists fields the caller will use, each a reason to re-read too.
func (s *Store) spec(ctx context.Context, name string, need ...string) (rskit.Spec, error) {
	sp, ok := s.cached(name)
	if ok && hasAll(sp, need) {
		return sp, nil
	}
	if s.shadow && !s.names[name] {
		return rskit.Spec{}, fmt.Errorf("%w (not part of the rebuild of %q)", rskit.Unknown(name), s.projector)
	}
	if err := s.c.reload(ctx); err != nil {
		return rskit.Spec{}, err
	}
	sp, ok = s.cached(name)
	if !ok {
		return rskit.Spec{}, rskit.Unknown(name)
	}
	return sp, nil
}

func hasAll(sp rskit.Spec, fields []string) bool {
	for _, f := range fields {
		if f != "" && !sp.Has(f) {
			return false
		}
	}
	return true
}

// staleSchema reports an error that a re-read of the catalog may cure: a
// statement built from an old spec after another process swapped a rebuild.
func staleSchema(err error) bool {
	if err == nil {
		return false
	}
	m := err.Error()
	return strings.Contains(m, "no such table") || strings.Contains(m, "no such column")
}

// Ensure creates the collections and indexes that are missing. It only adds:
// a field dropped from a spec stays indexed, so an older and a newer binary
// can run side by side. Documents stored before a field was added lack it
// until they are put again (or rebuilt).
func (s *Store) Ensure(ctx context.Context, specs ...projections.CollectionSpec) error {
	if s.c.closed.Load() {
		return errClosed
	}
	parsed, err := rskit.ParseSpecs(specs)
	if err != nil {
		return err
	}
	for _, sp := range parsed {
		if s.shadow && !s.names[sp.Name] {
			return fmt.Errorf("%w (not part of the rebuild of %q)", rskit.Unknown(sp.Name), s.projector)
		}
	}
	if err := s.c.turn.acquire(ctx, false); err != nil {
		return fmt.Errorf("readstore/sqlite: ensure: wait for the writer: %w", err)
	}
	defer s.c.turn.release()
	if s.c.closed.Load() {
		return errClosed // closing as this got the writer: Close waits for it to let go
	}
	tx, err := s.c.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("readstore/sqlite: ensure: %w", err)
	}
	defer tx.Rollback()
	for _, sp := range parsed {
		if err := ensureOne(ctx, tx, sp, s.shadow); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("readstore/sqlite: ensure: commit: %w", err)
	}
	return s.c.reload(ctx)
}

func ensureOne(ctx context.Context, tx *sql.Tx, want rskit.Spec, shadow bool) error {
	var indexes, owner string
	err := tx.QueryRowContext(ctx, "SELECT indexes, projector FROM _collections WHERE name = ? AND shadow = ?", want.Name, boolInt(shadow)).Scan(&indexes, &owner)
	if errors.Is(err, sql.ErrNoRows) {
		if err := createCollection(ctx, tx, want, shadow); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO _collections (name, shadow, indexes, projector) VALUES (?, ?, ?, ?)", want.Name, boolInt(shadow), encodeSpec(want), want.Owner)
		if err != nil {
			return fmt.Errorf("readstore/sqlite: ensure %q: %w", want.Name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("readstore/sqlite: ensure %q: %w", want.Name, err)
	}
	if !shadow && want.Owner != "" && owner != want.Owner {
		// The collection moved to another projector (or its owner was
		// not recorded yet): the earlier owner's rebuild must not drop it.
		if _, err := tx.ExecContext(ctx, "UPDATE _collections SET projector = ? WHERE name = ? AND shadow = 0", want.Owner, want.Name); err != nil {
			return fmt.Errorf("readstore/sqlite: ensure %q: owner: %w", want.Name, err)
		}
	}
	have, err := decodeSpec(want.Name, indexes)
	if err != nil {
		return err
	}
	merged := have.Merge(want)
	tbl := table(want.Name, shadow)
	if merged.Equal(have) {
		// A store written by an older version may lack the covering form
		// of its compound indexes: bring them up to date.
		return ensureCovering(ctx, tx, merged, tbl)
	}
	for _, f := range merged.Fields {
		if have.Has(f) {
			continue
		}
		if _, err := tx.ExecContext(ctx, "ALTER TABLE "+tbl+" ADD COLUMN "+col(f)); err != nil {
			return fmt.Errorf("readstore/sqlite: ensure %q: add field %q: %w", want.Name, f, err)
		}
	}
	for _, f := range merged.Singles {
		if slices.Contains(have.Singles, f) {
			continue
		}
		if err := createIndex(ctx, tx, want.Name, tbl, []string{col(f), "id"}); err != nil {
			return err
		}
	}
	// New compounds, and the covering ones that now lack a new field.
	if err := ensureCovering(ctx, tx, merged, tbl); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "UPDATE _collections SET indexes = ? WHERE name = ? AND shadow = ?", encodeSpec(merged), want.Name, boolInt(shadow))
	if err != nil {
		return fmt.Errorf("readstore/sqlite: ensure %q: %w", want.Name, err)
	}
	return nil
}

func createCollection(ctx context.Context, tx *sql.Tx, sp rskit.Spec, shadow bool) error {
	tbl := table(sp.Name, shadow)
	var b strings.Builder
	b.WriteString("CREATE TABLE " + tbl + " (id TEXT NOT NULL PRIMARY KEY, version INTEGER NOT NULL, body BLOB NOT NULL")
	for _, f := range sp.Fields {
		// No declared type: values keep the type they were bound with
		// (INTEGER or TEXT), which sort integers before strings as MongoDB does.
		b.WriteString(", " + col(f))
	}
	b.WriteString(")")
	if _, err := tx.ExecContext(ctx, b.String()); err != nil {
		return fmt.Errorf("readstore/sqlite: create collection %q: %w", sp.Name, err)
	}
	for _, f := range sp.Singles {
		if err := createIndex(ctx, tx, sp.Name, tbl, []string{col(f), "id"}); err != nil {
			return err
		}
	}
	for _, cmp := range sp.Compounds {
		if err := createIndex(ctx, tx, sp.Name, tbl, coveringCols(sp, cmp)); err != nil {
			return err
		}
	}
	return nil
}

// coveringCols is the column list of the index of compound cmp: its fields,
// id, then the whole document (version, body, the other fields). A compound
// serves a per-owner list (one person's statements, newest first), which
// reads a page of whole documents: with the documents inside the index such
// a page is one seek and a run of neighbouring index entries, instead of one
// random read of the table per document (a few dozen page reads per list on
// a large store). Single-field indexes stay narrow: they serve occasional
// listings, and each covering index stores the body once more.
func coveringCols(sp rskit.Spec, cmp []string) []string {
	cols := make([]string, 0, len(sp.Fields)+3)
	for _, f := range cmp {
		cols = append(cols, col(f))
	}
	cols = append(cols, "id", "version", "body")
	for _, f := range sp.Fields {
		if !slices.Contains(cmp, f) {
			cols = append(cols, col(f))
		}
	}
	return cols
}

// ensureCovering gives every compound of sp its covering index (creating it
// where missing) and drops the indexes it replaces: the narrow form written
// by earlier versions (fields, id) and covering ones that lack a field added
// since. Run by Ensure, so an existing data dir is migrated on start (one
// CREATE INDEX per compound: seconds for a million documents).
func ensureCovering(ctx context.Context, tx *sql.Tx, sp rskit.Spec, tbl string) error {
	have, err := indexCols(ctx, tx, strings.Trim(tbl, `"`))
	if err != nil {
		return fmt.Errorf("readstore/sqlite: ensure %q: %w", sp.Name, err)
	}
	for _, cmp := range sp.Compounds {
		want := bare(coveringCols(sp, cmp))
		narrow := append(slices.Clone(want[:len(cmp)]), "id")
		found := false
		for name, cols := range have {
			switch {
			case slices.Equal(cols, want):
				found = true
			case slices.Equal(cols, narrow) || (len(cols) >= len(narrow)+2 && slices.Equal(cols[:len(narrow)+2], want[:len(narrow)+2])):
				if _, err := tx.ExecContext(ctx, `DROP INDEX "`+name+`"`); err != nil {
					return fmt.Errorf("readstore/sqlite: ensure %q: drop index %s: %w", sp.Name, name, err)
				}
				delete(have, name)
			}
		}
		if !found {
			if err := createIndex(ctx, tx, sp.Name, tbl, coveringCols(sp, cmp)); err != nil {
				return err
			}
		}
	}
	return nil
}

// bare strips the quotes of column names.
func bare(cols []string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = strings.Trim(c, `"`)
	}
	return out
}

// indexCols lists the explicit indexes of table tbl with their columns.
func indexCols(ctx context.Context, tx *sql.Tx, tbl string) (map[string][]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT il.name, ii.name FROM pragma_index_list(?) AS il, pragma_index_info(il.name) AS ii
		WHERE il.origin = 'c' ORDER BY il.name, ii.seqno`, tbl)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var ix string
		var c sql.NullString
		if err := rows.Scan(&ix, &c); err != nil {
			return nil, err
		}
		out[ix] = append(out[ix], c.String)
	}
	return out, rows.Err()
}

// createIndex indexes cols, which end with id (ties sort by id inside the
// index) or, for a covering index, with id and the rest of the document.
// Index names carry a random suffix because a shadow table keeps its index
// names when it is renamed to live, and the next shadow must not clash.
func createIndex(ctx context.Context, tx *sql.Tx, name, tbl string, cols []string) error {
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	var fields []string
	for _, c := range cols {
		if c == "id" {
			break
		}
		fields = append(fields, strings.TrimSuffix(strings.TrimPrefix(c, `"f_`), `"`))
	}
	ix := `"ix_` + name + "_" + strings.Join(fields, "_") + "_" + hex.EncodeToString(rnd[:]) + `"`
	if _, err := tx.ExecContext(ctx, "CREATE INDEX "+ix+" ON "+tbl+" ("+strings.Join(cols, ", ")+")"); err != nil {
		return fmt.Errorf("readstore/sqlite: index %q on %s: %w", name, strings.Join(fields, "+"), err)
	}
	return nil
}
