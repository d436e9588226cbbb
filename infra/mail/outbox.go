package mail

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// Outbox "sends" by writing each message as an RFC 5322 .eml file into a
// directory (data/outbox/ by default), for running without a mail server.
// Files appear atomically: written to a temporary name, synced, renamed.
// The file name derives from the message's date and Message-ID, so sending
// the same message again replaces its file instead of adding a second one.
type Outbox struct {
	dir string
}

// NewOutbox returns an outbox writing into dir, creating it (0700: the
// files hold temporary passwords) if missing.
func NewOutbox(dir string) (*Outbox, error) {
	if dir == "" {
		return nil, fmt.Errorf("mail: outbox: directory not configured")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mail: outbox: %w", err)
	}
	return &Outbox{dir: dir}, nil
}

// Dir is the outbox directory.
func (o *Outbox) Dir() string { return o.dir }

// FileID is the outbox file name (without .eml) of a message: the UTC time
// it tells of (Occurred, else Date) for ordering, then a digest of its
// Message-ID for identity.
func FileID(m Message) string {
	sum := sha256.Sum256([]byte(m.MessageID))
	at := m.Occurred
	if at.IsZero() {
		at = m.Date
	}
	return at.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(sum[:8])
}

// Send writes m to the outbox.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	raw, err := Render(m)
	if err != nil {
		return err
	}
	final := filepath.Join(o.dir, FileID(m)+".eml")
	tmp, err := os.CreateTemp(o.dir, ".tmp-*.eml")
	if err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(raw); err != nil {
		return fmt.Errorf("mail: outbox: write: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("mail: outbox: sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("mail: outbox: close: %w", err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return fmt.Errorf("mail: outbox: rename: %w", err)
	}
	ok = true
	// Sync the directory so the rename survives a power cut; the consumer
	// moves its checkpoint only after Send returns.
	if d, err := os.Open(o.dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// NewSender picks the transport from configuration: SMTP when smtpURL is
// set (smtp:// or smtps://), otherwise the outbox in outboxDir. tlsConfig
// may be nil (system roots).
func NewSender(smtpURL, outboxDir string, tlsConfig *tls.Config) (Sender, error) {
	if smtpURL != "" {
		return NewSMTPSender(smtpURL, tlsConfig)
	}
	return NewOutbox(outboxDir)
}
