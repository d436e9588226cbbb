package web

import (
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"

	"github.com/gin-gonic/gin"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/session"
	"github.com/melaka-gov/ispeks/projections/accounts"
)

// Tetapan Akaun (manual section C): Kemaskini Maklumat Pengguna, Tukar
// Kata Laluan, and the two-factor settings. Every handler here runs behind
// RequireLogin.

var acctProfileFields = []Field{
	{Name: "phone", Label: "label.phone", Max: account.MaxPhone},
	{Name: "office", Label: "label.office", Max: account.MaxOffice},
	{Name: "email", Label: "label.email", Required: true, Max: 254, RequiredKey: "acct.f.email.required"},
	{Name: "current_password", Label: "acct.label.current_password", Secret: true, Max: 4 * account.MaxPassword},
}

// acctProfileData is the profile page's read-only part.
type acctProfileData struct {
	Name, Department, Post, UserID, Domains string
}

func (s *Site) profilePage(c *gin.Context, u session.Session, f *Form) (Page, error) {
	v, _, err := accounts.GetAccount(c.Request.Context(), s.deps.Accounts.Views, u.UserID)
	if err != nil {
		return Page{}, err
	}
	if f == nil {
		f = NewForm(map[string]string{"phone": v.Phone, "office": v.Office, "email": v.Email})
	}
	return Page{Title: "nav.kemaskini", Form: f, Data: &acctProfileData{
		Name: v.Name, Department: v.Department, Post: v.Post, UserID: acctFormatID(u.UserID),
		Domains: acctDomains(s.deps.Accounts.AllowedDomains),
	}}, nil
}

func (s *Site) profileForm(c *gin.Context) {
	u, _ := session.User(c)
	p, err := s.profilePage(c, u, nil)
	if err != nil {
		httpx.Abort(c, err)
		return
	}
	if c.Query("disimpan") == "1" {
		p.Notice = "acct.saved"
	}
	s.Render(c, http.StatusOK, "account_profile", p)
}

func (s *Site) profile(c *gin.Context) {
	u, _ := session.User(c)
	f := ReadForm(c, acctProfileFields...)
	page, err := s.profilePage(c, u, f)
	if err != nil {
		httpx.Abort(c, err)
		return
	}
	if !f.Valid() {
		_, err := account.CheckProfile(account.Profile{Phone: f.Get("phone"), Office: f.Get("office"), Email: f.Get("email")}, s.deps.Accounts.AllowedDomains)
		s.acctPrecheck(f, err)
		s.Invalid(c, "account_profile", page)
		return
	}
	res, err := s.deps.Accounts.Commands.UpdateProfile.Handle(c.Request.Context(), commands.UpdateProfile{
		Meta: acctMeta(c, u.UserID), UserID: u.UserID, CurrentPassword: f.Get("current_password"),
		Profile: account.Profile{Phone: f.Get("phone"), Office: f.Get("office"), Email: f.Get("email")},
	})
	switch {
	case err == nil:
	case errors.Is(err, account.ErrLocked):
		s.acctLocked(c, u.UserID)
		return
	case errors.Is(err, account.ErrWrongPassword):
		page.LockWarning = true
		s.Fail(c, "account_profile", page, &httpx.FieldError{Name: "current_password", Err: err})
		return
	default:
		s.failForm(c, "account_profile", page, err)
		return
	}
	s.acctWait(c, res)
	c.Redirect(http.StatusSeeOther, PathProfile+"?disimpan=1")
}

var acctChangePasswordFields = append([]Field{
	{Name: "old_password", Label: "label.password_old", Required: true, Secret: true, Max: 4 * account.MaxPassword, RequiredKey: "acct.f.old_password.required"},
}, acctNewPasswordFields...)

// passwordForm is Tukar Kata Laluan: Kata Laluan Lama, Kata Laluan Baru,
// Sah Kata Laluan Baru, then "Simpan".
func (s *Site) passwordForm(c *gin.Context) {
	p := Page{Title: "nav.tukar_kata_laluan"}
	switch {
	case c.Query("disimpan") == "1":
		p.Notice = "acct.password.saved"
	case c.Query("wajib") == "1":
		p.Notice = "acct.password.must_change"
	}
	s.Render(c, http.StatusOK, "account_change_password", p)
}

func (s *Site) password(c *gin.Context) {
	u, _ := session.User(c)
	f := ReadForm(c, acctChangePasswordFields...)
	page := Page{Title: "nav.tukar_kata_laluan", Form: f}
	if !f.Valid() {
		s.acctPrecheck(f, account.CheckPassword(f.Get("password"), f.Get("confirm_password"), u.UserID, account.MinPassword))
		s.Invalid(c, "account_change_password", page)
		return
	}
	grant, res, err := s.deps.Accounts.Commands.ChangePassword.Change(c.Request.Context(), commands.ChangePassword{
		Meta: acctMeta(c, u.UserID), UserID: u.UserID, OldPassword: f.Get("old_password"),
		NewPassword: f.Get("password"), ConfirmPassword: f.Get("confirm_password"),
	})
	switch {
	case err == nil:
	case errors.Is(err, account.ErrLocked):
		s.acctLocked(c, u.UserID)
		return
	case errors.Is(err, account.ErrWrongPassword):
		page.LockWarning = true
		s.Fail(c, "account_change_password", page, &httpx.FieldError{Name: "old_password", Err: err})
		return
	default:
		s.failForm(c, "account_change_password", page, err)
		return
	}
	s.acctWait(c, res)
	// The password changed: this session continues under a new token, with
	// the roles and leaving date the change decided on the stream (not the
	// old session's copy: a role removed a moment ago stays removed); every
	// other session of the account ends.
	name, dept := u.Name, u.Department
	if grant.Name != "" {
		name, dept = grant.Name, grant.Department
	}
	if s.sessionFailed(c, s.deps.Sessions.Login(c, session.Identity{UserID: u.UserID, Name: name, Department: dept,
		Roles: grantRoles(grant), TOTPVerified: u.TOTPVerified, ValidUntil: grant.ServiceEnds, DecidedAt: grant.DecidedAt, Note: u.Note,
		LoggedInAt: u.LoginTime()})) {
		return
	}
	if _, err := s.deps.Sessions.EndOthers(c); err != nil {
		httpx.Abort(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, PathPassword+"?disimpan=1")
}

// acctTwoFactorData is the two-factor page in its three states: off (a button
// to start), enrolling (QR code, secret, code field), on (codes left; the
// recovery codes right after confirmation, shown once).
type acctTwoFactorData struct {
	Enabled       bool
	Required      bool // an administrator or auditor who must enrol
	RecoveryLeft  int
	QR            template.URL // data: PNG of the otpauth URL
	Secret        string       // the same secret, to type by hand
	Sealed        string       // the secret sealed for the confirmation post
	RecoveryCodes []string
	StartURL      string
	ConfirmURL    string
	CodesURL      string // new recovery codes, when TOTP is on
	// PasswordFirst: the session must change its password first
	// (session.Manager.PasswordChangeFirst), and the new-codes post is not
	// open to it: the form is left out, with a line saying why.
	PasswordFirst bool
	PasswordURL   string
}

func (s *Site) twoFactorPage(c *gin.Context, u session.Session, f *Form) (Page, *acctTwoFactorData, error) {
	v, _, err := accounts.GetAccount(c.Request.Context(), s.deps.Accounts.Views, u.UserID)
	if err != nil {
		return Page{}, nil, err
	}
	d := &acctTwoFactorData{Enabled: v.TOTP, Required: len(v.Roles) > 0 && !v.TOTP, RecoveryLeft: v.RecoveryLeft,
		StartURL: PathTwoFactorStart, ConfirmURL: PathTwoFactorConfirm, CodesURL: PathRecoveryCodes,
		PasswordFirst: u.MustChangePassword, PasswordURL: PathPassword}
	return Page{Title: "nav.dua_faktor", Form: f, Data: d}, d, nil
}

func (s *Site) twoFactor(c *gin.Context) {
	u, _ := session.User(c)
	p, _, err := s.twoFactorPage(c, u, nil)
	if err != nil {
		httpx.Abort(c, err)
		return
	}
	s.Render(c, http.StatusOK, "account_two_factor", p)
}

// acctTOTPEnrolAAD binds the sealed secret on the enrolment page to its
// account and purpose.
func acctTOTPEnrolAAD(userID string) []byte { return []byte("web/totp-enrolment\x00" + userID) }

// showEnrolment fills d with the QR code and the secret (and the secret
// sealed, so a wrong code can show the same QR code again without keeping
// the secret on the server).
func (s *Site) showEnrolment(d *acctTwoFactorData, userID, secret, url string) error {
	png, err := qrcode.Encode(url, qrcode.Medium, 256)
	if err != nil {
		return err
	}
	sealed, err := s.deps.Accounts.Sealer.Seal([]byte(secret+"\x00"+url), acctTOTPEnrolAAD(userID))
	if err != nil {
		return err
	}
	d.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
	d.Secret, d.Sealed = acctGroupSecret(secret), sealed
	return nil
}

// acctGroupSecret writes a base32 secret in groups of four for typing.
func acctGroupSecret(s string) string {
	var out []byte
	for i := 0; i < len(s); i++ {
		if i > 0 && i%4 == 0 {
			out = append(out, ' ')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// Enrolling an authenticator takes the current password: with a session
// alone (a stolen one) it would hand the account's second factor to whoever
// holds the session.
var acctTwoFactorStartFields = []Field{
	{Name: "current_password", Label: "acct.label.current_password", Required: true, RequiredKey: "acct.f.totp_password.required", Secret: true, Max: 4 * account.MaxPassword},
}

func (s *Site) twoFactorStart(c *gin.Context) {
	u, _ := session.User(c)
	f := ReadForm(c, acctTwoFactorStartFields...)
	page, d, err := s.twoFactorPage(c, u, f)
	if err != nil {
		httpx.Abort(c, err)
		return
	}
	if !f.Valid() {
		s.Invalid(c, "account_two_factor", page)
		return
	}
	enr, res, err := s.deps.Accounts.Commands.EnrolTOTP.Enrol(c.Request.Context(), commands.EnrolTOTP{
		Meta: acctMeta(c, u.UserID), UserID: u.UserID, CurrentPassword: f.Get("current_password"),
	})
	switch {
	case err == nil:
	case errors.Is(err, account.ErrLocked):
		s.acctLocked(c, u.UserID)
		return
	case errors.Is(err, account.ErrWrongPassword):
		page.LockWarning = true
		s.Fail(c, "account_two_factor", page, &httpx.FieldError{Name: "current_password", Err: err})
		return
	default:
		s.failForm(c, "account_two_factor", page, err)
		return
	}
	s.acctWait(c, res)
	// The QR page carries no form of this step: the password is not
	// written back.
	page.Form = nil
	if err := s.showEnrolment(d, u.UserID, enr.Secret, enr.URL); err != nil {
		httpx.Abort(c, err)
		return
	}
	s.Render(c, http.StatusOK, "account_two_factor", page)
}

var acctConfirmFields = []Field{
	{Name: "code", Label: "acct.label.code", Required: true, Max: 32},
	{Name: "sealed", Max: 2048},
}

func (s *Site) twoFactorConfirm(c *gin.Context) {
	u, _ := session.User(c)
	f := ReadForm(c, acctConfirmFields...)
	page, d, err := s.twoFactorPage(c, u, f)
	if err != nil {
		httpx.Abort(c, err)
		return
	}
	// Show the same QR code again if the page carried it and it is this
	// account's; otherwise the person starts again.
	if plain, err := s.deps.Accounts.Sealer.Open(f.Get("sealed"), acctTOTPEnrolAAD(u.UserID)); err == nil {
		secret, url, _ := acctCutNUL(string(plain))
		if err := s.showEnrolment(d, u.UserID, secret, url); err != nil {
			httpx.Abort(c, err)
			return
		}
	}
	if !f.Valid() {
		s.Invalid(c, "account_two_factor", page)
		return
	}
	codes, res, err := s.deps.Accounts.Commands.ConfirmTOTP.Confirm(c.Request.Context(), commands.ConfirmTOTP{Meta: acctMeta(c, u.UserID), UserID: u.UserID, Code: f.Get("code")})
	switch {
	case err == nil:
	case errors.Is(err, account.ErrLocked):
		s.acctLocked(c, u.UserID)
		return
	case errors.Is(err, account.ErrWrongCode):
		s.Fail(c, "account_two_factor", page, &httpx.FieldError{Name: "code", Err: err})
		return
	default:
		d.QR, d.Secret, d.Sealed = "", "", ""
		s.Fail(c, "account_two_factor", page, err)
		return
	}
	s.acctWait(c, res)
	// A valid code from the authenticator is the second factor: the
	// session has it now (new token).
	if s.sessionFailed(c, s.deps.Sessions.MarkTOTP(c)) {
		return
	}
	d = &acctTwoFactorData{Enabled: true, RecoveryLeft: len(codes), RecoveryCodes: codes}
	// Shown once, in this answer only (responses are never cached).
	s.Render(c, http.StatusOK, "account_two_factor", Page{Title: "nav.dua_faktor", Data: d, Notice: "acct.totp.enabled"})
}

// New recovery codes take a current code from the authenticator: the
// session alone (a stolen one) must not get codes that pass the second
// factor.
var acctRecoveryCodesFields = []Field{{Name: "code", Label: "acct.label.code", Required: true, Max: 32}}

func (s *Site) recoveryCodesReplace(c *gin.Context) {
	u, _ := session.User(c)
	f := ReadForm(c, acctRecoveryCodesFields...)
	page, _, err := s.twoFactorPage(c, u, f)
	if err != nil {
		httpx.Abort(c, err)
		return
	}
	if !f.Valid() {
		s.Invalid(c, "account_two_factor", page)
		return
	}
	// A code typed as authenticators show it ("123 456") is taken by the
	// command's check (AccountSecurity.totpCheck), as on every code form.
	codes, res, err := s.deps.Accounts.Commands.ReplaceRecoveryCodes.Replace(c.Request.Context(), commands.ReplaceRecoveryCodes{
		Meta: acctMeta(c, u.UserID), UserID: u.UserID, Code: f.Get("code"),
	})
	switch {
	case err == nil:
	case errors.Is(err, account.ErrLocked):
		s.acctLocked(c, u.UserID)
		return
	case errors.Is(err, account.ErrWrongCode), errors.Is(err, account.ErrCodeReused):
		page.LockWarning = true
		s.Fail(c, "account_two_factor", page, &httpx.FieldError{Name: "code", Err: err})
		return
	case errors.Is(err, account.ErrCodeJustAccepted):
		// The form sent twice: the first submission made the codes, and
		// its answer (the only one that shows them) was likely replaced
		// by this one. Say so, so the person makes new ones if unseen.
		s.Fail(c, "account_two_factor", page, &httpx.FieldError{Name: "code", Err: err})
		return
	default:
		s.failForm(c, "account_two_factor", page, err)
		return
	}
	s.acctWait(c, res)
	d := &acctTwoFactorData{Enabled: true, RecoveryLeft: len(codes), RecoveryCodes: codes}
	// Shown once, in this answer only (responses are never cached).
	s.Render(c, http.StatusOK, "account_two_factor", Page{Title: "nav.dua_faktor", Data: d, Notice: "acct.totp.codes_replaced"})
}

func acctCutNUL(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
