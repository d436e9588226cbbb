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

// AddAPIClientHandler records apiclient.Added.
type AddAPIClientHandler struct {
	Runner Runner
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
	return Execute(ctx, h.Runner, apiclient.Stream(cmd.ClientID), apiclient.New, cmd.Meta,
		func(c *apiclient.Client, now time.Time) error {
			return c.Add(cmd.ClientID, cmd.Name, cmd.Scopes, hash, now)
		})
}
