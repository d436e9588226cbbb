// Package apiclients is the read model of the finance systems' API clients:
// one document per client with its token hash, scopes and revoked flag, for
// bearer authentication and for `ispeks clients list`.
package apiclients

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/melaka-gov/ispeks/domain/apiclient"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/projections"
)

// Collection holds one document per client, ID = client ID.
const Collection = "apiclients"

// Client is one client as the read side sees it.
type Client struct {
	ID            string         `json:"id"`
	Name          string         `json:"name"`
	Scopes        []string       `json:"scopes"`
	TokenHash     string         `json:"token_hash"`
	AddedAt       time.Time      `json:"added_at"`
	AddedBy       eventlog.Actor `json:"added_by"`
	Revoked       bool           `json:"revoked"`
	RevokedAt     *time.Time     `json:"revoked_at,omitempty"`
	RevokedBy     eventlog.Actor `json:"revoked_by,omitzero"`
	RevokedReason string         `json:"revoked_reason,omitempty"`
}

// HasScope reports whether the client holds scope.
func (c Client) HasScope(scope string) bool { return slices.Contains(c.Scopes, scope) }

// Projector builds the collection.
type Projector struct{}

var _ projections.Projector = Projector{}

func (Projector) Name() string { return "apiclients" }

func (Projector) Handles() []string {
	return []string{apiclient.Added{}.EventType(), apiclient.Revoked{}.EventType()}
}

func (Projector) Collections() []projections.CollectionSpec {
	return []projections.CollectionSpec{{Name: Collection, Indexes: []string{"revoked"}}}
}

// Project applies one event. Documents carry the stream version, so a
// repeated event is ignored by the store.
func (Projector) Project(ctx context.Context, b projections.Batch, env eventlog.Envelope) error {
	switch ev := env.Event.(type) {
	case apiclient.Added:
		return put(ctx, b, env.Version, Client{
			ID: ev.ClientID, Name: ev.Name, Scopes: ev.Scopes, TokenHash: ev.TokenHash,
			AddedAt: env.OccurredAt, AddedBy: env.Metadata.Actor,
		})
	case apiclient.Revoked:
		doc, ok, err := b.Get(ctx, Collection, ev.ClientID)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("apiclients: revoke of unknown client %s", ev.ClientID)
		}
		if doc.Version >= env.Version {
			return nil
		}
		var c Client
		if err := json.Unmarshal(doc.Body, &c); err != nil {
			return fmt.Errorf("apiclients: document %s: %w", ev.ClientID, err)
		}
		at := env.OccurredAt
		c.Revoked, c.RevokedAt, c.RevokedBy, c.RevokedReason = true, &at, env.Metadata.Actor, ev.Reason
		return put(ctx, b, env.Version, c)
	}
	return fmt.Errorf("apiclients: unexpected event %s", env.Type)
}

func put(ctx context.Context, b projections.Batch, version uint64, c Client) error {
	body, err := json.Marshal(c)
	if err != nil {
		return err
	}
	revoked := int64(0)
	if c.Revoked {
		revoked = 1
	}
	return b.Put(ctx, Collection, projections.Doc{ID: c.ID, Version: version, Fields: map[string]any{"revoked": revoked}, Body: body})
}

// Queries reads the collection.
type Queries struct {
	Reader projections.Reader
}

// Get returns a client by ID.
func (q Queries) Get(ctx context.Context, id string) (Client, bool, error) {
	doc, ok, err := q.Reader.Get(ctx, Collection, id)
	if err != nil || !ok {
		return Client{}, false, err
	}
	var c Client
	if err := json.Unmarshal(doc.Body, &c); err != nil {
		return Client{}, false, fmt.Errorf("apiclients: document %s: %w", id, err)
	}
	return c, true, nil
}

// ActiveNamed returns the ID and the name, as stored, of the active (not
// revoked) client of name, compared by apiclient.NameKey
// (commands.APIClientNames).
func (q Queries) ActiveNamed(ctx context.Context, name string) (string, string, bool, error) {
	clients, err := q.List(ctx)
	if err != nil {
		return "", "", false, err
	}
	key := apiclient.NameKey(name)
	for _, c := range clients {
		if !c.Revoked && apiclient.NameKey(c.Name) == key {
			return c.ID, c.Name, true, nil
		}
	}
	return "", "", false, nil
}

// List returns every client, by ID. There are a handful of finance systems,
// so it reads all pages.
func (q Queries) List(ctx context.Context) ([]Client, error) {
	var out []Client
	query := projections.Query{Collection: Collection, Limit: 200}
	for {
		page, err := q.Reader.Find(ctx, query)
		if err != nil {
			return nil, err
		}
		for _, d := range page.Docs {
			var c Client
			if err := json.Unmarshal(d.Body, &c); err != nil {
				return nil, fmt.Errorf("apiclients: document %s: %w", d.ID, err)
			}
			out = append(out, c)
		}
		if page.Next == "" {
			return out, nil
		}
		query.After = page.Next
	}
}
