package eventlog

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"time"
)

// Seal computes an event's integrity hash: SHA-256 over the previous event's
// hash in the same stream and every stored field of this one except its global
// position (assigned by the store after the hash is fixed) and the hash itself.
// Fields are length-prefixed so no two different events hash alike by moving
// bytes from one field to the next.
func Seal(rec Record) string {
	h := sha256.New()
	meta := rec.Metadata
	meta.Hash = ""
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		panic(err) // Metadata is plain strings: marshalling cannot fail
	}
	writeField(h, []byte("ispeks.event.v1"))
	writeField(h, []byte(meta.Prev))
	writeField(h, []byte(rec.Stream))
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], rec.Version)
	writeField(h, v[:])
	writeField(h, rec.ID[:])
	writeField(h, []byte(rec.Type))
	writeField(h, []byte(rec.OccurredAt.UTC().Format(time.RFC3339Nano)))
	writeField(h, rec.Data)
	writeField(h, metaJSON)
	return hex.EncodeToString(h.Sum(nil))
}

func writeField(h hash.Hash, b []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(b)))
	h.Write(n[:])
	h.Write(b)
}

// Chain fills in Prev and Hash of events about to be appended to a stream
// whose last event has hash prev ("" for a new stream). Records must carry
// their stream, version, ID, type, time and data already.
func Chain(prev string, recs []Record) {
	for i := range recs {
		recs[i].Metadata.Prev = prev
		recs[i].Metadata.Hash = ""
		recs[i].Metadata.Hash = Seal(recs[i])
		prev = recs[i].Metadata.Hash
	}
}

// BrokenLink is the first place where a stream's integrity chain fails.
type BrokenLink struct {
	Stream   string
	Version  uint64
	Position uint64
	EventID  string
	Reason   string
}

func (b *BrokenLink) Error() string {
	return fmt.Sprintf("eventlog: integrity broken in stream %q at version %d (position %d, event %s): %s",
		b.Stream, b.Version, b.Position, b.EventID, b.Reason)
}

// ChainVerifier checks integrity over records fed to it in log order, across
// any number of streams. It keeps only the last hash and version per stream.
type ChainVerifier struct {
	last    map[string]string
	version map[string]uint64
	count   uint64
}

// NewChainVerifier returns a verifier that has seen nothing.
func NewChainVerifier() *ChainVerifier {
	return &ChainVerifier{last: map[string]string{}, version: map[string]uint64{}}
}

// Add checks one record and returns the broken link if it fails.
func (c *ChainVerifier) Add(rec Record) *BrokenLink {
	c.count++
	broken := func(reason string) *BrokenLink {
		return &BrokenLink{Stream: rec.Stream, Version: rec.Version, Position: rec.Position, EventID: rec.ID.String(), Reason: reason}
	}
	if want := c.version[rec.Stream] + 1; rec.Version != want {
		return broken(fmt.Sprintf("version %d follows version %d (an event is missing or out of place)", rec.Version, want-1))
	}
	if rec.Metadata.Prev != c.last[rec.Stream] {
		return broken("prev does not match the hash of the stream's previous event")
	}
	if got := Seal(rec); got != rec.Metadata.Hash {
		return broken("hash does not match the event's content (changed after it was written)")
	}
	c.last[rec.Stream] = rec.Metadata.Hash
	c.version[rec.Stream] = rec.Version
	return nil
}

// Verified is how many records Add has accepted or refused so far.
func (c *ChainVerifier) Verified() uint64 { return c.count }

// VerifyStream checks one stream read forwards from its first event and
// returns the first broken link, or nil.
func VerifyStream(recs []Record) *BrokenLink {
	v := NewChainVerifier()
	for _, r := range recs {
		if b := v.Add(r); b != nil {
			return b
		}
	}
	return nil
}
