package web

import (
	"bytes"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/mykad"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/session"
	"github.com/melaka-gov/ispeks/projections/accounts"
)

// Paths of the account pages not in paths.go.
const (
	PathLoginReset       = "/login/kata-laluan-baru"                        // new password after a temporary one (active account)
	PathTwoFactorStart   = "/tetapan-akaun/dua-faktor/mula"                 // POST: start TOTP enrolment
	PathTwoFactorConfirm = "/tetapan-akaun/dua-faktor/sahkan"               // POST: confirm it with a code
	PathRecoveryCodes    = "/tetapan-akaun/dua-faktor/kod-pemulihan-baharu" // POST: new recovery codes, with a code
	PathDemoMailbox      = "/demo/mailbox"                                  // demo mode only
)

// Stages of a acctPending login beyond session.StagePassword and
// session.StageActivation.
const (
	acctStageTOTP  = "totp"  // password accepted; the TOTP or recovery code is next
	acctStageReset = "reset" // temporary password accepted on an active account; a new password is next
)

// Values of a acctPending session.
const (
	acctValAfter = "after" // what follows the TOTP step: acctAfterReset, acctAfterChange or ""
	acctValTOTP  = "totp"  // "1": the TOTP step was passed before the reset page
	// acctValPaid "1": the user-ID step took a throttle token, which pays
	// for the first password attempt, so a login costs one token as before.
	acctValPaid = "paid"
	// acctValStepUp is the code checks a logged-in session has under way
	// at its step-up (stepUpSent).
	acctValStepUp = "stepup"
	// acctValNotice is a notice the login left for the page it ended on
	// (carryNotice).
	acctValNotice = "notice"
	// acctValEnds is the LoginGrant.Ends of the step a waiting login was
	// made from, given back to the command of its next step
	// (commands.WaitingLogin).
	acctValEnds = "ends"

	acctAfterReset  = "reset"
	acctAfterChange = "change"
)

// accountRoutes mounts the account pages (when wired).
func (s *Site) accountRoutes(pg, staff gin.IRoutes) {
	if !s.deps.Accounts.enabled() {
		return
	}
	pg.POST(PathLogin, s.loginID)
	pg.GET(PathLoginPassword, s.loginPasswordForm)
	pg.POST(PathLoginPassword, s.loginPassword)
	pg.GET(PathLoginTOTP, s.loginTOTPForm)
	pg.POST(PathLoginTOTP, s.loginTOTP)
	pg.GET(PathActivate, s.activateForm)
	pg.POST(PathActivate, s.activate)
	pg.GET(PathLoginReset, s.resetForm)
	pg.POST(PathLoginReset, s.reset)
	pg.GET(PathRegister, s.registerForm)
	pg.POST(PathRegister, s.register)
	pg.GET(PathForgot, s.forgotForm)
	pg.POST(PathForgot, s.forgot)

	staff.GET(PathProfile, s.profileForm)
	staff.POST(PathProfile, s.profile)
	staff.GET(PathPassword, s.passwordForm)
	staff.POST(PathPassword, s.password)
	staff.GET(PathTwoFactor, s.twoFactor)
	staff.POST(PathTwoFactorStart, s.twoFactorStart)
	staff.POST(PathTwoFactorConfirm, s.twoFactorConfirm)
	staff.POST(PathRecoveryCodes, s.recoveryCodesReplace)
	staff.GET(PathActivity, s.activity)

	if s.cfg.Demo && s.deps.Accounts.Mailbox != nil {
		pg.GET(PathDemoMailbox, s.mailbox)
		pg.GET(PathDemoMailbox+"/:id", s.mailboxMessage)
	}
}

// acctPending returns the request's login in progress at stage.
func acctPending(c *gin.Context, stage string) (session.Session, bool) {
	sess, ok := session.Current(c)
	if !ok || sess.State != session.StatePending || sess.Stage != stage || sess.UserID == "" {
		return session.Session{}, false
	}
	return sess, true
}

// acctWaiting is the waiting login sess holds, for the command of its
// next step. A pending session without the count (made by no step this
// code knows) never matches one.
func acctWaiting(sess session.Session) *commands.WaitingLogin {
	n, err := strconv.Atoi(sess.Values[acctValEnds])
	if err != nil {
		n = -1
	}
	return &commands.WaitingLogin{Ends: n}
}

// acctRestart sends a browser whose login in progress is gone (timed out,
// ended by a lock) back to the first step.
func acctRestart(c *gin.Context) {
	target := PathLanding
	if session.Expired(c) {
		target += "?sesi=tamat"
	}
	c.Redirect(http.StatusSeeOther, target)
}

// acctFormatID shows a user ID the way it is printed on the card.
func acctFormatID(userID string) string {
	if ic, err := mykad.Parse(userID); err == nil {
		return ic.Formatted()
	}
	return userID
}

var acctLoginIDFields = []Field{{Name: "user_id", Label: "label.user_id", Required: true, Max: 14, RequiredKey: "acct.f.user_id.required"}}

// loginID is step 1 (manual step 7): the user ID, then the page with the
// security image. Nothing is looked up here and nothing differs between
// IDs: every well-formed ID gets a acctPending login. It takes a token of
// the per-IP login throttle: each step makes a server-side session, and
// an unthrottled client could otherwise fill the store and cycle through
// IDs at will.
func (s *Site) loginID(c *gin.Context) {
	page := Page{Title: "title.landing"}
	if s.deps.Throttle != nil {
		if err := s.deps.Throttle.Check(c); err != nil {
			s.Fail(c, "landing", page, err)
			return
		}
	}
	f := ReadForm(c, acctLoginIDFields...)
	page.Form = f
	if !f.Valid() {
		s.Invalid(c, "landing", page)
		return
	}
	ic, err := acctParseIC("user_id", f.Get("user_id"))
	if err != nil {
		s.failForm(c, "landing", page, err)
		return
	}
	paid := map[string]string(nil)
	if s.deps.Throttle != nil {
		paid = map[string]string{acctValPaid: "1"}
	}
	s.startPending(c, ic.String(), session.StagePassword, paid, PathLoginPassword)
}

// acctTakePaid spends the token the user-ID step took, once (under the
// store's lock: two posts of one page cannot both use it).
func (s *Site) acctTakePaid(c *gin.Context) bool {
	paid := false
	err := s.deps.Sessions.Update(c, func(s *session.Session) {
		if s.Values[acctValPaid] == "1" {
			paid = true
			delete(s.Values, acctValPaid)
		}
	})
	return err == nil && paid
}

// acctPasswordData is the password step's page: the ID typed, its security
// image and phrase (or the decoys), and the outcome of a wrong attempt.
type acctPasswordData struct {
	UserID    string
	ImageID   string
	Phrase    string
	Wrong     bool // "Kata Laluan Tidak Tepat"
	Threshold int
}

// The password page is drawn once per security image, message and
// language (cachedPieces), the user ID and phrase filled in per request:
// every login shows it, and through the template it cost more than the
// rest of its request. A real and an unknown ID are drawn alike (their
// images come from one gallery).
const (
	markUserID = "@@ispeks-userid@@"
	markPhrase = "@@ispeks-phrase@@"
)

func (d *acctPasswordData) showsError() bool { return d.Wrong }

func (d *acctPasswordData) contentKey() string {
	return "password|" + d.ImageID + "|" + strconv.FormatBool(d.Wrong) + "|" + strconv.Itoa(d.Threshold)
}

func (d *acctPasswordData) withMarkers() any {
	m := *d
	m.UserID, m.Phrase = markUserID, markPhrase
	return &m
}

func (d *acctPasswordData) fill(w *bytes.Buffer, mark string) {
	switch mark {
	case markUserID:
		(*htmlBuf)(w).text(d.UserID)
	case markPhrase:
		(*htmlBuf)(w).text(d.Phrase)
	}
}

func (d *acctPasswordData) marks() []string { return []string{markUserID, markPhrase} }

func (s *Site) passwordPage(c *gin.Context, userID string, f *Form) Page {
	a := s.deps.Accounts
	ch, err := accounts.LoginChallenge(c.Request.Context(), a.Views, a.Sealer, a.Decoys, userID)
	if err != nil {
		// The decoy is shown; the person will not recognise it and stop.
		s.deps.Log.ErrorContext(c.Request.Context(), "login challenge", "err", err)
	}
	if f == nil {
		f = NewForm(nil)
	}
	return Page{Title: "acct.title.password", Form: f, Data: &acctPasswordData{
		UserID: acctFormatID(userID), ImageID: ch.ImageID, Phrase: ch.Phrase, Threshold: s.cfg.LockoutThreshold,
	}}
}

func (s *Site) loginPasswordForm(c *gin.Context) {
	sess, ok := acctPending(c, session.StagePassword)
	if !ok {
		acctRestart(c)
		return
	}
	s.Render(c, http.StatusOK, "account_password", s.passwordPage(c, sess.UserID, nil))
}

var acctPasswordFields = []Field{{Name: "password", Label: "label.password", Required: true, Secret: true, Max: 4 * account.MaxPassword, RequiredKey: "acct.f.password.required"}}

// loginPassword is step 2 (manual step 8). Every answer about the password
// is the same for a real ID and an unknown one, and a locked account gets
// the lock notice whether the password was right or not.
func (s *Site) loginPassword(c *gin.Context) {
	sess, ok := acctPending(c, session.StagePassword)
	if !ok {
		acctRestart(c)
		return
	}
	// The page (the image and phrase, a read and an unsealing) is drawn
	// only when it is shown again: never after the right password. Every
	// answer that shows it draws it the same way for a real ID and an
	// unknown one.
	var f *Form
	page := func() Page { return s.passwordPage(c, sess.UserID, f) }
	if s.deps.Throttle != nil && !s.acctTakePaid(c) {
		if err := s.deps.Throttle.Check(c); err != nil {
			s.Fail(c, "account_password", page(), err)
			return
		}
	}
	f = ReadForm(c, acctPasswordFields...)
	if !f.Valid() {
		s.Invalid(c, "account_password", page())
		return
	}
	// A wrong password costs this address a token of its failure limit:
	// taken before the check (concurrent guesses cannot all slip under
	// it), given back when the password was right. The same for every ID.
	failKey := ""
	if s.deps.FailThrottle != nil {
		failKey = httpx.ClientKey(c.ClientIP())
		if ok, wait := s.deps.FailThrottle.Allow(failKey); !ok {
			s.Fail(c, "account_password", page(), &httpx.TooManyError{RetryAfter: wait})
			return
		}
	}
	out, res, err := s.deps.Accounts.Commands.LogIn.LogIn(c.Request.Context(),
		commands.LogIn{Meta: acctMeta(c, sess.UserID), UserID: sess.UserID, Password: f.Get("password")})
	if failKey != "" && !errors.Is(err, account.ErrWrongPassword) && !errors.Is(err, account.ErrLocked) {
		s.deps.FailThrottle.Refund(failKey)
	}
	switch {
	case err == nil:
	case errors.Is(err, account.ErrLocked):
		s.acctLocked(c, sess.UserID)
		return
	case errors.Is(err, account.ErrWrongPassword):
		p := page()
		p.Data.(*acctPasswordData).Wrong = true
		s.Render(c, http.StatusUnauthorized, "account_password", p)
		return
	default:
		s.failForm(c, "account_password", page(), err)
		return
	}
	// No wait for the projections: the pages the login leads to read no
	// view, or wait themselves (readAfterLogin).
	s.afterPassword(c, sess.UserID, out, res.Position)
}

// afterPassword leads a successful password step on: the second factor,
// activation, a new password, or the home page.
func (s *Site) afterPassword(c *gin.Context, userID string, out commands.LoginOutput, position uint64) {
	switch {
	case out.SecondFactorRequired:
		after := ""
		if out.MustChangePassword {
			after = acctAfterChange
			if out.Temporary {
				after = acctAfterReset
			}
		}
		s.startWaiting(c, userID, acctStageTOTP, out.Grant, map[string]string{acctValAfter: after}, PathLoginTOTP)
	case out.MustActivate:
		s.startWaiting(c, userID, session.StageActivation, out.Grant, nil, PathActivate)
	case out.MustChangePassword && out.Temporary:
		s.startWaiting(c, userID, acctStageReset, out.Grant, nil, PathLoginReset)
	default:
		s.completeLogin(c, userID, out.Grant, position, false, out.MustChangePassword, "")
	}
}

// startPending moves the login on to its next stage under a new token.
func (s *Site) startPending(c *gin.Context, userID, stage string, values map[string]string, next string) {
	s.setPending(c, s.deps.Sessions.StartPending(c, userID, stage, values), next)
}

// startWaiting moves the login on to the stage after a step its command
// decided (grant): the waiting session counts as begun at the decision,
// and keeps the grant's Ends for the command of its next step
// (acctWaiting), so an end of the account's sessions recorded in between
// (a lock, a password change, an activation elsewhere) reaches it.
func (s *Site) startWaiting(c *gin.Context, userID, stage string, grant commands.LoginGrant, values map[string]string, next string) {
	values = maps.Clone(values)
	if values == nil {
		values = map[string]string{}
	}
	values[acctValEnds] = strconv.Itoa(grant.Ends)
	s.setPending(c, s.deps.Sessions.StartWaiting(c, userID, stage, grant.DecidedAt, values), next)
}

// setPending sends the browser to next once its pending session is begun
// (err: how that went).
func (s *Site) setPending(c *gin.Context, err error, next string) {
	if s.sessionFailed(c, err) {
		return
	}
	c.Redirect(http.StatusSeeOther, next)
}

// completeLogin logs the browser in as userID under a new token, with the
// roles of grant (what the command that completed the login decided on the
// account's and the employee master's streams: the read model may not yet
// show a role just revoked) and the name and department of the account
// view, and sends it home — or, for an administrator or auditor without
// TOTP, to the enrolment page, and for one whose password is below the
// administrators' policy, to Tukar Kata Laluan; the session then opens
// nothing else until the password is changed
// (session.Manager.PasswordChangeFirst), enrolment or not.
//
// Someone who left service logs in without roles (grant has none): they
// still see their own slips and statements, not the powers of a post.
// Someone whose leaving date is still ahead holds their roles until it: the
// session carries the date as ValidUntil and ends when it begins. The
// session checks that itself, at every request, rather than something
// scheduled to end it then: a timer lives in one process's memory, has to
// be armed again for each login and after a restart, and a late one leaves
// the roles in place; a deadline in the session cannot be missed, and the
// store's sweep drops the session as it does any expired one.
//
// done, if not empty, is the query the home page is given when the login
// ends there, so that it says what the login also did ("kata-laluan=
// ditukar": a new password was set); ended on another page, the login
// leaves the notice with the session for that page (carryNotice).
func (s *Site) completeLogin(c *gin.Context, userID string, grant commands.LoginGrant, position uint64, totpVerified, mustChange bool, done string) {
	name, dept := grant.Name, grant.Department
	if name == "" { // no employee record (an account older than the master's stream)
		v, _, err := accounts.GetAccount(c.Request.Context(), s.deps.Accounts.Views, userID)
		if err != nil {
			httpx.Abort(c, err)
			return
		}
		name, dept = v.Name, v.Department
	}
	roles := grantRoles(grant)
	id := session.Identity{UserID: userID, Name: name, Department: dept, Roles: roles,
		TOTPVerified: totpVerified, MustChangePassword: mustChange, ValidUntil: grant.ServiceEnds, DecidedAt: grant.DecidedAt,
		Note:      session.LoginNote{Known: true, Previous: grant.PreviousLogin, FailedBefore: grant.FailedBeforeLogin},
		ReadAfter: position}
	if s.sessionFailed(c, s.deps.Sessions.Login(c, id)) {
		return
	}
	back := returnPage(s.deps.Sessions.TakeReturn(c, userID))
	switch {
	case len(roles) > 0 && !grant.SecondFactor:
		back = PathTwoFactor + "?wajib=1"
	case mustChange:
		back = PathPassword + "?wajib=1"
	}
	switch {
	case done == "":
	case back == PathHome:
		back += "?" + done
	default:
		// Another page (the one asked for, or a step the session must
		// take first) does not read the home page's query: the notice
		// goes with the session instead.
		s.carryNotice(c, acctDoneNotices[done])
	}
	c.Redirect(http.StatusSeeOther, back)
}

// acctDoneNotices are the notices of completeLogin's done queries.
var acctDoneNotices = map[string]string{"kata-laluan=ditukar": "acct.password.saved"}

// carryNotice leaves the notice key for the next page this session is
// shown (takeCarried). Lost, it is only a notice: the failure is logged.
func (s *Site) carryNotice(c *gin.Context, key string) {
	err := s.deps.Sessions.Update(c, func(s *session.Session) {
		if s.Values == nil {
			s.Values = map[string]string{}
		}
		s.Values[acctValNotice] = key
	})
	if err != nil {
		s.deps.Log.ErrorContext(c.Request.Context(), "login: carry notice", "err", err)
	}
}

// takeCarried is the notice carryNotice left for this session, once; ""
// if none or if the page shows it already (own).
func (s *Site) takeCarried(c *gin.Context, own string) string {
	u, ok := session.User(c)
	key := u.Values[acctValNotice]
	if !ok || key == "" {
		return ""
	}
	if err := s.deps.Sessions.Update(c, func(s *session.Session) { delete(s.Values, acctValNotice) }); err != nil {
		return "" // left for a later page: once, not on each while the store fails
	}
	if key == own {
		return ""
	}
	return key
}

// grantRoles are the session's roles of grant.
func grantRoles(grant commands.LoginGrant) []string {
	var roles []string
	for _, r := range grant.Roles {
		roles = append(roles, string(r))
	}
	return roles
}

// sessionFailed answers err from Sessions.Login, StartWaiting or
// MarkTOTP, if there is one, and says whether it did.
// session.ErrOvertaken (the account was locked, its password changed or a
// role removed after the command decided, or the session ended while a
// code was checked; also account.ErrLoginOvertaken from the command of a
// waiting login's step, passed as it): the session does not stand and is
// not made again; the person logs in again (and meets the lock if that is
// what happened).
func (s *Site) sessionFailed(c *gin.Context, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, session.ErrOvertaken):
		_ = s.deps.Sessions.Logout(c)
		c.Redirect(http.StatusSeeOther, PathLanding+"?sesi=tamat")
	default:
		httpx.Abort(c, err)
	}
	return true
}

// returnPage is where a login ends: the page the browser asked for before
// it was sent to log in (session.Manager.TakeReturn), if that is a page of
// this site, else the home page. The path is checked as written and
// decoded, as the language toggle's is.
func returnPage(page string) string {
	p, _, _ := strings.Cut(page, "?")
	dec, err := url.PathUnescape(p)
	if page == "" || err != nil || LocalPath(page, "") == "" || LocalPath(dec, "") == "" {
		return PathHome
	}
	return page
}

// locked answers an attempt on a locked account (or an unknown ID past the
// threshold): every session of the ID ends, this browser's too, and the
// page is the same whatever was typed.
func (s *Site) acctLocked(c *gin.Context, userID string) {
	if _, err := s.deps.Sessions.EndAllFor(c.Request.Context(), userID); err != nil {
		httpx.Abort(c, err)
		return
	}
	if err := s.deps.Sessions.Logout(c); err != nil {
		httpx.Abort(c, err)
		return
	}
	s.Render(c, http.StatusLocked, "account_locked", Page{Title: "err.locked_title", Data: s.cfg.LockoutThreshold})
}

// stepUpSent adds delta to the code checks this logged-in session has
// under way at its step-up and returns how many there are; a session gone
// since the request read it (its token rotated by a code just accepted)
// counts as one more than this request.
func (s *Site) stepUpSent(c *gin.Context, delta int) int {
	n := 0
	err := s.deps.Sessions.Update(c, func(s *session.Session) {
		n, _ = strconv.Atoi(s.Values[acctValStepUp])
		n = max(n+delta, 0)
		if s.Values == nil {
			s.Values = map[string]string{}
		}
		s.Values[acctValStepUp] = strconv.Itoa(n)
	})
	if err != nil {
		return 2
	}
	return n
}

// acctTOTPData is the second-factor page.
type acctTOTPData struct {
	Next string // step-up only
}

var acctTOTPFields = []Field{{Name: "code", Label: "acct.label.code", Required: true, Max: 32}}

// loginTOTPForm asks for the 6-digit code (or a recovery code): after the
// password of an account with TOTP, or when a logged-in administrator or
// auditor opens a page that needs it (RequireTOTP sends them here).
func (s *Site) loginTOTPForm(c *gin.Context) {
	if _, ok := acctPending(c, acctStageTOTP); ok {
		s.Render(c, http.StatusOK, "account_totp", Page{Title: "acct.title.totp", Data: &acctTOTPData{}})
		return
	}
	u, ok := session.User(c)
	if !ok {
		acctRestart(c)
		return
	}
	next := LocalPath(c.Query("next"), PathHome)
	if u.TOTPVerified {
		c.Redirect(http.StatusSeeOther, next)
		return
	}
	v, _, err := accounts.GetAccount(c.Request.Context(), s.deps.Accounts.Views, u.UserID)
	if err != nil {
		httpx.Abort(c, err)
		return
	}
	if !v.TOTP {
		c.Redirect(http.StatusSeeOther, PathTwoFactor+"?wajib=1")
		return
	}
	s.Render(c, http.StatusOK, "account_totp", Page{Title: "acct.title.totp", Data: &acctTOTPData{Next: next}})
}

func (s *Site) loginTOTP(c *gin.Context) {
	if f, ok := session.FormerForm(c); ok {
		// The code form sent again after its code was accepted (a double
		// click whose first answer rotated the token, or another tab): go
		// where that answer went, without checking the code again. A
		// session not stepped up after all is sent back by the page.
		next := PathLanding // a login's code step: home, or log in
		if f.Stage == session.StageStepUp {
			next = LocalPath(c.PostForm("next"), PathHome)
		}
		c.Redirect(http.StatusSeeOther, next)
		return
	}
	sess, isPending := acctPending(c, acctStageTOTP)
	u, loggedIn := session.User(c)
	switch {
	case isPending:
	case loggedIn && !u.TOTPVerified:
		sess = u
	default:
		acctRestart(c)
		return
	}
	data := &acctTOTPData{}
	if !isPending {
		data.Next = LocalPath(c.PostForm("next"), PathHome)
	}
	page := Page{Title: "acct.title.totp", Data: data}
	if s.deps.Throttle != nil {
		if err := s.deps.Throttle.Check(c); err != nil {
			s.Fail(c, "account_totp", page, err)
			return
		}
	}
	f := ReadForm(c, acctTOTPFields...)
	page.Form = f
	if !f.Valid() {
		s.Invalid(c, "account_totp", page)
		return
	}
	code := strings.Join(strings.Fields(f.Get("code")), "")
	ctx := c.Request.Context()
	if !isPending {
		s.stepUpSent(c, 1)
		defer s.stepUpSent(c, -1)
	}
	var res commands.Result
	var grant commands.LoginGrant
	var err error
	// The code completes this session's login, begun with the temporary
	// password or not: only the former uses it.
	temporary := isPending && sess.Values[acctValAfter] == acctAfterReset
	var waiting *commands.WaitingLogin
	if isPending {
		waiting = acctWaiting(sess)
	}
	if len(code) == 6 && strings.Trim(code, "0123456789") == "" {
		grant, res, err = s.deps.Accounts.Commands.VerifyTOTP.Verify(ctx, commands.VerifyTOTP{Meta: acctMeta(c, sess.UserID), UserID: sess.UserID, Code: code, Temporary: temporary, Waiting: waiting, StepUp: !isPending})
	} else {
		var used commands.RecoveryCodeUsed
		used, res, err = s.deps.Accounts.Commands.UseRecoveryCode.Use(ctx, commands.UseRecoveryCode{Meta: acctMeta(c, sess.UserID), UserID: sess.UserID, Code: code, Temporary: temporary, Waiting: waiting, StepUp: !isPending})
		grant = used.Grant
	}
	switch {
	case err == nil:
	case errors.Is(err, account.ErrLoginOvertaken):
		s.sessionFailed(c, session.ErrOvertaken)
		return
	case errors.Is(err, account.ErrLocked):
		s.acctLocked(c, sess.UserID)
		return
	case errors.Is(err, account.ErrWrongCode), errors.Is(err, account.ErrCodeReused):
		page.LockWarning = true
		s.Fail(c, "account_totp", page, &httpx.FieldError{Name: "code", Err: err})
		return
	case errors.Is(err, account.ErrCodeJustAccepted):
		// The form sent twice: the first submission logged in (or
		// confirmed the step-up) and its answer carries the session. The
		// browser shows this answer, so send it where the first went; a
		// browser without that session's cookie is asked to log in there.
		if isPending {
			c.Redirect(http.StatusSeeOther, PathHome)
			return
		}
		// At a step-up the code accepted last may be another session's
		// (a login or step-up elsewhere a moment ago): going on would
		// bring an administrator straight back here with no word why.
		// It is this form sent twice only if this session sent another
		// code check that is still under way or has rotated the token.
		if s.stepUpSent(c, 0) < 2 {
			s.Fail(c, "account_totp", page, &httpx.FieldError{Name: "code", Err: account.ErrCodeReused})
			return
		}
		c.Redirect(http.StatusSeeOther, data.Next)
		return
	default:
		s.failForm(c, "account_totp", page, err)
		return
	}
	if !isPending {
		s.acctWait(c, res)
		if s.sessionFailed(c, s.deps.Sessions.MarkTOTP(c)) {
			return
		}
		c.Redirect(http.StatusSeeOther, data.Next)
		return
	}
	switch sess.Values[acctValAfter] {
	case acctAfterReset:
		s.startWaiting(c, sess.UserID, acctStageReset, grant, map[string]string{acctValTOTP: "1"}, PathLoginReset)
	default:
		s.completeLogin(c, sess.UserID, grant, res.Position, true, sess.Values[acctValAfter] == acctAfterChange, "")
	}
}
