// Package apiclient is the API client aggregate: a finance system (payroll,
// payments) that calls the JSON API with a bearer token and a set of
// scopes. Only a hash of the token is ever stored. Stream: apiclient-<id>.
package apiclient

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/textfield"
)

// Scopes a client can hold.
const (
	ScopeEmployeesWrite  = "employees:write"
	ScopePaymentsWrite   = "payments:write"
	ScopeStatementsWrite = "statements:write"
	ScopeEventsRead      = "events:read"
)

// Scopes lists every scope.
func Scopes() []string {
	return []string{ScopeEmployeesWrite, ScopePaymentsWrite, ScopeStatementsWrite, ScopeEventsRead}
}

// ValidScope reports whether s is a known scope.
func ValidScope(s string) bool { return slices.Contains(Scopes(), s) }

// Limits.
const (
	MaxName   = 100
	MaxReason = 500
)

// Errors of the aggregate.
var (
	ErrInvalid       = errors.New("apiclient: invalid input")
	ErrAlreadyExists = errors.New("apiclient: client already exists")
	ErrNotFound      = errors.New("apiclient: no such client")
	ErrRevoked       = errors.New("apiclient: client is revoked")
	// ErrNameTaken: an active client has the name already (a *FieldError
	// on name, which is ErrInvalid too).
	ErrNameTaken = errors.New("apiclient: name taken")
)

// FieldError names the input field that is wrong and why.
type FieldError struct {
	Field  string
	Reason string
	kind   error // a sentinel it is besides ErrInvalid, or nil
}

func (e *FieldError) Error() string { return "apiclient: " + e.Field + ": " + e.Reason }

// Is makes errors.Is(err, ErrInvalid) true (and ErrNameTaken for a taken
// name).
func (e *FieldError) Is(target error) bool {
	return target == ErrInvalid || (e.kind != nil && target == e.kind)
}

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// The client ID appears inside the token (isp_<id>_<secret>), so it has no
// underscore.
var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{2,39}$`)

// ValidateID checks a client ID: 3 to 40 lower-case letters, digits or
// dashes, starting with a letter or digit.
func ValidateID(id string) error {
	if id == "" {
		return fieldErr("client_id", "is required")
	}
	if !idPattern.MatchString(id) {
		return fieldErr("client_id", "must be 3 to 40 lower-case letters, digits or dashes, starting with a letter or digit")
	}
	return nil
}

// Stream is the stream of a client.
func Stream(id string) string { return "apiclient-" + id }

// NormalizeScopes checks scopes and returns them sorted without repeats.
func NormalizeScopes(scopes []string) ([]string, error) {
	if len(scopes) == 0 {
		return nil, fieldErr("scopes", "at least one is required; one of %s", strings.Join(Scopes(), ", "))
	}
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		s = strings.TrimSpace(s)
		if !ValidScope(s) {
			return nil, fieldErr("scopes", "unknown scope %q; one of %s", textfield.Clip(s), strings.Join(Scopes(), ", "))
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out, nil
}

// hasControl reports a control character, a line or paragraph separator,
// or a direction embedding, override or isolate (U+202A–U+202E,
// U+2066–U+2069), as the web forms do: 'clients list' prints names and
// reasons on a terminal, where these break the line or turn the rest of it
// around. Bytes that are not UTF-8 are refused before it: JSON would store
// them as U+FFFD, so the event would not hold the text given.
func hasControl(s string) bool {
	return strings.IndexFunc(s, textfield.Hidden) >= 0 || (strings.TrimSpace(s) != "" && !textfield.Visible(s))
}

// Added: a client was registered with a token whose SHA-256 is TokenHash.
type Added struct {
	ClientID  string   `json:"client_id"`
	Name      string   `json:"name"`
	Scopes    []string `json:"scopes"`
	TokenHash string   `json:"token_hash"`
}

func (Added) EventType() string { return "apiclient.Added.v1" }

// Revoked: the client's token no longer authenticates. Final.
type Revoked struct {
	ClientID string `json:"client_id"`
	Reason   string `json:"reason,omitempty"`
}

func (Revoked) EventType() string { return "apiclient.Revoked.v1" }

// Register adds the aggregate's event types to reg.
func Register(reg *eventlog.Registry) {
	eventlog.Register[Added](reg)
	eventlog.Register[Revoked](reg)
	eventlog.Register[NameClaimed](reg)
}

// Client is the aggregate.
type Client struct {
	eventlog.Changes
	id        string
	name      string
	scopes    []string
	tokenHash string
	added     bool
	revoked   bool
}

// New returns an empty client, to be filled by Apply or Add.
func New() *Client { return &Client{} }

func (c *Client) ID() string        { return c.id }
func (c *Client) Name() string      { return c.name }
func (c *Client) Scopes() []string  { return slices.Clone(c.scopes) }
func (c *Client) TokenHash() string { return c.tokenHash }
func (c *Client) Exists() bool      { return c.added }
func (c *Client) Revoked() bool     { return c.revoked }

// Add registers the client. tokenHash is HashToken of a token made by
// NewToken for this ID; the clear token never reaches the aggregate.
func (c *Client) Add(id, name string, scopes []string, tokenHash string, now time.Time) error {
	if c.added {
		return ErrAlreadyExists
	}
	if err := ValidateID(id); err != nil {
		return err
	}
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return fieldErr("name", "is required")
	case !utf8.ValidString(name):
		return fieldErr("name", "is not valid UTF-8")
	case len([]rune(name)) > MaxName:
		return fieldErr("name", "is longer than %d characters", MaxName)
	case hasControl(name):
		return fieldErr("name", "contains control characters")
	}
	sc, err := NormalizeScopes(scopes)
	if err != nil {
		return err
	}
	if !validHash(tokenHash) {
		return fieldErr("token_hash", "must be a hex SHA-256")
	}
	return c.record(Added{ClientID: id, Name: name, Scopes: sc, TokenHash: tokenHash})
}

// Revoke ends the client's access for good.
func (c *Client) Revoke(reason string, now time.Time) error {
	if !c.added {
		return ErrNotFound
	}
	if c.revoked {
		return ErrRevoked
	}
	reason = strings.TrimSpace(reason)
	switch {
	case !utf8.ValidString(reason):
		return fieldErr("reason", "is not valid UTF-8")
	case len([]rune(reason)) > MaxReason:
		return fieldErr("reason", "is longer than %d characters", MaxReason)
	case hasControl(reason):
		return fieldErr("reason", "contains control characters")
	}
	return c.record(Revoked{ClientID: c.id, Reason: reason})
}

func (c *Client) record(e eventlog.Event) error {
	if err := c.Apply(e); err != nil {
		return err
	}
	c.Changes.Add(e)
	return nil
}

// Apply rebuilds state from one event.
func (c *Client) Apply(e eventlog.Event) error {
	switch e := e.(type) {
	case Added:
		if c.added {
			return fmt.Errorf("apiclient: %s added twice", e.ClientID)
		}
		c.id, c.name, c.scopes, c.tokenHash, c.added = e.ClientID, e.Name, slices.Clone(e.Scopes), e.TokenHash, true
	case Revoked:
		if !c.added {
			return fmt.Errorf("apiclient: %s revoked before it was added", e.ClientID)
		}
		c.revoked = true
	default:
		return fmt.Errorf("apiclient: cannot apply %T", e)
	}
	return nil
}
