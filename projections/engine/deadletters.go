package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/projections"
)

// Dead letters are events a projector (or consumer) gave up on. They live in
// one engine collection of the read store; `ispeks projections status` lists
// them.
const (
	deadLetterCollection = "dead_letters"
	// deadLetterWriter is the checkpoint name dead-letter writes go under:
	// they are not part of any projector's batch, so they must not move a
	// projector's checkpoint. Its checkpoint stays 0.
	deadLetterWriter = "engine_dead_letters"
	// maxErrorText bounds the stored error (a recovered panic carries a stack).
	maxErrorText = 4000
)

var deadLetterSpec = projections.CollectionSpec{Name: deadLetterCollection, Indexes: []string{"projector", "position"}}

// DeadLetter is an event a projector or consumer gave up on.
type DeadLetter struct {
	Projector  string    `json:"projector"`
	EventID    string    `json:"event_id"`
	Stream     string    `json:"stream"`
	Version    uint64    `json:"version"`
	Position   uint64    `json:"position"`
	Type       string    `json:"type"`
	Error      string    `json:"error"`
	RecordedAt time.Time `json:"recorded_at"`
}

// deadLetterID is the dead letter's document ID: one per projector and
// event.
func deadLetterID(projector, eventID string) string {
	return projector + "/" + eventID
}

// recordDeadLetter stores a dead letter. Recording the same event again for
// the same projector changes nothing (first record wins).
func (e *Engine) recordDeadLetter(ctx context.Context, projector string, rec eventlog.Record, reason string) (string, error) {
	doc, reason, err := e.deadLetterDoc(projector, rec, reason)
	if err != nil {
		return "", err
	}
	err = e.cfg.Store.Write(ctx, deadLetterWriter, 0, func(b projections.Batch) error {
		return b.Put(ctx, deadLetterCollection, doc)
	})
	if err != nil {
		return "", fmt.Errorf("engine: record dead letter of %s for event %s: %w", projector, rec.ID, err)
	}
	e.deadLettered(projector, rec, reason)
	return doc.ID, nil
}

// deadLetterDoc is the stored form of a dead letter (version 1: the first
// record wins) and the reason as stored.
func (e *Engine) deadLetterDoc(projector string, rec eventlog.Record, reason string) (projections.Doc, string, error) {
	if len(reason) > maxErrorText {
		reason = reason[:maxErrorText] + "…"
	}
	dl := DeadLetter{
		Projector: projector, EventID: rec.ID.String(), Stream: rec.Stream, Version: rec.Version,
		Position: rec.Position, Type: rec.Type, Error: reason, RecordedAt: e.cfg.Now().UTC(),
	}
	body, err := json.Marshal(dl)
	if err != nil {
		return projections.Doc{}, "", err
	}
	return projections.Doc{
		ID:      deadLetterID(projector, rec.ID.String()),
		Version: 1,
		Fields:  map[string]any{"projector": projector, "position": int64(rec.Position)},
		Body:    body,
	}, reason, nil
}

func (e *Engine) deadLettered(projector string, rec eventlog.Record, reason string) {
	e.metrics.deadLetters.WithLabelValues(projector).Inc()
	e.log.Error("event dead-lettered", "projector", projector, "event_id", rec.ID, "type", rec.Type, "position", rec.Position, "err", reason)
}

// ClearDeadLetter deletes the dead letter of event eventID of a projector or
// consumer: an operator dealt with it (the mailer's parked mail was sent
// again, or is no longer worth sending). Clearing one that is not there
// changes nothing.
func (e *Engine) ClearDeadLetter(ctx context.Context, name, eventID string) error {
	if err := e.cfg.Store.Ensure(ctx, deadLetterSpec); err != nil {
		return fmt.Errorf("engine: ensure collections: %w", err)
	}
	err := e.cfg.Store.Write(ctx, deadLetterWriter, 0, func(b projections.Batch) error {
		return b.Delete(ctx, deadLetterCollection, deadLetterID(name, eventID))
	})
	if err != nil {
		return fmt.Errorf("engine: clear dead letter of %s for event %s: %w", name, eventID, err)
	}
	return nil
}

// ReplaceDeadLetter records rec as a dead letter of name, with reason, in
// place of the dead letter of event eventID, in one batch: when the resend
// of a parked mail (the event rec records the resend) is refused again, the
// mail stays one dead letter, now at the resend's position, and no reader
// sees it as two or as none.
func (e *Engine) ReplaceDeadLetter(ctx context.Context, name, eventID string, rec eventlog.Record, reason string) error {
	if err := e.cfg.Store.Ensure(ctx, deadLetterSpec); err != nil {
		return fmt.Errorf("engine: ensure collections: %w", err)
	}
	doc, reason, err := e.deadLetterDoc(name, rec, reason)
	if err != nil {
		return err
	}
	old := deadLetterID(name, eventID)
	err = e.cfg.Store.Write(ctx, deadLetterWriter, 0, func(b projections.Batch) error {
		// Put first: on a store whose batch is not one transaction, a
		// stop between the two leaves both, never neither.
		if err := b.Put(ctx, deadLetterCollection, doc); err != nil || doc.ID == old {
			return err
		}
		return b.Delete(ctx, deadLetterCollection, old)
	})
	if err != nil {
		return fmt.Errorf("engine: replace dead letter of %s for event %s: %w", name, eventID, err)
	}
	e.deadLettered(name, rec, reason)
	return nil
}

// Checkpoint returns the position a projector or consumer has stored as
// handled (0: none).
func (e *Engine) Checkpoint(ctx context.Context, name string) (uint64, error) {
	cp, err := e.cfg.Store.Checkpoint(ctx, name)
	if err != nil {
		return 0, fmt.Errorf("engine: checkpoint of %s: %w", name, err)
	}
	return cp, nil
}

// deadLetterPublisher is the poison queue of Watermill's PoisonQueue
// middleware: what it publishes is recorded as a dead letter of its runner.
type deadLetterPublisher struct{ r *runner }

var _ message.Publisher = deadLetterPublisher{}

func (p deadLetterPublisher) Publish(_ string, msgs ...*message.Message) error {
	for _, msg := range msgs {
		rec, ok := recordOf(msg)
		if !ok {
			return fmt.Errorf("engine: poisoned message %s carries no event-log record", msg.UUID)
		}
		id, err := p.r.e.recordDeadLetter(msg.Context(), p.r.name, rec, msg.Metadata.Get(middleware.ReasonForPoisonedKey))
		if err != nil {
			return err
		}
		if p.r.rebuild {
			p.r.mu.Lock()
			p.r.deadLetters = append(p.r.deadLetters, id)
			p.r.mu.Unlock()
		}
	}
	return nil
}

func (deadLetterPublisher) Close() error { return nil }

// DeadLetters lists the dead letters of one projector or consumer in log
// order, at most limit of them (0: all).
func (e *Engine) DeadLetters(ctx context.Context, projector string, limit int) ([]DeadLetter, error) {
	var out []DeadLetter
	q := projections.Query{
		Collection: deadLetterCollection,
		Where:      map[string]any{"projector": projector},
		SortBy:     "position",
		Limit:      500,
	}
	for {
		page, err := e.cfg.Store.Find(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("engine: list dead letters of %s: %w", projector, err)
		}
		for _, d := range page.Docs {
			var dl DeadLetter
			if err := json.Unmarshal(d.Body, &dl); err != nil {
				return nil, fmt.Errorf("engine: dead letter %s: %w", d.ID, err)
			}
			out = append(out, dl)
			if limit > 0 && len(out) == limit {
				return out, nil
			}
		}
		if page.Next == "" {
			return out, nil
		}
		q.After = page.Next
	}
}

// pruneDeadLetters deletes a projector's dead letters up to position that a
// rebuild did not record again: the events they name were projected fine this
// time (typically the fix the rebuild was run for).
func (e *Engine) pruneDeadLetters(ctx context.Context, projector string, upTo uint64, keep []string) (int, error) {
	all, err := e.DeadLetters(ctx, projector, 0)
	if err != nil {
		return 0, err
	}
	kept := map[string]bool{}
	for _, id := range keep {
		kept[id] = true
	}
	var stale []string
	for _, dl := range all {
		id := deadLetterID(projector, dl.EventID)
		if dl.Position <= upTo && !kept[id] {
			stale = append(stale, id)
		}
	}
	if len(stale) == 0 {
		return 0, nil
	}
	err = e.cfg.Store.Write(ctx, deadLetterWriter, 0, func(b projections.Batch) error {
		for _, id := range stale {
			if err := b.Delete(ctx, deadLetterCollection, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("engine: prune dead letters of %s: %w", projector, err)
	}
	return len(stale), nil
}
