package account

import (
	"reflect"
	"testing"
	"time"
)

// TestCloneIsIndependent: given an account with a temporary password, roles
// and recovery codes, when its clone logs in wrongly, uses a recovery code
// and loses a role, then the original still equals a fresh replay of its
// events, and the clone carries no recorded events of the original.
func TestCloneIsIndependent(t *testing.T) {
	events := with(totpOn(),
		RoleGranted{UserID: id, Role: RoleAuditor},
		TemporaryPasswordIssued{UserID: id, TempID: "t2", Hash: hash("temp2"), Sealed: "s", IssuedAt: t0, ExpiresAt: t0.Add(24 * time.Hour), Reason: TempForgot},
		MailResendRequested{UserID: id, ParkedEventID: "e1", MailEventID: "e1", MailPosition: 7, Kind: "account_locked", At: t0})
	a := given(t, events)
	if err := a.UseRecoveryCode(hash("rca"), 3, t0); err != nil { // a records an event
		t.Fatal(err)
	}
	c := a.Clone()
	if len(c.Uncommitted()) != 0 {
		t.Fatalf("clone carries %d recorded events", len(c.Uncommitted()))
	}
	want := given(t, with(events, a.Uncommitted()...))
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("clone differs from the replayed state:\n got  %+v\n want %+v", c, want)
	}

	if err := c.UseRecoveryCode(hash("rcb"), 3, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := c.LogIn(typed("salah", nil), 3, t0); err == nil {
		t.Fatal("wrong password accepted")
	}
	if err := c.Apply(MailResendRequested{UserID: id, ParkedEventID: "e2", MailEventID: "e2", MailPosition: 9, Kind: "account_locked", At: t0}); err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(RoleRevoked{UserID: id, Role: RoleAuditor}); err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(TemporaryPasswordIssued{UserID: id, TempID: "t3", Hash: hash("temp3"), Sealed: "s3", IssuedAt: t0, ExpiresAt: t0.Add(time.Hour), Reason: TempForgot}); err != nil {
		t.Fatal(err)
	}
	a.Changes = want.Changes // only the recorded events may differ
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("changing the clone changed the original:\n got  %+v\n want %+v", a, want)
	}
}

// TestCloneCopiesEveryReference fails when Account gains a field that
// shares memory (pointer, slice, map…) that Clone does not copy: add it to
// Clone, then here.
func TestCloneCopiesEveryReference(t *testing.T) {
	copied := map[string]bool{"Changes": true, "temp": true, "recovery": true, "roles": true, "resends": true, "roleTerms": true}
	typ := reflect.TypeFor[Account]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		switch f.Type.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface, reflect.Chan, reflect.Func, reflect.Struct:
			if f.Type == reflect.TypeFor[time.Time]() || copied[f.Name] {
				continue
			}
			t.Errorf("Account.%s (%s) shares memory between clones: copy it in Clone", f.Name, f.Type)
		}
	}
}
