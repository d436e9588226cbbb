package mail

import (
	"errors"
	"fmt"
	"html/template"
	netmail "net/mail"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/calendar"
)

// Recipient is the person a mail is about and the mailbox it goes to.
// Several staff may share one department mailbox, so every mail names the
// person and their user ID (the IC number, which they need to log in).
type Recipient struct {
	Name   string
	UserID string
	Email  string
}

// Contact is one helpdesk line from configuration.
type Contact struct {
	Name  string
	Phone string
}

// Composer writes the account-flow mails, Malay first, then English.
type Composer struct {
	From      Address
	ReplyTo   Address // optional
	Bounce    string  // optional envelope sender (Message.Bounce)
	PortalURL string  // e.g. https://p.ispeks.melaka.gov.my/eispeks/main
	Helpdesk  []Contact
	// Zone shows times to the reader; default Malaysia time (UTC+8, no DST).
	Zone *time.Location
	// IDDomain is the right-hand side of Message-IDs; default the From
	// address's domain.
	IDDomain string
}

// Validate checks the composer's configuration.
func (c Composer) Validate() error {
	if err := validAddress(c.From, true); err != nil {
		return fmt.Errorf("mail: composer: from: %w", err)
	}
	if !c.ReplyTo.IsZero() {
		if err := validAddress(c.ReplyTo, true); err != nil {
			return fmt.Errorf("mail: composer: reply_to: %w", err)
		}
	}
	if err := validAddress(Address{Email: c.Bounce}, false); err != nil {
		return fmt.Errorf("mail: composer: bounce: %w", err)
	}
	if c.PortalURL == "" {
		return errors.New("mail: composer: portal_url: missing")
	}
	return nil
}

// MessageID derives a message's ID from the event that caused it, so a
// resend after a crash carries the same Message-ID and the outbox file is
// replaced rather than duplicated.
func (c Composer) MessageID(eventID uuid.UUID) string {
	domain := c.IDDomain
	if domain == "" {
		if _, d, ok := strings.Cut(c.From.Email, "@"); ok {
			domain = d
		} else {
			domain = "ispeks.invalid"
		}
	}
	return eventID.String() + "@" + domain
}

// Kinds of temporary-password mail.
type TempPasswordKind string

const (
	TempRegistration TempPasswordKind = "registration"
	TempForgot       TempPasswordKind = "forgot_password"
	TempAdmin        TempPasswordKind = "admin_issued"
)

// TemporaryPassword composes the mail carrying a temporary password.
func (c Composer) TemporaryPassword(kind TempPasswordKind, to Recipient, tempPassword string, expires time.Time) (Message, error) {
	switch kind {
	case TempRegistration:
		return c.Registration(to, tempPassword, expires)
	case TempForgot:
		return c.ForgotPassword(to, tempPassword, expires)
	case TempAdmin:
		return c.AdminTemporaryPassword(to, tempPassword, expires)
	}
	return Message{}, fmt.Errorf("%w: kind: unknown temporary password kind %q", ErrInvalidMessage, kind)
}

// Registration: the account is registered; here is the temporary password,
// its expiry, and how to log in and activate.
func (c Composer) Registration(to Recipient, tempPassword string, expires time.Time) (Message, error) {
	if err := checkTemp(to, tempPassword, expires); err != nil {
		return Message{}, err
	}
	exp := c.when(expires)
	ms := []block{
		para("Pendaftaran anda di Portal iSPEKS telah berjaya. Berikut ialah kata laluan sementara anda:"),
		secret("Kata laluan sementara", tempPassword),
		kv("Sah sehingga", exp+" (waktu Malaysia)"),
		para("Cara log masuk:"),
		steps(
			"Buka Portal iSPEKS: "+c.PortalURL,
			"Kunci masuk ID Pengguna anda ("+to.UserID+"), klik butang \u201cLogin\u201d.",
			"Kunci masuk kata laluan sementara di atas, klik butang \u201cLogin\u201d.",
			"Lengkapkan Maklumat Kata Laluan, Soalan dan Jawapan Rahsia, Imej Online dan Frasa Rahsia. Kemudian, klik butang \u201cAktif\u201d.",
		),
		para("Kata laluan sementara ini hanya boleh digunakan sekali. Jika ia tamat tempoh, gunakan \u201cLupa Kata Laluan\u201d di Portal iSPEKS untuk mendapatkan yang baharu."),
	}
	en := []block{
		para("Your registration on the iSPEKS Portal was successful. This is your temporary password:"),
		secret("Temporary password", tempPassword),
		kv("Valid until", exp+" (Malaysia time)"),
		para("How to log in:"),
		steps(
			"Open the iSPEKS Portal: "+c.PortalURL,
			"Enter your user ID ("+to.UserID+") and click \u201cLogin\u201d.",
			"Enter the temporary password above and click \u201cLogin\u201d.",
			"Fill in your password, secret question and answer, security image and secret phrase, then click \u201cAktif\u201d (activate).",
		),
		para("This temporary password works once. If it expires, use \u201cLupa Kata Laluan\u201d (forgot password) on the iSPEKS Portal to get a new one."),
	}
	return c.compose(to, "Pendaftaran iSPEKS: kata laluan sementara / iSPEKS registration: temporary password", ms, en, true)
}

// ForgotPassword: a new temporary password; the current password keeps
// working until the new one is used.
func (c Composer) ForgotPassword(to Recipient, tempPassword string, expires time.Time) (Message, error) {
	if err := checkTemp(to, tempPassword, expires); err != nil {
		return Message{}, err
	}
	exp := c.when(expires)
	ms := []block{
		para("Kami menerima permintaan \u201cLupa Kata Laluan\u201d untuk akaun anda di Portal iSPEKS. Berikut ialah kata laluan sementara yang baharu:"),
		secret("Kata laluan sementara", tempPassword),
		kv("Sah sehingga", exp+" (waktu Malaysia)"),
		steps(
			"Buka Portal iSPEKS: "+c.PortalURL,
			"Kunci masuk ID Pengguna anda ("+to.UserID+"), klik butang \u201cLogin\u201d.",
			"Kunci masuk kata laluan sementara di atas, klik butang \u201cLogin\u201d, kemudian tetapkan kata laluan baharu.",
			notActivatedYet[0],
		),
		para("Kata laluan semasa anda masih boleh digunakan sehingga kata laluan sementara ini digunakan. Jika anda tidak membuat permintaan ini, abaikan emel ini; kata laluan semasa anda tidak berubah."),
		para(replacesEarlier[0]),
	}
	en := []block{
		para("We received a \u201cLupa Kata Laluan\u201d (forgot password) request for your iSPEKS Portal account. This is your new temporary password:"),
		secret("Temporary password", tempPassword),
		kv("Valid until", exp+" (Malaysia time)"),
		steps(
			"Open the iSPEKS Portal: "+c.PortalURL,
			"Enter your user ID ("+to.UserID+") and click \u201cLogin\u201d.",
			"Enter the temporary password above, click \u201cLogin\u201d, then set a new password.",
			notActivatedYet[1],
		),
		para("Your current password keeps working until this temporary password is used. If you did not ask for it, ignore this mail; your current password is unchanged."),
		para(replacesEarlier[1]),
	}
	return c.compose(to, "iSPEKS: kata laluan sementara baharu / new temporary password", ms, en, true)
}

// replacesEarlier tells the holder of a new temporary password (Malay,
// English) that the one mailed before it no longer works: both may sit in
// one shared mailbox, and a login with the earlier one is a wrong password
// that counts towards the lock.
var replacesEarlier = [2]string{
	"Kata laluan sementara ini menggantikan kata laluan sementara yang dihantar sebelum ini: hanya yang terbaharu boleh digunakan, dan setiap percubaan dengan kata laluan yang salah dikira ke arah sekatan akaun.",
	"This temporary password replaces any temporary password sent before it: only the newest one works, and each try with a wrong password counts towards locking the account.",
}

// notActivatedYet is the last step of a new temporary password's mail
// (Malay, English) for a person who never activated: the registration
// mail sends them to Lupa Kata Laluan once its password expired, and after
// Login the portal shows them the Aktif page, not a password change.
var notActivatedYet = [2]string{
	"Jika akaun anda belum diaktifkan, lengkapkan Maklumat Kata Laluan, Soalan dan Jawapan Rahsia, Imej Online dan Frasa Rahsia, kemudian klik butang \u201cAktif\u201d.",
	"If your account is not activated yet, fill in your password, secret question and answer, security image and secret phrase, then click \u201cAktif\u201d (activate).",
}

// AdminTemporaryPassword: the system administrator issued a temporary
// password (usually after a call to the helpdesk).
func (c Composer) AdminTemporaryPassword(to Recipient, tempPassword string, expires time.Time) (Message, error) {
	if err := checkTemp(to, tempPassword, expires); err != nil {
		return Message{}, err
	}
	exp := c.when(expires)
	ms := []block{
		para("Pentadbir Sistem telah mengeluarkan kata laluan sementara untuk akaun anda di Portal iSPEKS:"),
		secret("Kata laluan sementara", tempPassword),
		kv("Sah sehingga", exp+" (waktu Malaysia)"),
		steps(
			"Buka Portal iSPEKS: "+c.PortalURL,
			"Kunci masuk ID Pengguna anda ("+to.UserID+"), klik butang \u201cLogin\u201d.",
			"Kunci masuk kata laluan sementara di atas, klik butang \u201cLogin\u201d, kemudian tetapkan kata laluan baharu.",
			notActivatedYet[0],
		),
		para(replacesEarlier[0]),
		para("Jika anda tidak menghubungi Pentadbir Sistem untuk perkara ini, sila hubungi mereka segera."),
	}
	en := []block{
		para("The system administrator issued a temporary password for your iSPEKS Portal account:"),
		secret("Temporary password", tempPassword),
		kv("Valid until", exp+" (Malaysia time)"),
		steps(
			"Open the iSPEKS Portal: "+c.PortalURL,
			"Enter your user ID ("+to.UserID+") and click \u201cLogin\u201d.",
			"Enter the temporary password above, click \u201cLogin\u201d, then set a new password.",
			notActivatedYet[1],
		),
		para(replacesEarlier[1]),
		para("If you did not contact the system administrator about this, please contact them at once."),
	}
	return c.compose(to, "iSPEKS: kata laluan sementara daripada Pentadbir Sistem / temporary password from the administrator", ms, en, true)
}

// AccountLocked: the account was locked after consecutive wrong passwords.
// It carries no secret. failures may be 0 when unknown.
func (c Composer) AccountLocked(to Recipient, lockedAt time.Time, failures int) (Message, error) {
	if err := checkRecipient(to); err != nil {
		return Message{}, err
	}
	if lockedAt.IsZero() {
		return Message{}, fmt.Errorf("%w: locked_at: missing", ErrInvalidMessage)
	}
	at := c.when(lockedAt)
	msReason, enReason := "selepas beberapa percubaan log masuk yang gagal", "after several failed login attempts"
	if failures > 0 {
		msReason = fmt.Sprintf("selepas %d percubaan log masuk yang gagal", failures)
		enReason = fmt.Sprintf("after %d failed login attempts", failures)
	}
	ms := []block{
		para("Akaun anda di Portal iSPEKS telah disekat pada " + at + " (waktu Malaysia) " + msReason + "."),
		para("Sila hubungi Pentadbir Sistem untuk membuka sekatan akaun. Jika bukan anda yang cuba log masuk, maklumkan kepada Pentadbir Sistem."),
	}
	en := []block{
		para("Your iSPEKS Portal account was locked at " + at + " (Malaysia time) " + enReason + "."),
		para("Please contact the system administrator to unlock it. If it was not you trying to log in, tell the system administrator."),
	}
	return c.compose(to, "iSPEKS: akaun disekat / account locked", ms, en, false)
}

// The security notices: a change to how the account is reached or proved
// is mailed to the person (OWASP ASVS: users are told after a change of
// their credentials or e-mail address), so a change they did not make does
// not go unnoticed.

// PasswordChanged: the password was changed with Tukar Kata Laluan, or set
// after a login with a temporary password (reset).
func (c Composer) PasswordChanged(to Recipient, at time.Time, reset bool) (Message, error) {
	msHow, enHow := "", ""
	if reset {
		msHow, enHow = " selepas log masuk dengan kata laluan sementara", " after a login with a temporary password"
	}
	return c.notice(to, at, "iSPEKS: kata laluan ditukar / password changed",
		func(when string) (string, string) {
			return "Kata laluan akaun anda di Portal iSPEKS telah ditukar pada " + when + " (waktu Malaysia)" + msHow + ". Semua sesi lain akaun anda telah ditamatkan.",
				"The password of your iSPEKS Portal account was changed at " + when + " (Malaysia time)" + enHow + ". Every other session of your account was ended."
		}, notYouChanged)
}

// EmailChanged goes to the address the account had before: it names the
// new address partly hidden, so a shared mailbox learns that it changed but
// not where to.
func (c Composer) EmailChanged(to Recipient, at time.Time, newEmail string) (Message, error) {
	masked := MaskEmail(newEmail)
	return c.notice(to, at, "iSPEKS: alamat emel ditukar / e-mail address changed",
		func(when string) (string, string) {
			return "Alamat emel akaun anda di Portal iSPEKS telah ditukar daripada alamat ini kepada " + masked + " pada " + when + " (waktu Malaysia). Emel portal untuk akaun ini tidak akan dihantar ke alamat ini lagi.",
				"The e-mail address of your iSPEKS Portal account was changed from this address to " + masked + " at " + when + " (Malaysia time). The portal's mail for this account will no longer come here."
		}, notYouChanged)
}

// EmailFollowedMaster goes to the account's new address when it followed a
// change of the official e-mail in the employee master (the person did not
// make it, HR did): it tells the new mailbox that the portal's mail for
// this account now comes there, which is also the first proof the new
// address works. Not to the old address: the master moved the person away
// from it because it is closed or handed on (a renamed shared mailbox, the
// department they left), so a notice there is lost or read by a stranger.
// The old address is shown partly hidden.
func (c Composer) EmailFollowedMaster(to Recipient, at time.Time, previousEmail string) (Message, error) {
	masked := MaskEmail(previousEmail)
	return c.notice(to, at, "iSPEKS: emel portal kini ke alamat ini / portal mail now comes here",
		func(when string) (string, string) {
			return "Alamat emel rasmi anda dalam rekod kakitangan telah ditukar. Mulai " + when + " (waktu Malaysia), emel Portal iSPEKS untuk akaun anda (Lupa Kata Laluan, notis keselamatan) dihantar ke alamat ini, bukan lagi ke " + masked + ". Anda boleh memilih alamat rasmi lain di Tetapan Akaun \u203a Kemaskini Maklumat Pengguna.",
				"Your official e-mail address in the staff records was changed. From " + when + " (Malaysia time) the iSPEKS Portal's mail for your account (forgotten password, security notices) comes to this address instead of " + masked + ". You can choose another official address under Account Settings \u203a Update User Information."
		}, [2]string{"Jika alamat ini bukan milik anda, hubungi Pentadbir Sistem dengan segera.", "If this address is not yours, contact the system administrator at once."})
}

// TwoFactorChanged: TOTP was switched on by the person, or off (an
// administrator's reset).
func (c Composer) TwoFactorChanged(to Recipient, at time.Time, enabled bool) (Message, error) {
	if enabled {
		return c.notice(to, at, "iSPEKS: dua faktor diaktifkan / two-factor turned on",
			func(when string) (string, string) {
				return "Pengesahan dua faktor (kod TOTP) telah diaktifkan untuk akaun anda di Portal iSPEKS pada " + when + " (waktu Malaysia). Log masuk seterusnya memerlukan kod daripada aplikasi pengesah anda.",
					"Two-factor authentication (TOTP codes) was turned on for your iSPEKS Portal account at " + when + " (Malaysia time). Your next logins need a code from your authenticator app."
			}, [2]string{"Jika bukan anda yang mengaktifkannya, hubungi Pentadbir Sistem dengan segera.", "If you did not turn it on, contact the system administrator at once."})
	}
	return c.notice(to, at, "iSPEKS: dua faktor dimatikan / two-factor turned off",
		func(when string) (string, string) {
			return "Pengesahan dua faktor (kod TOTP) untuk akaun anda di Portal iSPEKS telah dimatikan oleh Pentadbir Sistem pada " + when + " (waktu Malaysia). Semua sesi akaun anda telah ditamatkan; anda boleh mendaftarkannya semula di Tetapan Akaun.",
				"Two-factor authentication (TOTP codes) for your iSPEKS Portal account was turned off by the system administrator at " + when + " (Malaysia time). Every session of your account was ended; you can enrol again under Account Settings."
		}, [2]string{"Jika anda tidak meminta perkara ini, hubungi Pentadbir Sistem dengan segera.", "If you did not ask for this, contact the system administrator at once."})
}

// RecoveryCodesReplaced is the notice that new recovery codes were made for
// the account at at: the earlier ones no longer work.
func (c Composer) RecoveryCodesReplaced(to Recipient, at time.Time) (Message, error) {
	return c.notice(to, at, "iSPEKS: kod pemulihan baharu / new recovery codes",
		func(when string) (string, string) {
			return "Sepuluh kod pemulihan baharu bagi pengesahan dua faktor akaun anda di Portal iSPEKS telah dijana pada " + when + " (waktu Malaysia). Kod pemulihan yang lama tidak lagi boleh digunakan.",
				"Ten new recovery codes for the two-factor authentication of your iSPEKS Portal account were made at " + when + " (Malaysia time). The earlier recovery codes no longer work."
		}, [2]string{"Jika bukan anda yang menjananya, hubungi Pentadbir Sistem dengan segera.", "If you did not make them, contact the system administrator at once."})
}

// notYouChanged is a notice's last paragraph, Malay and English.
var notYouChanged = [2]string{"Jika bukan anda yang menukarnya, hubungi Pentadbir Sistem dengan segera.", "If you did not change it, contact the system administrator at once."}

// notice composes a security notice: what changed and when (what gets the
// time shown to the reader), then what to do if it was not the person.
func (c Composer) notice(to Recipient, at time.Time, subject string, what func(when string) (ms, en string), notYou [2]string) (Message, error) {
	if err := checkRecipient(to); err != nil {
		return Message{}, err
	}
	if at.IsZero() {
		return Message{}, fmt.Errorf("%w: time of the change: missing", ErrInvalidMessage)
	}
	ms, en := what(c.when(at))
	return c.compose(to, subject, []block{para(ms), para(notYou[0])}, []block{para(en), para(notYou[1])}, false)
}

// MaskEmail hides all of an address's local part but its first character:
// "siti.aminah@jkr.melaka.gov.my" → "s***@jkr.melaka.gov.my".
func MaskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" {
		return "***"
	}
	r := []rune(local)
	return string(r[0]) + "***@" + domain
}

func checkRecipient(to Recipient) error {
	switch {
	case strings.TrimSpace(to.Name) == "":
		return fmt.Errorf("%w: recipient name: missing", ErrInvalidMessage)
	case strings.TrimSpace(to.UserID) == "":
		return fmt.Errorf("%w: user_id: missing", ErrInvalidMessage)
	case hasControl(to.Name, false) || hasControl(to.UserID, false):
		return fmt.Errorf("%w: recipient: control characters in name or user ID", ErrInvalidMessage)
	}
	if a, err := netmail.ParseAddress(to.Email); err != nil || a.Address != to.Email {
		return fmt.Errorf("%w: recipient email: not a plain e-mail address", ErrInvalidMessage)
	}
	return nil
}

func checkTemp(to Recipient, tempPassword string, expires time.Time) error {
	if err := checkRecipient(to); err != nil {
		return err
	}
	if tempPassword == "" || hasControl(tempPassword, false) {
		return fmt.Errorf("%w: temporary password: missing or contains control characters", ErrInvalidMessage)
	}
	if expires.IsZero() {
		return fmt.Errorf("%w: expires: missing", ErrInvalidMessage)
	}
	return nil
}

func (c Composer) when(t time.Time) string {
	z := c.Zone
	if z == nil {
		z = calendar.Melaka
	}
	return t.In(z).Format("02/01/2006 15:04")
}

// A block is one piece of a mail body, rendered both as text and HTML.
type block struct {
	kind  string // para, kv, secret, steps
	label string
	text  string
	items []string
}

func para(s string) block           { return block{kind: "para", text: s} }
func kv(label, value string) block  { return block{kind: "kv", label: label, text: value} }
func secret(label, v string) block  { return block{kind: "secret", label: label, text: v} }
func steps(items ...string) block   { return block{kind: "steps", items: items} }
func heading(name, id string) block { return block{kind: "heading", label: name, text: id} }

func (c Composer) helpdesk(malay bool) []block {
	if len(c.Helpdesk) == 0 {
		return nil
	}
	intro := "Untuk sebarang pertanyaan, hubungi Pentadbir Sistem:"
	if !malay {
		intro = "For any question, contact the system administrator:"
	}
	lines := make([]string, len(c.Helpdesk))
	for i, h := range c.Helpdesk {
		lines[i] = h.Name + " (" + h.Phone + ")"
	}
	return []block{para(intro), {kind: "list", items: lines}}
}

func (c Composer) compose(to Recipient, subject string, ms, en []block, hasSecret bool) (Message, error) {
	// The name in the subject lets a shared department mailbox see at a
	// glance whose mail it is; the user ID stays in the body.
	subject = subject + " \u2014 " + to.Name
	msAll := append([]block{heading(to.Name, to.UserID)}, ms...)
	msAll = append(msAll, c.helpdesk(true)...)
	enAll := append([]block{heading(to.Name, to.UserID)}, en...)
	enAll = append(enAll, c.helpdesk(false)...)
	sharedMs := "Nota: bagi pengguna yang berkongsi emel rasmi jabatan, emel ini hanya untuk " + to.Name + " (ID Pengguna " + to.UserID + ")."
	sharedEn := "Note: if this department mailbox is shared, this mail is only for " + to.Name + " (user ID " + to.UserID + ")."
	if hasSecret {
		sharedMs += " Jangan kongsi kata laluan ini."
		sharedEn += " Do not share this password."
	}
	msAll = append(msAll, para(sharedMs))
	enAll = append(enAll, para(sharedEn))

	var text strings.Builder
	renderText(&text, msAll, true)
	text.WriteString("\n----------------------------------------\nENGLISH\n\n")
	renderText(&text, enAll, false)
	footer := c.footer()
	text.WriteString("\n-- \nPortal iSPEKS, Kerajaan Negeri Melaka\n" + footer + "\n")

	html, err := renderHTML(subject, c.PortalURL, footer, msAll, enAll)
	if err != nil {
		return Message{}, err
	}
	return Message{
		From:    c.From,
		ReplyTo: c.ReplyTo,
		Bounce:  c.Bounce,
		To:      Address{Name: to.Name, Email: to.Email},
		Subject: subject,
		Text:    text.String(),
		HTML:    html,
	}, nil
}

// footer is the mail's last line. A reader alarmed by a notice ("if it
// was not you, contact the system administrator at once") presses Reply;
// from a no-reply address without a Reply-To that alarm is lost, so such a
// mail says not to reply.
func (c Composer) footer() string {
	local, _, _ := strings.Cut(strings.ToLower(c.From.Email), "@")
	local = strings.NewReplacer("-", "", "_", "", ".", "").Replace(local)
	if c.ReplyTo.IsZero() && (strings.HasPrefix(local, "noreply") || strings.HasPrefix(local, "donotreply")) {
		return "Emel ini dijana oleh sistem; sila jangan balas emel ini. / This mail was generated by the system; please do not reply to this mail."
	}
	return "Emel ini dijana oleh sistem. / This mail was generated by the system."
}

func renderText(w *strings.Builder, blocks []block, malay bool) {
	for _, b := range blocks {
		switch b.kind {
		case "heading":
			if malay {
				fmt.Fprintf(w, "Kepada: %s\nID Pengguna: %s\n\n", b.label, b.text)
			} else {
				fmt.Fprintf(w, "To: %s\nUser ID: %s\n\n", b.label, b.text)
			}
		case "para":
			w.WriteString(b.text + "\n\n")
		case "kv":
			fmt.Fprintf(w, "%s: %s\n\n", b.label, b.text)
		case "secret":
			// On its own line so it can be copied without surrounding text.
			fmt.Fprintf(w, "%s:\n\n    %s\n\n", b.label, b.text)
		case "steps":
			for i, s := range b.items {
				fmt.Fprintf(w, "  %d. %s\n", i+1, s)
			}
			w.WriteString("\n")
		case "list":
			for _, s := range b.items {
				fmt.Fprintf(w, "  - %s\n", s)
			}
			w.WriteString("\n")
		}
	}
}

var htmlMail = template.Must(template.New("mail").Parse(`<!DOCTYPE html>
<html lang="ms"><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;color:#1a1a1a;max-width:40em">
{{range $p := .Parts}}<div lang="{{$p.Lang}}">
{{range $p.Blocks}}{{if eq .Kind "heading"}}<p><strong>{{$p.To}}:</strong> {{.Label}}<br><strong>{{$p.UserID}}:</strong> {{.Text}}</p>
{{else if eq .Kind "para"}}<p>{{$.Link .Text}}</p>
{{else if eq .Kind "kv"}}<p><strong>{{.Label}}:</strong> {{.Text}}</p>
{{else if eq .Kind "secret"}}<p><strong>{{.Label}}:</strong><br><code style="font-size:18px;padding:4px 8px;background:#f2f2f2;border:1px solid #ccc">{{.Text}}</code></p>
{{else if eq .Kind "steps"}}<ol>{{range .Items}}<li>{{$.Link .}}</li>{{end}}</ol>
{{else if eq .Kind "list"}}<ul>{{range .Items}}<li>{{.}}</li>{{end}}</ul>
{{end}}{{end}}</div>
{{if eq $p.Lang "ms"}}<hr>{{end}}{{end}}<p style="color:#555;font-size:13px">Portal iSPEKS, Kerajaan Negeri Melaka. {{.Footer}}</p>
</body></html>
`))

type htmlBlock struct {
	Kind, Label, Text string
	Items             []string
}

// htmlMailData is what the HTML template renders.
type htmlMailData struct {
	Subject   string
	PortalURL string
	Footer    string
	Parts     []htmlPart
}

type htmlPart struct {
	Lang, To, UserID string
	Blocks           []htmlBlock
}

// Link escapes s and makes the portal's address in it a link (a web
// address only: configuration checks it, this keeps any other scheme out of
// an href).
func (d htmlMailData) Link(s string) template.HTML {
	if u := strings.ToLower(d.PortalURL); !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		return template.HTML(template.HTMLEscapeString(s))
	}
	u := template.HTMLEscapeString(d.PortalURL)
	parts := strings.Split(s, d.PortalURL)
	for i := range parts {
		parts[i] = template.HTMLEscapeString(parts[i])
	}
	return template.HTML(strings.Join(parts, `<a href="`+u+`">`+u+`</a>`))
}

func renderHTML(subject, portalURL, footer string, ms, en []block) (string, error) {
	conv := func(bs []block) []htmlBlock {
		out := make([]htmlBlock, len(bs))
		for i, b := range bs {
			out[i] = htmlBlock{Kind: b.kind, Label: b.label, Text: b.text, Items: b.items}
		}
		return out
	}
	var sb strings.Builder
	err := htmlMail.Execute(&sb, htmlMailData{
		Subject:   subject,
		PortalURL: portalURL,
		Footer:    footer,
		Parts:     []htmlPart{{"ms", "Kepada", "ID Pengguna", conv(ms)}, {"en", "To", "User ID", conv(en)}},
	})
	if err != nil {
		return "", fmt.Errorf("mail: render html: %w", err)
	}
	return sb.String(), nil
}
