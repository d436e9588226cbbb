// Package mail delivers the portal's e-mail: an SMTP sender (smtp:// with
// STARTTLS, smtps:// with implicit TLS) built on github.com/wneessen/go-mail,
// an outbox sender that writes RFC 5322 .eml files when no SMTP server is
// configured, a reader of that outbox for the demo mailbox page, the
// bilingual (Malay, then English) messages of the account flow, and the
// side-effect consumer that turns account events into sent mail.
package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"
	"time"
	"unicode"

	gomail "github.com/wneessen/go-mail"
)

// Address is a mailbox: a display name and an e-mail address.
type Address struct {
	Name  string
	Email string
}

// String formats the address as in a header ("Name <a@b>").
func (a Address) String() string {
	return (&netmail.Address{Name: a.Name, Address: a.Email}).String()
}

// IsZero reports an unset address.
func (a Address) IsZero() bool { return a.Name == "" && a.Email == "" }

// Message is one e-mail, transport-neutral: the SMTP sender and the outbox
// write exactly the same RFC 5322 bytes for it.
type Message struct {
	// MessageID is the Message-ID without angle brackets. The consumer
	// derives it from the event ID, so a retry after a crash sends a mail
	// the receiving side can recognise as the same one.
	MessageID string
	Date      time.Time
	From      Address
	ReplyTo   Address // optional
	To        Address
	Subject   string
	Text      string // plain-text body (required)
	HTML      string // optional HTML alternative
	// Bounce is the envelope sender (SMTP MAIL FROM, the Return-Path the
	// receiving server records), where a mail that cannot be delivered is
	// reported. Optional: empty, it is From, often a no-reply mailbox
	// nobody reads. It is not a header; the outbox file does not show it.
	Bounce string
	// Occurred is when what the mail tells of happened (its event's
	// time); Date is when it is sent. The outbox names the file by
	// Occurred, so the same mail written again (after a crash, or resent)
	// replaces its file. Zero: Date.
	Occurred time.Time
}

// Errors of the package. A Sender wraps ErrRejected when the server refused
// the message for good (an unknown recipient): retrying would not help; and
// ErrDeferred when it refused this recipient or message for now (a full
// mailbox): a later try may pass, but other mails need not wait for it.
var (
	ErrInvalidMessage = errors.New("mail: invalid message")
	ErrRejected       = errors.New("mail: rejected by the mail server")
	ErrDeferred       = errors.New("mail: refused for now by the mail server")
	ErrNotFound       = errors.New("mail: message not found")
)

// Sender delivers one message. Implementations are safe for concurrent use.
// A nil error means the message was handed over (to the SMTP server, or
// durably written to the outbox).
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Validate checks every field a sender relies on; the error names the field
// and the reason.
func (m Message) Validate() error {
	bad := func(field, reason string) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidMessage, field, reason)
	}
	if err := validMessageID(m.MessageID); err != nil {
		return bad("message_id", err.Error())
	}
	if m.Date.IsZero() {
		return bad("date", "missing")
	}
	if err := validAddress(m.From, true); err != nil {
		return bad("from", err.Error())
	}
	if !m.ReplyTo.IsZero() {
		if err := validAddress(m.ReplyTo, true); err != nil {
			return bad("reply_to", err.Error())
		}
	}
	if err := validAddress(Address{Email: m.Bounce}, false); err != nil {
		return bad("bounce", err.Error())
	}
	if err := validAddress(m.To, true); err != nil {
		return bad("to", err.Error())
	}
	if strings.TrimSpace(m.Subject) == "" {
		return bad("subject", "missing")
	}
	if hasControl(m.Subject, false) {
		return bad("subject", "contains control characters")
	}
	if strings.TrimSpace(m.Text) == "" {
		return bad("text", "missing")
	}
	return nil
}

func validMessageID(id string) error {
	left, right, ok := strings.Cut(id, "@")
	if !ok || left == "" || right == "" || strings.Contains(right, "@") {
		return errors.New("want local@domain")
	}
	for _, r := range id {
		if r <= ' ' || r > '~' || r == '<' || r == '>' {
			return errors.New("only printable ASCII without spaces or angle brackets")
		}
	}
	if len(id) > 200 {
		return errors.New("longer than 200 characters")
	}
	return nil
}

func validAddress(a Address, required bool) error {
	if a.Email == "" {
		if required {
			return errors.New("e-mail address missing")
		}
		return nil
	}
	if hasControl(a.Name, false) {
		return errors.New("name contains control characters")
	}
	parsed, err := netmail.ParseAddress(a.Email)
	if err != nil || parsed.Address != a.Email || parsed.Name != "" {
		return fmt.Errorf("%q is not a plain e-mail address", a.Email)
	}
	return nil
}

// hasControl reports control characters (CR and LF would inject headers).
func hasControl(s string, allowNewlines bool) bool {
	for _, r := range s {
		if allowNewlines && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// build turns a Message into a go-mail message: UTF-8, quoted-printable,
// text/plain with an optional text/html alternative.
func build(m Message) (*gomail.Msg, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	g := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	// Validate checked the addresses; net/mail quotes and encodes the names
	// (go-mail's *Format methods paste a name between double quotes, so a
	// name with a quote or ending in a backslash would not parse).
	g.FromMailAddress(&netmail.Address{Name: m.From.Name, Address: m.From.Email})
	if m.Bounce != "" {
		if err := g.EnvelopeFrom(m.Bounce); err != nil {
			return nil, fmt.Errorf("%w: bounce: %v", ErrInvalidMessage, err)
		}
	}
	g.AddToMailAddress(&netmail.Address{Name: m.To.Name, Address: m.To.Email})
	if !m.ReplyTo.IsZero() {
		g.ReplyToMailAddress(&netmail.Address{Name: m.ReplyTo.Name, Address: m.ReplyTo.Email})
	}
	g.Subject(m.Subject)
	g.SetMessageIDWithValue(m.MessageID)
	g.SetDateWithValue(m.Date)
	// Automatic mail: ask auto-responders (out-of-office) not to answer it.
	g.SetGenHeader("Auto-Submitted", "auto-generated")
	g.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	g.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		g.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return g, nil
}

// Render returns the RFC 5322 bytes of m, as the outbox stores them.
func Render(m Message) ([]byte, error) {
	g, err := build(m)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := g.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("mail: render %s: %w", m.MessageID, err)
	}
	return buf.Bytes(), nil
}

// ParseAddress reads a configured address such as
// "iSPEKS <no-reply@ispeks.melaka.gov.my>" or a bare address.
func ParseAddress(s string) (Address, error) {
	a, err := netmail.ParseAddress(s)
	if err != nil {
		return Address{}, fmt.Errorf("mail: address %q: %w", s, err)
	}
	return Address{Name: a.Name, Email: a.Address}, nil
}
