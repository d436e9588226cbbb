package apiclient_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/apiclient"
	"github.com/melaka-gov/ispeks/domain/eventlog"
)

func TestNameKeyAndStream(t *testing.T) {
	if apiclient.NameKey("  Sistem GAJI ") != "sistem gaji" {
		t.Fatalf("NameKey: %q", apiclient.NameKey("  Sistem GAJI "))
	}
	if apiclient.NameStream(" sistem gaji") != apiclient.NameStream("Sistem Gaji ") || apiclient.NameStream("Sistem Gaji") == apiclient.NameStream("Sistem Bayaran") {
		t.Fatal("NameStream does not follow NameKey")
	}
	if !strings.HasPrefix(apiclient.NameStream("x"), "apiclientname-") {
		t.Fatalf("stream %q", apiclient.NameStream("x"))
	}
}

func claimed(t *testing.T, events ...eventlog.Event) *apiclient.NameClaim {
	t.Helper()
	return applied(t, apiclient.NewNameClaim(), events...)
}

func TestNameClaim(t *testing.T) {
	// given no claim, when claimed, then NameClaimed (trimmed).
	n := claimed(t)
	if err := n.Claim("  Sistem Gaji ", "payroll", apiclient.HolderGone, now); err != nil {
		t.Fatal(err)
	}
	want := []eventlog.Event{apiclient.NameClaimed{Name: "Sistem Gaji", ClientID: "payroll", At: now}}
	if !reflect.DeepEqual(n.Uncommitted(), want) {
		t.Fatalf("events %+v", n.Uncommitted())
	}
	prior := apiclient.NameClaimed{Name: "Sistem Gaji", ClientID: "payroll", At: now}
	// given a claim, when the same client claims again (a retried add), then nothing.
	if n := claimed(t, prior); n.Claim("sistem gaji", "payroll", apiclient.HolderActive, now) != nil || len(n.Uncommitted()) != 0 {
		t.Fatal("a retried claim recorded or failed")
	}
	cases := []struct {
		holder apiclient.Holder
		at     time.Time
		taken  bool
	}{
		{apiclient.HolderActive, now.Add(time.Hour), true},
		{apiclient.HolderPending, now.Add(apiclient.ClaimGrace - time.Second), true},
		{apiclient.HolderPending, now.Add(apiclient.ClaimGrace), false},
		{apiclient.HolderGone, now, false},
	}
	for _, tc := range cases {
		n := claimed(t, prior)
		err := n.Claim("SISTEM GAJI", "payroll-2", tc.holder, tc.at)
		var fe *apiclient.FieldError
		if tc.taken {
			if !errors.As(err, &fe) || fe.Field != "name" || !errors.Is(err, apiclient.ErrNameTaken) || !errors.Is(err, apiclient.ErrInvalid) || !strings.Contains(fe.Reason, "payroll") || len(n.Uncommitted()) != 0 {
				t.Errorf("holder %d at %s: %v, want the name taken and nothing recorded", tc.holder, tc.at, err)
			}
			continue
		}
		if err != nil || len(n.Uncommitted()) != 1 || n.ClientID() != "payroll-2" {
			t.Errorf("holder %d at %s: %v %+v, want a new claim", tc.holder, tc.at, err, n.Uncommitted())
		}
	}
	if err := claimed(t).Claim(" ", "payroll", apiclient.HolderGone, now); !errors.Is(err, apiclient.ErrInvalid) {
		t.Fatalf("empty name: %v", err)
	}
	type other struct{ eventlog.Event }
	if err := apiclient.NewNameClaim().Apply(other{}); err == nil {
		t.Fatal("unknown event applied")
	}
}

func TestHolderOf(t *testing.T) {
	h := hashOf(t, "payroll")
	added := apiclient.Added{ClientID: "payroll", Name: "Sistem Gaji", Scopes: []string{"events:read"}, TokenHash: h}
	for _, tc := range []struct {
		c    *apiclient.Client
		name string
		want apiclient.Holder
	}{
		{given(t), "Sistem Gaji", apiclient.HolderPending},
		{given(t, added), " sistem gaji", apiclient.HolderActive},
		{given(t, added), "Sistem Lama", apiclient.HolderGone},
		{given(t, added, apiclient.Revoked{ClientID: "payroll"}), "Sistem Gaji", apiclient.HolderGone},
	} {
		if got := apiclient.HolderOf(tc.c, tc.name); got != tc.want {
			t.Errorf("HolderOf(%q): %d, want %d", tc.name, got, tc.want)
		}
	}
}
