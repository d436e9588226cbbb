package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/apiclient"
)

// RevokeAPIClient ends a client's access for good.
type RevokeAPIClient struct {
	Meta     Meta
	ClientID string
	Reason   string // optional
}

// RevokeAPIClientHandler records apiclient.Revoked.
type RevokeAPIClientHandler struct {
	Runner Runner
}

var _ Handler[RevokeAPIClient] = RevokeAPIClientHandler{}

// Handle runs the command. Revoking an unknown client gives
// apiclient.ErrNotFound; revoking twice gives apiclient.ErrRevoked.
func (h RevokeAPIClientHandler) Handle(ctx context.Context, cmd RevokeAPIClient) (Result, error) {
	if err := apiclient.ValidateID(cmd.ClientID); err != nil {
		return Result{}, err
	}
	return Execute(ctx, h.Runner, apiclient.Stream(cmd.ClientID), apiclient.New, cmd.Meta,
		func(c *apiclient.Client, now time.Time) error {
			return c.Revoke(cmd.Reason, now)
		})
}
