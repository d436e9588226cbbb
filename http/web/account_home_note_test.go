package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
)

// TestHomeNoteIsTheSessionsLogin: the home page's note is decided with the
// session's own login and kept with it, not read from the accounts view: a
// later login elsewhere moves the view's note on, yet this session's home
// page still names the login before its own.
func TestHomeNoteIsTheSessionsLogin(t *testing.T) {
	w := newWorld(t)
	w.activeUser(master[0])
	activated := w.clk.Now() // the activation's login
	w.clk.Add(time.Hour)
	b := w.browser()
	b.enterID(sitiIC)
	b.enterPassword("salah-satu")
	note := "Log masuk terakhir anda sebelum ini: <strong>" + activated.In(time.FixedZone("MYT", 8*3600)).Format("02/01/2006 15:04") + "</strong>"
	mustContain(t, "home", b.follow(b.enterPassword(password)).body, note, "Cubaan log masuk yang gagal sejak itu: 1.")

	w.clk.Add(10 * time.Minute) // within the session's idle time
	if _, err := w.h.LogIn.Handle(context.Background(), commands.LogIn{Meta: sysMeta(), UserID: sitiIC, Password: password}); err != nil {
		t.Fatal(err)
	}
	if err := w.eng.WaitFor(context.Background(), w.head()); err != nil {
		t.Fatal(err)
	}
	if v := w.accountView(sitiIC); v.PreviousLogin == nil || v.PreviousLogin.Equal(activated) {
		t.Fatalf("the view's note did not move on with the later login: %v", v.PreviousLogin)
	}
	r := b.get("/utama")
	mustContain(t, "home again", r.body, note, "Cubaan log masuk yang gagal sejak itu: 1.")
}
