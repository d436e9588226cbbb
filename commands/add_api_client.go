package commands

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/melaka-gov/ispeks/domain/apiclient"
)

// AddAPIClient registers a finance system as an API client. Token is the
// clear token (made by WithNewToken); the handler stores only its hash and
// the caller shows the token once.
type AddAPIClient struct {
	Meta     Meta
	ClientID string // optional; WithNewToken derives one from the command ID
	Name     string
	Scopes   []string
	Token    string
}

// WithNewToken fills in the client ID (derived from the command ID when
// empty, so a retried command names the same client and is refused as a
// duplicate instead of creating a second one) and a fresh random token.
func (c AddAPIClient) WithNewToken() (AddAPIClient, error) {
	if c.ClientID == "" {
		if c.Meta.CommandID == [16]byte{} {
			return c, errors.New("commands: add api client: command has no ID")
		}
		sum := sha256.Sum256(append([]byte("apiclient:"), c.Meta.CommandID[:]...))
		c.ClientID = "c" + hex.EncodeToString(sum[:8])
	}
	tok, err := apiclient.NewToken(c.ClientID, rand.Reader)
	if err != nil {
		return c, err
	}
	c.Token = tok
	return c, nil
}

// AddAPIClientHandler records apiclient.Added, after claiming the client's
// name (apiclient.NameClaimed in apiclient.NameStream): a name an active
// client has is refused with a *apiclient.FieldError on name
// (apiclient.ErrNameTaken). The claim is appended with the version read,
// so of concurrent adds under one name one wins.
type AddAPIClientHandler struct {
	Runner Runner
	// Names, when set, is also asked for an active client of the name
	// (apiclients.Queries): clients added before names were claimed have
	// no claim, so only the read model knows their names. That check is
	// as fresh as the read model; the claim is what holds under
	// concurrency.
	Names APIClientNames
}

// APIClientNames finds the active client of a name (compared by
// apiclient.NameKey).
type APIClientNames interface {
	ActiveNamed(ctx context.Context, name string) (clientID, itsName string, found bool, err error)
}

var _ Handler[AddAPIClient] = AddAPIClientHandler{}

// Handle runs the command.
func (h AddAPIClientHandler) Handle(ctx context.Context, cmd AddAPIClient) (Result, error) {
	if err := apiclient.ValidateID(cmd.ClientID); err != nil {
		return Result{}, err
	}
	id, err := apiclient.ParseToken(cmd.Token)
	if err != nil || id != cmd.ClientID {
		return Result{}, &apiclient.FieldError{Field: "token", Reason: "must be a token made for this client ID"}
	}
	hash := apiclient.HashToken(cmd.Token)
	// Every input is checked before the name is claimed: a refused add
	// claims nothing.
	if err := apiclient.New().Add(cmd.ClientID, cmd.Name, cmd.Scopes, hash, h.Runner.Now()); err != nil {
		return Result{}, err
	}
	if h.Names != nil {
		id, itsName, found, err := h.Names.ActiveNamed(ctx, cmd.Name)
		if err != nil {
			return Result{}, err
		}
		if found && id != cmd.ClientID {
			return Result{}, apiclient.NameTakenBy(id, itsName)
		}
	}
	if _, err := Execute(ctx, h.Runner, apiclient.NameStream(cmd.Name), apiclient.NewNameClaim, cmd.Meta,
		func(n *apiclient.NameClaim, now time.Time) error {
			// Decided again on every conflict: the client of the claim
			// that won is read anew.
			holder := apiclient.HolderGone
			if id := n.ClientID(); id != "" && id != cmd.ClientID {
				c := apiclient.New()
				if _, err := load(ctx, h.Runner, apiclient.Stream(id), c); err != nil {
					return err
				}
				holder = apiclient.HolderOf(c, n.Name())
			}
			return n.Claim(cmd.Name, cmd.ClientID, holder, now)
		}); err != nil {
		return Result{}, err
	}
	return Execute(ctx, h.Runner, apiclient.Stream(cmd.ClientID), apiclient.New, cmd.Meta,
		func(c *apiclient.Client, now time.Time) error {
			return c.Add(cmd.ClientID, cmd.Name, cmd.Scopes, hash, now)
		})
}
