package web

import (
	"errors"
	"math/rand/v2"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/i18n"
	"github.com/melaka-gov/ispeks/http/session"
)

// acctNewPasswordFields are a new password and its confirmation. The limits
// here only stop absurd input early; the policy itself (length, common
// passwords, the IC) is the domain's, so the message is the same
// everywhere: one stopped here names the policy's maximum too.
var acctNewPasswordFields = []Field{
	{Name: "password", Label: "label.password_new", Required: true, Secret: true, Max: 4 * account.MaxPassword, RequiredKey: "acct.f.password.required", TooLongKey: "acct.f.password.too_long"},
	{Name: "confirm_password", Label: "label.password_confirm", Required: true, Secret: true, Max: 4 * account.MaxPassword, RequiredKey: "acct.f.confirm_password.required", TooLongKey: "acct.f.password.too_long"},
}

var acctActivateFields = append(append([]Field{}, acctNewPasswordFields...),
	Field{Name: "question", Label: "label.secret_question", Required: true, Max: 40, RequiredKey: "acct.f.question.required"},
	Field{Name: "answer", Label: "label.secret_answer", Required: true, Secret: true, Max: account.MaxAnswer},
	Field{Name: "image", Label: "label.security_image", Required: true, Max: 40, RequiredKey: "acct.f.image.required"},
	Field{Name: "phrase", Label: "label.secret_phrase", Required: true, Max: account.MaxPhrase, RequiredKey: "acct.f.phrase.required"},
)

// acctActivateData is the activation page: the secret questions as a
// select, built when the page is drawn (after the form's errors are in).
type acctActivateData struct {
	UserID string
	lang   i18n.Lang
	form   *Form
}

// Question is the secret-question select; the questions' words live with
// the domain (account.SecretQuestions), not in the catalog.
func (d *acctActivateData) Question() FieldView {
	lang, f := d.lang, d.form
	q := FieldView{Name: "question", ID: "f-question", Label: i18n.T(lang, "label.secret_question"), Type: "select",
		Required: true, RequiredText: i18n.T(lang, "label.required"), ErrorPrefix: i18n.T(lang, "err.prefix"), EmptyOption: i18n.T(lang, "label.choose")}
	if msg, ok := f.Error("question"); ok {
		q.Error = msg.In(lang)
	}
	cur := f.Shown("question")
	for _, sq := range account.SecretQuestions() {
		q.Options = append(q.Options, OptionView{Value: sq.ID, Label: i18n.Text{MS: sq.MS, EN: sq.EN}.In(lang), Selected: sq.ID == cur})
	}
	return q
}

// phrasesOffered is how many of the catalogue's phrases the activation
// page offers; a reload offers others.
const phrasesOffered = 8

// Phrase is the secret-phrase select: phrases of the catalogue the decoys
// come from (account.Phrase), drawn afresh for each page, with the one
// chosen before kept when the form comes back with errors.
func (d *acctActivateData) Phrase() FieldView {
	lang, f := d.lang, d.form
	p := FieldView{Name: "phrase", ID: "f-phrase", Label: i18n.T(lang, "label.secret_phrase"), Type: "select", Hint: i18n.T(lang, "acct.hint.phrase"),
		Required: true, RequiredText: i18n.T(lang, "label.required"), ErrorPrefix: i18n.T(lang, "err.prefix"), EmptyOption: i18n.T(lang, "label.choose")}
	if msg, ok := f.Error("phrase"); ok {
		p.Error = msg.In(lang)
	}
	cur := f.Shown("phrase")
	offered := map[string]bool{}
	if account.ValidPhrase(cur) {
		offered[cur] = true
		p.Options = append(p.Options, OptionView{Value: cur, Label: cur, Selected: true})
	}
	for len(p.Options) < phrasesOffered {
		ph := account.Phrase(rand.IntN(account.PhraseCount()))
		if !offered[ph] {
			offered[ph] = true
			p.Options = append(p.Options, OptionView{Value: ph, Label: ph})
		}
	}
	return p
}

func (s *Site) activatePage(c *gin.Context, userID string, f *Form) Page {
	if f == nil {
		f = NewForm(nil)
	}
	return Page{Title: "acct.title.activate", Form: f, Data: &acctActivateData{UserID: acctFormatID(userID), lang: i18n.From(c), form: f}}
}

// activateForm is manual step 9: Maklumat Kata Laluan, Soalan dan Jawapan
// Rahsia, Imej Online and Frasa Rahsia, then "Aktif".
func (s *Site) activateForm(c *gin.Context) {
	sess, ok := acctPending(c, session.StageActivation)
	if !ok {
		acctRestart(c)
		return
	}
	s.Render(c, http.StatusOK, "account_activate", s.activatePage(c, sess.UserID, nil))
}

func (s *Site) activate(c *gin.Context) {
	if f, ok := session.FormerForm(c); ok {
		s.formerForm(c, f, session.StageActivation, "acct.activated_here", "?sesi=diaktifkan")
		return
	}
	sess, ok := acctPending(c, session.StageActivation)
	if !ok {
		acctRestart(c)
		return
	}
	f := ReadForm(c, acctActivateFields...)
	form := account.ActivationForm{
		Password: f.Get("password"), ConfirmPassword: f.Get("confirm_password"),
		QuestionID: f.Get("question"), Answer: f.Get("answer"), ImageID: f.Get("image"), Phrase: f.Get("phrase"),
	}
	if !f.Valid() {
		_, err := account.CheckActivation(form, sess.UserID, account.MinPassword)
		s.acctPrecheck(f, err)
		s.Invalid(c, "account_activate", s.activatePage(c, sess.UserID, f))
		return
	}
	grant, res, err := s.deps.Accounts.Commands.Activate.Activate(c.Request.Context(), commands.ActivateAccount{
		Meta: acctMeta(c, sess.UserID), UserID: sess.UserID, Form: form, Waiting: acctWaiting(sess),
	})
	switch {
	case err == nil:
	case errors.Is(err, account.ErrLoginOvertaken):
		s.sessionFailed(c, session.ErrOvertaken)
		return
	case errors.Is(err, account.ErrLocked):
		s.acctLocked(c, sess.UserID)
		return
	case errors.Is(err, account.ErrAlreadyActivated), errors.Is(err, account.ErrTemporaryLoginRequired):
		// Activated meanwhile in another tab or on another device, or by
		// the first of a double click that read the session too: log in
		// again, with the password set there, and be told so. The cookie
		// is left alone (formerForm): the first's answer may carry, or
		// have carried, the session its activation made. This pending
		// session ends (endDonePending): nothing it allows can be done any
		// more.
		s.endDonePending(c)
		c.Redirect(http.StatusSeeOther, PathLanding+"?sesi=diaktifkan")
		return
	default:
		s.failForm(c, "account_activate", s.activatePage(c, sess.UserID, f), err)
		return
	}
	s.acctWait(c, res)
	// The account is activated: every other session of it ends (another
	// device's login waiting at a step), as after a new password; this
	// one continues under a new token (completeLogin).
	if _, err := s.deps.Sessions.EndAllFor(c.Request.Context(), sess.UserID); err != nil {
		httpx.Abort(c, err)
		return
	}
	s.completeLogin(c, sess.UserID, grant, res.Position, false, false, "")
}

// acctResetData is the new-password page after a temporary password.
type acctResetData struct{ UserID, Action string }

// resetForm asks for a new password after a login with a temporary
// password on an active account (after Lupa Kata Laluan).
func (s *Site) resetForm(c *gin.Context) {
	sess, ok := acctPending(c, acctStageReset)
	if !ok {
		acctRestart(c)
		return
	}
	s.Render(c, http.StatusOK, "account_reset", Page{Title: "acct.title.reset", Data: &acctResetData{UserID: acctFormatID(sess.UserID), Action: PathLoginReset}})
}

func (s *Site) reset(c *gin.Context) {
	if f, ok := session.FormerForm(c); ok {
		s.formerForm(c, f, acctStageReset, "acct.reset_here", "?sesi=kata-laluan-baru")
		return
	}
	sess, ok := acctPending(c, acctStageReset)
	if !ok {
		acctRestart(c)
		return
	}
	f := ReadForm(c, acctNewPasswordFields...)
	page := Page{Title: "acct.title.reset", Form: f, Data: &acctResetData{UserID: acctFormatID(sess.UserID), Action: PathLoginReset}}
	if !f.Valid() {
		s.acctPrecheck(f, account.CheckPassword(f.Get("password"), f.Get("confirm_password"), sess.UserID, account.MinPassword))
		s.Invalid(c, "account_reset", page)
		return
	}
	grant, res, err := s.deps.Accounts.Commands.ResetPassword.Reset(c.Request.Context(), commands.ResetPassword{
		Meta: acctMeta(c, sess.UserID), UserID: sess.UserID, NewPassword: f.Get("password"), ConfirmPassword: f.Get("confirm_password"),
		Waiting: acctWaiting(sess),
	})
	switch {
	case err == nil:
	case errors.Is(err, account.ErrLoginOvertaken):
		s.sessionFailed(c, session.ErrOvertaken)
		return
	case errors.Is(err, account.ErrLocked):
		s.acctLocked(c, sess.UserID)
		return
	case errors.Is(err, account.ErrTemporaryLoginRequired):
		// A new password was set meanwhile in another tab or by the
		// first of a double click: log in again with it, and be told so.
		// The cookie is left alone and this pending session ends, as for
		// activate.
		s.endDonePending(c)
		c.Redirect(http.StatusSeeOther, PathLanding+"?sesi=kata-laluan-baru")
		return
	default:
		s.failForm(c, "account_reset", page, err)
		return
	}
	s.acctWait(c, res)
	// The password changed: every other session of the account ends;
	// this one continues under a new token (completeLogin).
	if _, err := s.deps.Sessions.EndAllFor(c.Request.Context(), sess.UserID); err != nil {
		httpx.Abort(c, err)
		return
	}
	s.completeLogin(c, sess.UserID, grant, res.Position, sess.Values[acctValTOTP] == "1", false, "kata-laluan=ditukar")
}

// endDonePending ends the request's pending session, whose step its
// command refused as done already, leaving the cookie alone
// (session.Manager.EndDonePending). Not ended, it only waits for its
// timeout: the failure is logged, the answer stays the same.
func (s *Site) endDonePending(c *gin.Context) {
	if err := s.deps.Sessions.EndDonePending(c); err != nil {
		s.deps.Log.ErrorContext(c.Request.Context(), "login: end done pending session", "err", err)
	}
}

// formerForm answers the activation or new-password form (stage) sent
// after its login had moved on: another tab of this browser, or the first
// of a double click, completed it. Nothing is done again: a browser now
// logged in goes home and is told (notice); one without the new session
// goes to log in, told why (query).
func (s *Site) formerForm(c *gin.Context, f session.Former, stage, notice, query string) {
	if f.Stage != stage {
		acctRestart(c)
		return
	}
	if _, ok := session.User(c); ok {
		s.carryNotice(c, notice)
		c.Redirect(http.StatusSeeOther, PathHome)
		return
	}
	c.Redirect(http.StatusSeeOther, PathLanding+query)
}
