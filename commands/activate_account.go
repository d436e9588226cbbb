package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
)

// ActivateAccount is the activation page ("Aktif") after the first login
// with the temporary password.
type ActivateAccount struct {
	Meta   Meta
	UserID string
	Form   account.ActivationForm
	// Waiting is the temporary login the activation completes.
	Waiting *WaitingLogin
}

// ActivateAccountHandler checks the form (password policy — 12 characters
// for an account that already holds an admin or auditor role — question,
// answer, image, phrase), hashes the password and the normalised answer,
// seals the phrase and records account.Activated. Errors:
// account.FieldErrors (every bad field: password, confirm_password,
// question, answer, image, phrase), account.ErrTemporaryLoginRequired,
// account.ErrAlreadyActivated, account.ErrLocked, account.ErrNotFound,
// account.ErrLoginOvertaken (Waiting).
type ActivateAccountHandler struct {
	Runner   Runner
	Security AccountSecurity
}

var _ Handler[ActivateAccount] = ActivateAccountHandler{}

// Handle runs the command.
func (h ActivateAccountHandler) Handle(ctx context.Context, cmd ActivateAccount) (Result, error) {
	_, res, err := h.Activate(ctx, cmd)
	return res, err
}

// Activate runs the command and returns what the session of the login the
// activation completes gets.
func (h ActivateAccountHandler) Activate(ctx context.Context, cmd ActivateAccount) (LoginGrant, Result, error) {
	ic, err := parseUserID("user_id", cmd.UserID)
	if err != nil {
		return LoginGrant{}, Result{}, err
	}
	pw := &lazyHash{ctx: ctx, hasher: h.Security.Hasher, secret: account.NormalizePassword(cmd.Form.Password)}
	typed := newSecretCheck(ctx, h.Security.Hasher, account.NormalizePassword(cmd.Form.Password))
	answer := &lazyHash{ctx: ctx, hasher: h.Security.Hasher, secret: account.NormalizeAnswer(cmd.Form.Answer)}
	var sealedPhrase string
	var seed grantSeed
	res, err := Execute(ctx, h.Runner, account.Stream(ic), account.New, cmd.Meta,
		func(a *account.Account, now time.Time) error {
			if !a.Exists() {
				return account.ErrNotFound
			}
			// Activated since (another tab or device): Activate's own
			// refusal says so, more use than an overtaken login.
			if a.Status() != account.StatusActive {
				if err := cmd.Waiting.check(a, true); err != nil {
					return err
				}
			}
			seed.see(a, now)
			form, err := account.CheckActivation(cmd.Form, ic.String(), a.MinPasswordLength())
			if err != nil {
				return err
			}
			pwHash, err := pw.get("")
			if err != nil {
				return err
			}
			answerHash, err := answer.get("")
			if err != nil {
				return err
			}
			if sealedPhrase == "" {
				if sealedPhrase, err = h.Security.Sealer.Seal([]byte(form.Phrase), account.PhraseAAD(ic.String())); err != nil {
					return err
				}
			}
			return a.Activate(account.Activation{
				Password:   account.NewPassword{Hash: pwHash, AdminStrength: adminStrength(form.Password), Typed: typed.Verify},
				QuestionID: form.QuestionID, AnswerHash: answerHash,
				ImageID: form.ImageID, SealedPhrase: sealedPhrase,
			}, now)
		})
	if err != nil {
		return LoginGrant{}, res, err
	}
	g, err := seed.grant(ctx, h.Runner, ic)
	return g, res, err
}

// adminStrength: the password meets the admin policy's length.
func adminStrength(pw string) bool {
	return len([]rune(account.NormalizePassword(pw))) >= account.MinAdminPassword
}
