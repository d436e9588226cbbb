package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
)

// The hot paths talk to the driver directly (inside sql.Conn.Raw) with
// statements prepared once per connection: database/sql's per-call argument
// conversion and per-column Scan conversion cost more than SQLite's own work
// for rows this small.

// rawStmt is a statement prepared on one driver connection. It is used only
// inside a Raw callback of the *sql.Conn it was prepared on, which the store
// holds for its whole life.
type rawStmt struct {
	st driver.Stmt
	q  string
}

func prepareRaw(ctx context.Context, conn *sql.Conn, dsts []*rawStmt, queries []string) error {
	return conn.Raw(func(dc any) error {
		pc, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("driver connection %T cannot prepare with a context", dc)
		}
		for i, q := range queries {
			st, err := pc.PrepareContext(ctx, q)
			if err != nil {
				return fmt.Errorf("prepare %q: %w", q, err)
			}
			*dsts[i] = rawStmt{st: st, q: q}
		}
		return nil
	})
}

func (r *rawStmt) close() error {
	if r.st == nil {
		return nil
	}
	err := r.st.Close()
	r.st = nil
	return err
}

func (r *rawStmt) exec(ctx context.Context, args []driver.NamedValue) error {
	_, err := r.st.(driver.StmtExecContext).ExecContext(ctx, args)
	return err
}

func (r *rawStmt) query(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return r.st.(driver.StmtQueryContext).QueryContext(ctx, args)
}

// queryRow runs a query and fills dest from its first row. found is false
// when there is no row.
func (r *rawStmt) queryRow(ctx context.Context, args []driver.NamedValue, dest []driver.Value) (found bool, err error) {
	rows, err := r.query(ctx, args)
	if err != nil {
		return false, err
	}
	err = rows.Next(dest)
	cerr := rows.Close()
	switch {
	case errors.Is(err, io.EOF):
		return false, cerr
	case err != nil:
		return false, err
	}
	return true, cerr
}

// args builds positional driver arguments.
func args(vals ...driver.Value) []driver.NamedValue {
	out := make([]driver.NamedValue, len(vals))
	for i, v := range vals {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return out
}

// Column conversions that accept what SQLite may hand back for a column
// (a row changed by hand may hold TEXT where BLOB was written).

func colInt(v driver.Value, name string) (int64, error) {
	if n, ok := v.(int64); ok {
		return n, nil
	}
	return 0, fmt.Errorf("column %s holds %T, want an integer", name, v)
}

func colBytes(v driver.Value, name string) ([]byte, error) {
	switch x := v.(type) {
	case []byte:
		return x, nil
	case string:
		return []byte(x), nil
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("column %s holds %T, want bytes", name, v)
}

func colString(v driver.Value, name string) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	case nil:
		return "", nil
	}
	return "", fmt.Errorf("column %s holds %T, want text", name, v)
}
