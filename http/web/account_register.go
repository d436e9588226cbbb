package web

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/projections/accounts"
)

var acctRegisterFields = []Field{
	{Name: "ic", Label: "label.ic", Required: true, Max: 14, RequiredKey: "acct.f.ic.required"},
	{Name: "email", Label: "label.email", Required: true, Max: 254, RequiredKey: "acct.f.email.required"},
}

// acctRegisterData is what the registration pages show besides the form.
type acctRegisterData struct {
	Domains  string // "@melaka.gov.my" for the hint
	Already  bool   // ErrAlreadyRegistered: point to Lupa Kata Laluan
	UserID   string // on success
	Email    string
	Expires  string // on success: when the temporary password expires
	TTLHours int
}

func (s *Site) registerPage(f *Form) Page {
	if f == nil {
		f = NewForm(nil)
	}
	return Page{Title: "acct.title.register", Form: f, Data: &acctRegisterData{Domains: acctDomains(s.deps.Accounts.AllowedDomains)}}
}

func (d *acctRegisterData) showsError() bool { return d.Already }

// acctDomains writes the allowed domains for a hint: "@melaka.gov.my".
func acctDomains(domains []string) string { return "@" + strings.Join(domains, ", @") }

// registerForm is Pendaftaran (manual steps 3–4): No. Pengenalan and Emel
// Rasmi Kerajaan, then "Hantar".
func (s *Site) registerForm(c *gin.Context) {
	s.Render(c, http.StatusOK, "account_register", s.registerPage(nil))
}

func (s *Site) register(c *gin.Context) {
	f := ReadForm(c, acctRegisterFields...)
	page := s.registerPage(f)
	// The domain's checks of both fields run before the command, which
	// stops at the first: a wrong IC number and a wrong e-mail are named
	// together, not one round at a time.
	if _, err := acctParseIC("ic", f.Get("ic")); err != nil {
		s.acctPrecheck(f, err)
	}
	if _, fe := account.CheckEmail("email", f.Get("email"), s.deps.Accounts.AllowedDomains); fe != nil {
		s.acctPrecheck(f, fe)
	}
	if !f.Valid() {
		s.Invalid(c, "account_register", page)
		return
	}
	// Registration says whether an IC is in the employee master, so it is
	// throttled like a login.
	if s.deps.Throttle != nil {
		if err := s.deps.Throttle.Check(c); err != nil {
			s.Fail(c, "account_register", page, err)
			return
		}
	}
	before := s.deps.Accounts.Now()
	res, err := s.deps.Accounts.Commands.Register.Handle(c.Request.Context(), commands.RegisterAccount{
		Meta: acctMeta(c, ""), IC: f.Get("ic"), Email: f.Get("email"),
	})
	switch {
	case err == nil:
	case errors.Is(err, account.ErrAlreadyRegistered):
		page.Data.(*acctRegisterData).Already = true
		s.Render(c, http.StatusConflict, "account_register", page)
		return
	default:
		// Field errors beside the fields; "Pengguna Tidak Dapat
		// Didaftarkan, Sila Hubungi Pentadbir Sistem" in the box with
		// the helpdesk lines.
		s.failForm(c, "account_register", page, err)
		return
	}
	s.acctWait(c, res)
	ic, _ := acctParseIC("ic", f.Get("ic"))
	d := page.Data.(*acctRegisterData)
	d.UserID, d.Email = acctFormatID(ic.String()), strings.ToLower(f.Get("email"))
	d.TTLHours = int(account.TemporaryPasswordTTL / time.Hour)
	d.Expires = acctTime(s.registeredAt(c, ic.String(), before).Add(account.TemporaryPasswordTTL))
	// The answer is the page itself, not a redirect: the user ID it names
	// must not travel in a URL.
	s.Render(c, http.StatusOK, "account_registered", Page{Title: "acct.title.registered", Data: d})
}

// registeredAt is when the registration's temporary password was issued,
// as the accounts view has it once the page has waited for it: the expiry
// the page names is then the mail's. Without it (the wait gave up), the
// time before the command ran, so the page never promises more time than
// the password has.
func (s *Site) registeredAt(c *gin.Context, userID string, before time.Time) time.Time {
	if s.deps.Accounts.Views == nil {
		return before
	}
	v, ok, err := accounts.GetAccount(c.Request.Context(), s.deps.Accounts.Views, userID)
	if err != nil || !ok || v.LastTempIssued == nil || v.LastTempReason != string(account.TempRegistration) {
		return before
	}
	return *v.LastTempIssued
}

func acctTime(t time.Time) string { return t.In(calendar.Melaka).Format("02/01/2006 15:04") }

var acctForgotFields = []Field{{Name: "ic", Label: "label.ic", Required: true, Max: 14, RequiredKey: "acct.f.ic.required"}}

// forgotForm is Lupa Kata Laluan: the IC number, then "Hantar".
func (s *Site) forgotForm(c *gin.Context) {
	p := Page{Title: "acct.title.forgot"}
	if c.Query("hantar") == "1" {
		p.Notice = "acct.forgot.sent"
	}
	s.Render(c, http.StatusOK, "account_forgot", p)
}

// forgot answers every well-formed IC the same way: whether a temporary
// password is issued (registered, activated or not — an expired first
// one is renewed here —, not locked, none issued in the last two minutes)
// is never shown. Nor is it told by the time the answer takes: what
// decides the answer (the form, the IC's shape, the per-IP throttle) is
// checked here, and the command, whose work depends on the account, runs
// after the answer (forgot_queue.go), its failures logged, not shown.
func (s *Site) forgot(c *gin.Context) {
	f := ReadForm(c, acctForgotFields...)
	page := Page{Title: "acct.title.forgot", Form: f}
	if !f.Valid() {
		s.Invalid(c, "account_forgot", page)
		return
	}
	if _, err := acctParseIC("ic", f.Get("ic")); err != nil {
		s.failForm(c, "account_forgot", page, err)
		return
	}
	if s.deps.Throttle != nil {
		if err := s.deps.Throttle.Check(c); err != nil {
			s.Fail(c, "account_forgot", page, err)
			return
		}
	}
	// No read-your-writes wait either: the next page reads nothing. The
	// page says "received" only once the command is queued; a queue that
	// stays full answers "try again" (503), the same for every IC.
	if err := s.forgotJobs.submit(c.Request.Context(), commands.ForgotPassword{Meta: acctMeta(c, ""), IC: f.Get("ic")}); err != nil {
		s.forgotBusy(c)
		return
	}
	c.Redirect(http.StatusSeeOther, PathForgot+"?hantar=1")
}
