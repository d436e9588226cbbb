package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/mykad"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/i18n"
	"github.com/melaka-gov/ispeks/infra/mail"
)

// AccountRules maps the account domain's errors to statuses and the
// manual's messages. NewSite adds them to the error map, so every page
// (the admin pages run account commands too) shows them the same way.
func AccountRules() []httpx.Rule {
	return []httpx.Rule{
		{Err: account.ErrNotRegistrable, Status: http.StatusUnprocessableEntity, Code: "account.not_registrable", Key: "err.register_failed"},
		{Err: account.ErrAlreadyRegistered, Status: http.StatusConflict, Code: "account.already_registered", Key: "acct.err.already_registered"},
		{Err: account.ErrWrongPassword, Status: http.StatusUnauthorized, Code: "account.wrong_password", Key: "err.wrong_password"},
		{Err: account.ErrLocked, Status: http.StatusLocked, Code: "account.locked", Key: "err.locked"},
		{Err: account.ErrTemporaryPasswordExpired, Status: http.StatusUnauthorized, Code: "account.temporary_password_expired", Key: "acct.err.temp_expired"},
		{Err: account.ErrWrongCode, Status: http.StatusUnauthorized, Code: "account.wrong_code", Key: "acct.err.wrong_code"},
		{Err: account.ErrCodeReused, Status: http.StatusUnauthorized, Code: "account.code_reused", Key: "acct.err.code_reused"},
		{Err: account.ErrCodeJustAccepted, Status: http.StatusConflict, Code: "account.code_just_accepted", Key: "acct.err.code_just_accepted"},
		{Err: account.ErrNotActivated, Status: http.StatusConflict, Code: "account.not_activated", Key: "acct.err.not_activated"},
		{Err: account.ErrAlreadyActivated, Status: http.StatusConflict, Code: "account.already_activated", Key: "acct.err.already_activated"},
		{Err: account.ErrTemporaryLoginRequired, Status: http.StatusConflict, Code: "account.temporary_login_required", Key: "acct.err.temp_login_required"},
		{Err: account.ErrSecondFactorPending, Status: http.StatusConflict, Code: "account.second_factor_pending", Key: "acct.err.second_factor_pending"},
		{Err: account.ErrTOTPNotEnabled, Status: http.StatusConflict, Code: "account.totp_not_enabled", Key: "acct.err.totp_not_enabled"},
		{Err: account.ErrTOTPAlreadyEnabled, Status: http.StatusConflict, Code: "account.totp_already_enabled", Key: "acct.err.totp_already_enabled"},
		{Err: account.ErrNoPendingEnrolment, Status: http.StatusConflict, Code: "account.no_pending_enrolment", Key: "acct.err.no_pending_enrolment"},
		{Err: account.ErrTooSoon, Status: http.StatusTooManyRequests, Code: "account.too_soon", Key: "acct.err.too_soon"},
		{Err: account.ErrNotFound, Status: http.StatusNotFound, Code: "account.not_found", Key: "err.not_found"},
		{Err: mail.ErrNotFound, Status: http.StatusNotFound, Code: "mail.not_found", Key: "err.not_found"},
	}
}

// AccountFieldRules map the account and employee field errors (field and
// code as data) to a message per code. The account pages use the more
// precise per-field messages of acctFieldMessage; these rules serve every other
// page that runs an account command.
func AccountFieldRules() []httpx.FieldRule {
	msgs := map[string]i18n.Text{}
	for _, code := range acctFieldCodes {
		msgs[code] = i18n.Get("acct.c." + code)
	}
	return []httpx.FieldRule{
		{CodePrefix: "account.", Messages: msgs, Extract: func(err error) (string, string, bool) {
			if fe, ok := err.(*account.FieldError); ok {
				return fe.Field, fe.Code, true
			}
			return "", "", false
		}},
		{CodePrefix: "employee.", Messages: msgs, Extract: func(err error) (string, string, bool) {
			if fe, ok := err.(*employee.FieldError); ok {
				return fe.Field, fe.Code, true
			}
			return "", "", false
		}},
	}
}

// acctFieldCodes are the stable codes of the domain field errors.
var acctFieldCodes = []string{
	"required", "too_short", "too_long", "invalid", "control_character", "mismatch", "common",
	"contains_user_id", "domain_not_allowed", "unknown_choice", "invalid_date", "invalid_place_code",
	"totp_format", "code_format", "same_as_temporary",
}

// acctFieldMessage is the message of one field error on an account page: the
// field's own wording if the catalog has one ("acct.f.<field>.<code>"),
// else the code's. The user ID step uses the IC number's messages.
func acctFieldMessage(field, code string, domains []string) i18n.Text {
	if code == "domain_not_allowed" {
		return i18n.Getf("acct.f.email.domain_not_allowed", "@"+strings.Join(domains, ", @"))
	}
	f := field
	if f == "user_id" {
		f = "ic"
	}
	if t, ok := i18n.Lookup("acct.f." + f + "." + code); ok {
		return t
	}
	if t, ok := i18n.Lookup("acct.c." + code); ok {
		return t
	}
	return i18n.Get("err.invalid")
}

// acctFieldErrors collects the account and employee field errors in
// err's tree, first per field.
func acctFieldErrors(err error) []account.FieldError {
	var out []account.FieldError
	seen := map[string]bool{}
	var walk func(error)
	walk = func(e error) {
		switch v := e.(type) {
		case nil:
			return
		case *account.FieldError:
			if !seen[v.Field] {
				seen[v.Field] = true
				out = append(out, *v)
			}
			return
		case *employee.FieldError:
			if !seen[v.Field] {
				seen[v.Field] = true
				out = append(out, account.FieldError{Field: v.Field, Code: v.Code, Reason: v.Reason})
			}
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// failForm shows a command's error on a form page: domain field errors
// beside their fields with the account pages' wording (422); anything else
// through Site.Fail.
func (s *Site) failForm(c *gin.Context, name string, p Page, err error) {
	fes := acctFieldErrors(err)
	if len(fes) == 0 {
		s.Fail(c, name, p, err)
		return
	}
	if p.Form == nil {
		p.Form = NewForm(nil)
	}
	for _, fe := range fes {
		p.Form.Fail(fe.Field, acctFieldMessage(fe.Field, fe.Code, s.deps.Accounts.AllowedDomains))
	}
	s.Render(c, http.StatusUnprocessableEntity, name, p)
}

// acctPrecheck adds the domain's own checks (err, from account.Check…) to a
// form that already failed the generic ones, so the page names every
// problem at once instead of one round at a time. The generic error of a
// field, if any, stays first.
func (s *Site) acctPrecheck(f *Form, err error) {
	for _, fe := range acctFieldErrors(err) {
		f.Fail(fe.Field, acctFieldMessage(fe.Field, fe.Code, s.deps.Accounts.AllowedDomains))
	}
}

// acctParseIC reads an IC number typed into field, or returns the field error
// the domain would (so the form says the same as the command).
func acctParseIC(field, s string) (mykad.IC, error) {
	ic, err := mykad.Parse(s)
	if err == nil {
		return ic, nil
	}
	code := "invalid"
	switch {
	case errors.Is(err, mykad.ErrEmpty):
		code = "required"
	case errors.Is(err, mykad.ErrDate):
		code = "invalid_date"
	case errors.Is(err, mykad.ErrPlace):
		code = "invalid_place_code"
	}
	return "", &account.FieldError{Field: field, Code: code, Reason: err.Error()}
}
