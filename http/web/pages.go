package web

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/i18n"
	"github.com/melaka-gov/ispeks/http/session"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/accounts"
)

// landing is the manual's first screen: ID Pengguna and Login, the
// Pendaftaran button and the Lupa Kata Laluan link.
func (s *Site) landing(c *gin.Context) {
	if _, ok := session.User(c); ok {
		c.Redirect(http.StatusSeeOther, PathHome)
		return
	}
	p := Page{Title: "title.landing", Data: staticContent("landing")}
	switch {
	case c.Query("sesi") == "tamat" || session.Expired(c):
		p.Notice = "err.session_expired"
	case c.Query("sesi") == "perlu":
		p.Notice = "err.login_required"
	case c.Query("sesi") == "diaktifkan":
		p.Notice = "acct.activated_elsewhere"
	case c.Query("sesi") == "kata-laluan-baru":
		p.Notice = "acct.reset_elsewhere"
	case c.Query("keluar") == "1":
		p.Notice = "landing.logged_out"
	}
	s.Render(c, http.StatusOK, "landing", p)
}

// staticContent is the data of a page whose content block differs between
// requests only in the view's own values (the CSRF token, the user's name
// and department): it is drawn once per page and language (cachedPieces).
// Every login draws the landing and home pages; through the template they
// cost more than the rest of their requests.
type staticContent string

func (k staticContent) contentKey() string       { return string(k) }
func (k staticContent) withMarkers() any         { return k }
func (staticContent) fill(*bytes.Buffer, string) {}
func (staticContent) marks() []string            { return nil }

// home is the page after login: the person's name and department (manual
// step 10), the menus, and when they last logged in before and how many
// attempts failed in between, so a login or guesses that were not theirs
// do not go unnoticed. The note comes from the session (decided with the
// login); for a session made without one, from the accounts view, and is
// left out, the failure logged, if that cannot be read: the menus matter
// more.
func (s *Site) home(c *gin.Context) {
	d := &homeData{}
	u, ok := session.User(c)
	switch {
	case ok && u.Note.Known:
		// Decided with the login: no read of the accounts view.
		d.note(u.Note.Previous, u.Note.FailedBefore)
	case ok && s.deps.Accounts.Views != nil:
		s.waitFor(c, u.ReadAfter) // the page reads the view after all
		v, found, err := accounts.GetAccount(c.Request.Context(), s.deps.Accounts.Views, u.UserID)
		switch {
		case err != nil:
			s.deps.Log.ErrorContext(c.Request.Context(), "home: account view", "err", err)
		case found && v.PreviousLogin == nil:
			d.note(time.Time{}, 0)
		case found:
			d.note(*v.PreviousLogin, v.FailedBeforeLogin)
		}
	}
	p := Page{Title: "title.home", Data: d}
	if c.Query("kata-laluan") == "ditukar" { // a login that set a new password (Lupa Kata Laluan)
		p.Notice = "acct.password.saved"
	}
	s.Render(c, http.StatusOK, "home", p)
}

// homeData is the home page's login note. The page is drawn once per
// language and kind of note (cachedPieces; every login shows it), the
// times and counts filled in per request.
type homeData struct {
	First    bool   // no login before this one
	Previous string // the login before this one, Malaysia time ("" unknown)
	Failed   string // failed attempts between that login and this one ("" none)
}

// note fills in the login before this one (zero: none) and the attempts
// that failed since it.
func (d *homeData) note(previous time.Time, failedBefore int) {
	d.First = previous.IsZero()
	if d.First {
		return
	}
	d.Previous = acctTime(previous)
	if failedBefore > 0 {
		d.Failed = strconv.Itoa(failedBefore)
	}
}

const (
	markPrevious = "@@ispeks-previous@@"
	markFailed   = "@@ispeks-failed@@"
)

func (d *homeData) contentKey() string {
	switch {
	case d.First:
		return "home|first"
	case d.Previous == "":
		return "home|none"
	case d.Failed == "":
		return "home|previous"
	}
	return "home|previous|failed"
}

func (d *homeData) withMarkers() any {
	m := *d
	if m.Previous != "" {
		m.Previous = markPrevious
	}
	if m.Failed != "" {
		m.Failed = markFailed
	}
	return &m
}

func (d *homeData) fill(w *bytes.Buffer, mark string) {
	switch mark {
	case markPrevious:
		(*htmlBuf)(w).text(d.Previous)
	case markFailed:
		(*htmlBuf)(w).text(d.Failed)
	}
}

func (d *homeData) marks() []string { return []string{markPrevious, markFailed} }

// logout ends every session of the account (DESIGN: "logout … end every
// session of the account") and returns to the landing page.
func (s *Site) logout(c *gin.Context) {
	// The form may be one of a page drawn before this browser's login
	// moved on under a new token (session.FormerForm): it logs out all the
	// same. A former form of a login in progress ends nothing but this
	// browser's own session: anyone can begin one for any user ID.
	userID := ""
	if u, ok := session.User(c); ok {
		userID = u.UserID
	} else if f, ok := session.FormerForm(c); ok && f.LoggedIn {
		userID = f.UserID
	}
	if userID != "" {
		if _, err := s.deps.Sessions.EndAllFor(c.Request.Context(), userID); err != nil {
			httpx.Abort(c, err)
			return
		}
	}
	if err := s.deps.Sessions.Logout(c); err != nil {
		httpx.Abort(c, err)
		return
	}
	if userID != "" && s.deps.Accounts.Commands.EndSessions != nil {
		// This process ended them above; the event ends them in every
		// other portal process (their followers) and shows in the
		// account's history. If it cannot be recorded the browser is
		// logged out all the same, and the others end at their timeouts.
		if _, err := s.deps.Accounts.Commands.EndSessions.Handle(c.Request.Context(), commands.EndSessions{Meta: acctMeta(c, userID), UserID: userID}); err != nil {
			s.deps.Log.WarnContext(c.Request.Context(), "logout: the end of the other sessions was not recorded", "err", err)
		}
	}
	c.Redirect(http.StatusSeeOther, PathLanding+"?keluar=1")
}

// coming stands in for a menu page whose flow is not built yet.
func (s *Site) coming(c *gin.Context) {
	s.Render(c, http.StatusOK, "coming", Page{Title: "title.coming"})
}

// The demo form shows the form pattern end to end: ReadForm's generic
// checks, a "domain" validation error mapped through the error table to a
// field, a form-level user error with the helpdesk box, and the gallery.
var (
	errDemoICDigits     = errors.New("demo: IC number must have 12 digits")
	errDemoEmailDomain  = errors.New("demo: e-mail outside the allowed domains")
	errDemoNotInMaster  = errors.New("demo: not in the employee master")
	errDemoUnknownImage = errors.New("demo: unknown security image")
)

// Rules is the error table of the pages in this package. Each flow adds its
// domain errors here (or in its own table passed to httpx.NewErrorMap).
func Rules() []httpx.Rule {
	return []httpx.Rule{
		{Err: errDemoICDigits, Status: http.StatusUnprocessableEntity, Code: "demo.ic_digits",
			Text: i18n.Text{MS: "No. Pengenalan mesti mempunyai 12 digit", EN: "The IC number must have 12 digits"}},
		{Err: errDemoEmailDomain, Status: http.StatusUnprocessableEntity, Code: "demo.email_domain",
			Text: i18n.Text{MS: "Emel mesti emel rasmi kerajaan (@melaka.gov.my)", EN: "The e-mail must be an official government address (@melaka.gov.my)"}},
		{Err: errDemoNotInMaster, Status: http.StatusUnprocessableEntity, Code: "demo.not_registered", Key: "err.register_failed"},
		{Err: errDemoUnknownImage, Status: http.StatusUnprocessableEntity, Code: "demo.image", Key: "err.choose_one"},
		// The record kept changing under the command through all its
		// retries: nothing was written, and trying again is the remedy,
		// so it is not a fault with an incident.
		{Err: commands.ErrConflict, Status: http.StatusConflict, Code: "concurrent_change", Key: "err.busy"},
		// A list's next-page link (?selepas=) that the list did not give:
		// edited, or cut short when copied. Say which link and what to do,
		// not a bare "Permintaan tidak sah".
		{Err: projections.ErrBadCursor, Status: http.StatusBadRequest, Code: "bad_cursor", Text: i18n.Text{
			MS: "Pautan ke halaman seterusnya tidak sah (mungkin telah diubah atau terpotong). Sila buka senarai semula dari halaman pertama.",
			EN: "The link to the next page is not valid (it may have been changed or cut short). Please open the list again from its first page."}},
	}
}

var demoFields = []Field{
	{Name: "ic", Label: "label.ic", Required: true, Max: 14},
	{Name: "email", Label: "label.email", Required: true, Max: 254},
	{Name: "modul", Label: "label.modul", Required: true, Max: 20},
	{Name: "image", Label: "label.security_image", Required: true, Max: 40},
	{Name: "phrase", Label: "label.secret_phrase", Max: 64},
}

func (s *Site) demoForm(c *gin.Context) {
	s.Render(c, http.StatusOK, "demo_form", Page{Title: "title.demo_form"})
}

func (s *Site) demoFormSubmit(c *gin.Context) {
	f := ReadForm(c, demoFields...)
	page := Page{Title: "title.demo_form", Form: f}
	if !f.Valid() {
		s.Invalid(c, "demo_form", page)
		return
	}
	if err := demoValidate(f); err != nil {
		s.Fail(c, "demo_form", page, err)
		return
	}
	page.Form = NewForm(nil)
	page.Notice = "demo.saved"
	s.Render(c, http.StatusOK, "demo_form", page)
}

// demoValidate plays the domain: it returns every field error at once,
// each tagged with its field the way domain packages do.
func demoValidate(f *Form) error {
	var errs []error
	ic := strings.ReplaceAll(f.Get("ic"), "-", "")
	if len(ic) != 12 || strings.Trim(ic, "0123456789") != "" {
		errs = append(errs, &httpx.FieldError{Name: "ic", Err: errDemoICDigits})
	}
	if !strings.HasSuffix(strings.ToLower(f.Get("email")), "@melaka.gov.my") {
		errs = append(errs, &httpx.FieldError{Name: "email", Err: errDemoEmailDomain})
	}
	if _, ok := SecurityImageByID(f.Get("image")); !ok {
		errs = append(errs, &httpx.FieldError{Name: "image", Err: errDemoUnknownImage})
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if strings.Trim(ic, "0") == "" {
		return errDemoNotInMaster
	}
	return nil
}
