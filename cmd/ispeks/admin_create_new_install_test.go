package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAdminCreateOnANewInstallRefusesMissingStaffDetailsFirst: on a new
// install the employee master is empty, so the first administrator is
// recorded from --name, --department, --post and --staff-number. Without
// them the bootstrap is refused before the stores are opened: a refused
// bootstrap must leave no events.db, views.db or master.key behind (a
// second try would otherwise meet a master key nobody meant to make). With
// a log there the refusal is the handler's, as before: the person may be
// in the master already.
func TestAdminCreateOnANewInstallRefusesMissingStaffDetailsFirst(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const why = " (a person not yet in the employee master is recorded from --name, --department, --post and --staff-number)"
	dir := filepath.Join(t.TempDir(), "baru")
	for _, tc := range []struct {
		staff []string
		want  string
	}{
		{nil, "--name: is required; --department: is required; --post: is required; --staff-number: is required" + why},
		{[]string{"--name", "Siti Pentadbir", "--department", "Jabatan Kewangan", "--post", "Pegawai"}, "--staff-number: is required" + why},
	} {
		args := append([]string{"--data", dir, "--log-level", "error", "admin", "create", "--ic", "800101-14-1234", "--email", "pentadbir@melaka.gov.my"}, tc.staff...)
		out, err := executeOut(ctx, args...)
		if err == nil || err.Error() != tc.want {
			t.Errorf("admin create %s on a new install: %v\n%s\nwant %q", strings.Join(tc.staff, " "), err, out, tc.want)
		}
		// Not even the data directory is made, so neither the log nor
		// the master key is.
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("admin create %s refused, yet %s: %v (want it not created)", strings.Join(tc.staff, " "), dir, err)
		}
		for _, f := range []string{"events.db", "views.db", "master.key"} {
			if _, err := os.Stat(filepath.Join(dir, f)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("admin create refused, yet %s: %v (want it not made)", f, err)
			}
		}
	}

	// Once the log exists, another person without staff details is
	// refused by the handler after the master is read, with the same
	// words: the check above is for a new install only.
	if _, err := executeOut(ctx, "--data", dir, "--log-level", "error", "admin", "create", "--ic", "800101-14-1234", "--email", "pentadbir@melaka.gov.my",
		"--name", "Siti Pentadbir", "--department", "Jabatan Kewangan", "--post", "Pegawai", "--staff-number", "A0001"); err != nil {
		t.Fatal(err)
	}
	_, err := executeOut(ctx, "--data", dir, "--log-level", "error", "admin", "create", "--ic", "850505-04-5678", "--email", "ahmad@melaka.gov.my")
	if want := "--name: is required; --department: is required; --post: is required; --staff-number: is required" + why; err == nil || err.Error() != want {
		t.Errorf("admin create of a person not in the master, log there: %v, want %q", err, want)
	}
	// And a person the master holds needs none of them.
	if out, err := executeOut(ctx, "--data", dir, "--log-level", "error", "admin", "create", "--ic", "800101-14-1234", "--email", "pentadbir@melaka.gov.my"); err != nil {
		t.Errorf("admin create of a person in the master, without staff flags: %v\n%s", err, out)
	}
}
