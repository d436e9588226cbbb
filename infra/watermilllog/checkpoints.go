package watermilllog

import (
	"context"

	"github.com/melaka-gov/ispeks/projections"
)

// CheckpointStore is the slice of the read-store port that keeps checkpoints.
type CheckpointStore interface {
	Checkpoint(ctx context.Context, projector string) (uint64, error)
	Write(ctx context.Context, projector string, checkpoint uint64, fn func(projections.Batch) error) error
}

// ReadStoreCheckpoints keeps consumer checkpoints in the read store, beside
// the projectors' ones. It is both Checkpoints and CheckpointSaver.
type ReadStoreCheckpoints struct{ Store CheckpointStore }

var (
	_ Checkpoints     = ReadStoreCheckpoints{}
	_ CheckpointSaver = ReadStoreCheckpoints{}
)

// Checkpoint returns the stored position of consumer (0: none).
func (c ReadStoreCheckpoints) Checkpoint(ctx context.Context, consumer string) (uint64, error) {
	return c.Store.Checkpoint(ctx, consumer)
}

// SaveCheckpoint stores position as consumer's checkpoint.
func (c ReadStoreCheckpoints) SaveCheckpoint(ctx context.Context, consumer string, position uint64) error {
	return c.Store.Write(ctx, consumer, position, func(projections.Batch) error { return nil })
}
