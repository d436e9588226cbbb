package security

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// MasterKeySize is the size of the one secret the portal keeps; every other
// key (sealing, keyed hashes) is derived from it with HKDF-SHA256 and a
// purpose label, so one file or setting is all an operator backs up.
const MasterKeySize = 32

// ErrKey reports a master key that is missing, malformed or exposed.
var ErrKey = errors.New("security: master key")

// ParseMasterKey reads a key given in configuration: 64 hex digits or
// standard/URL base64 of 32 bytes.
func ParseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == MasterKeySize {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == MasterKeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("%w: must be %d bytes as 64 hex digits or base64", ErrKey, MasterKeySize)
}

// LoadOrCreateMasterKey reads the key file at path, or creates it (0600,
// 32 random bytes as hex) if it does not exist — on first start, under the
// data directory. A key file readable by group or others is refused: it
// protects every sealed secret in the log.
func LoadOrCreateMasterKey(path string) ([]byte, error) {
	key, err := readKeyFile(path, ReadOptions{})
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	key = make([]byte, MasterKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("%w: random: %v", ErrKey, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it first; use theirs.
		return readKeyFile(path, ReadOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("%w: create %s: %v", ErrKey, path, err)
	}
	_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("%w: write %s: %v", ErrKey, path, err)
	}
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		_ = dir.Sync()
		_ = dir.Close()
	}
	return key, nil
}

// ReadOptions says how ReadMasterKey treats the key file.
type ReadOptions struct {
	// ReadOnlyUse is set by a caller that only reads what the key sealed
	// (the audit commands, over a copy of the log). A key file readable by
	// group or others is then loaded with a warning to Logger rather than
	// refused: such a copy is often on read-only media or owned by someone
	// else, where the auditor cannot chmod it, and refusing would stop the
	// audit while protecting nothing, the key being as exposed as it is.
	// The portal and the commands that write never set it: they must not
	// run with an exposed key.
	ReadOnlyUse bool
	// Logger receives that warning; nil is slog.Default().
	Logger *slog.Logger
}

// ReadMasterKey reads the key file at path, which must exist: it never
// creates one (a key made up for a copy of the log would open none of its
// sealed secrets). A key file readable by group or others is refused
// unless opts.ReadOnlyUse.
func ReadMasterKey(path string, opts ReadOptions) ([]byte, error) {
	key, err := readKeyFile(path, opts)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return key, err
}

func readKeyFile(path string, opts ReadOptions) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if mode := st.Mode().Perm(); mode&0o077 != 0 {
		if !opts.ReadOnlyUse {
			return nil, fmt.Errorf("%w: %s is readable by others (mode %04o); run chmod 600 on it", ErrKey, path, mode)
		}
		logger := opts.Logger
		if logger == nil {
			logger = slog.Default()
		}
		logger.Warn("master key file is readable by group or others; loaded only because this command writes nothing (the portal refuses it: run chmod 600 on the install's key)",
			"path", path, "mode", fmt.Sprintf("%04o", mode))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %v", ErrKey, path, err)
	}
	key, err := ParseMasterKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return key, nil
}

// derive returns the subkey of master for purpose.
func derive(master []byte, purpose string) ([]byte, error) {
	if len(master) != MasterKeySize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrKey, len(master), MasterKeySize)
	}
	return hkdf.Key(sha256.New, master, nil, "ispeks/"+purpose, 32)
}

// DeriveKey derives a 32-byte key for one purpose from the master key
// (HKDF-SHA256), e.g. the HMAC key of document verification codes, so every
// component has its own key and the master key never leaves this package.
func DeriveKey(master []byte, purpose string) ([]byte, error) { return derive(master, purpose) }
