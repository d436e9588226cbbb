package mail

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// MailboxEntry is one outbox message in the demo mailbox list.
type MailboxEntry struct {
	ID        string // outbox file ID, for Get
	MessageID string
	Date      time.Time
	From      Address
	To        Address
	Subject   string
}

// MailboxMessage is one message with its decoded bodies.
type MailboxMessage struct {
	MailboxEntry
	Text string
	HTML string
}

// Mailbox reads the outbox for the demo mailbox page (/demo/mailbox). It is
// a query over files; it never changes them.
type Mailbox struct {
	dir string
	log *slog.Logger
}

// NewMailbox reads the outbox directory dir. log may be nil.
func NewMailbox(dir string, log *slog.Logger) *Mailbox {
	if log == nil {
		log = slog.Default()
	}
	return &Mailbox{dir: dir, log: log}
}

var fileIDPattern = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{16}$`)

// List returns every message in the outbox, newest first. Files that cannot
// be parsed are skipped and logged by file name.
func (b *Mailbox) List(ctx context.Context) ([]MailboxEntry, error) {
	entries, err := os.ReadDir(b.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mail: mailbox: %w", err)
	}
	out := make([]MailboxEntry, 0, len(entries))
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		id, ok := strings.CutSuffix(e.Name(), ".eml")
		if !ok || !e.Type().IsRegular() || !fileIDPattern.MatchString(id) {
			continue // temporary files and strangers
		}
		m, err := b.read(id, false)
		if err != nil {
			b.log.WarnContext(ctx, "mailbox: unreadable outbox file", "file", e.Name(), "err", err)
			continue
		}
		out = append(out, m.MailboxEntry)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Date.Equal(out[j].Date) {
			return out[i].Date.After(out[j].Date)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

// Get returns one message with its bodies; ErrNotFound for an unknown or
// malformed ID.
func (b *Mailbox) Get(ctx context.Context, id string) (MailboxMessage, error) {
	if err := ctx.Err(); err != nil {
		return MailboxMessage{}, err
	}
	if !fileIDPattern.MatchString(id) {
		return MailboxMessage{}, ErrNotFound
	}
	m, err := b.read(id, true)
	if errors.Is(err, os.ErrNotExist) {
		return MailboxMessage{}, ErrNotFound
	}
	return m, err
}

func (b *Mailbox) read(id string, bodies bool) (MailboxMessage, error) {
	f, err := os.Open(filepath.Join(b.dir, id+".eml"))
	if err != nil {
		return MailboxMessage{}, err
	}
	defer f.Close()
	m, err := parse(f, bodies)
	if err != nil {
		return MailboxMessage{}, err
	}
	m.ID = id
	return m, nil
}

// Parse reads an RFC 5322 message as the senders of this package write it:
// headers decoded, text and HTML bodies decoded from quoted-printable or
// base64. Its size is limited to 1 MiB.
func Parse(r io.Reader) (MailboxMessage, error) { return parse(r, true) }

const maxMessageSize = 1 << 20

func parse(r io.Reader, bodies bool) (MailboxMessage, error) {
	msg, err := netmail.ReadMessage(io.LimitReader(r, maxMessageSize))
	if err != nil {
		return MailboxMessage{}, fmt.Errorf("mail: parse: %w", err)
	}
	h := msg.Header
	var out MailboxMessage
	dec := new(mime.WordDecoder)
	if out.Subject, err = dec.DecodeHeader(h.Get("Subject")); err != nil {
		return MailboxMessage{}, fmt.Errorf("mail: parse: subject: %w", err)
	}
	out.MessageID = strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>")
	if out.Date, err = h.Date(); err != nil {
		return MailboxMessage{}, fmt.Errorf("mail: parse: date: %w", err)
	}
	if out.From, err = headerAddress(h, "From"); err != nil {
		return MailboxMessage{}, err
	}
	if out.To, err = headerAddress(h, "To"); err != nil {
		return MailboxMessage{}, err
	}
	if !bodies {
		return out, nil
	}
	out.Text, out.HTML, err = readBodies(h.Get("Content-Type"), h.Get("Content-Transfer-Encoding"), msg.Body, 0)
	if err != nil {
		return MailboxMessage{}, err
	}
	return out, nil
}

func headerAddress(h netmail.Header, name string) (Address, error) {
	list, err := h.AddressList(name)
	if err != nil || len(list) == 0 {
		return Address{}, fmt.Errorf("mail: parse: %s: missing or malformed", name)
	}
	return Address{Name: list[0].Name, Email: list[0].Address}, nil
}

// readBodies walks the MIME tree and returns the first text/plain and
// text/html parts.
func readBodies(contentType, encoding string, body io.Reader, depth int) (text, html string, err error) {
	if depth > 4 {
		return "", "", errors.New("mail: parse: MIME nesting too deep")
	}
	if contentType == "" {
		contentType = "text/plain; charset=utf-8"
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", "", fmt.Errorf("mail: parse: content type: %w", err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return text, html, nil
			}
			if err != nil {
				return "", "", fmt.Errorf("mail: parse: multipart: %w", err)
			}
			// NextPart already undoes quoted-printable and drops the header.
			t, h, err := readBodies(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part, depth+1)
			if err != nil {
				return "", "", err
			}
			if text == "" {
				text = t
			}
			if html == "" {
				html = h
			}
		}
	}
	var r io.Reader = body
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, newlineStripper{body})
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return "", "", fmt.Errorf("mail: parse: body: %w", err)
	}
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	switch mediaType {
	case "text/plain":
		return s, "", nil
	case "text/html":
		return "", s, nil
	}
	return "", "", nil
}

// newlineStripper drops CR and LF so base64 lines decode as one stream.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		if k == 0 {
			return 0, err
		}
		k = copy(p, bytes.ReplaceAll(bytes.ReplaceAll(p[:k], []byte{'\r'}, nil), []byte{'\n'}, nil))
		if k > 0 || err != nil {
			return k, err
		}
	}
}
