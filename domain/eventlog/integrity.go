package eventlog

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Seal computes an event's integrity hash: SHA-256 over the previous event's
// hash in the same stream and every stored field of this one except its global
// position (assigned by the store after the hash is fixed) and the hash itself.
// Fields are length-prefixed so no two different events hash alike by moving
// bytes from one field to the next.
func Seal(rec Record) string {
	meta := rec.Metadata
	meta.Hash = ""
	// One buffer hashed at once: the fields written one by one into a
	// hash.Hash each escaped to the heap (every event is sealed on append
	// and again on every audit).
	var stack [2048]byte
	b := stack[:0]
	b = appendField(b, "ispeks.event.v1")
	b = appendField(b, meta.Prev)
	b = appendField(b, rec.Stream)
	b = binary.BigEndian.AppendUint64(b, 8)
	b = binary.BigEndian.AppendUint64(b, rec.Version)
	b = appendField(b, rec.ID[:])
	b = appendField(b, rec.Type)
	var ts [64]byte
	b = appendField(b, rec.OccurredAt.UTC().AppendFormat(ts[:0], time.RFC3339Nano))
	b = appendField(b, rec.Data)
	b = binary.BigEndian.AppendUint64(b, 0) // the metadata's length, set below
	at := len(b)
	b = appendMetaJSON(b, &meta)
	binary.BigEndian.PutUint64(b[at-8:at], uint64(len(b)-at))
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// appendField appends b length-prefixed.
func appendField[T ~string | ~[]byte](dst []byte, b T) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(len(b)))
	return append(dst, b...)
}

// appendMetaJSON appends m as encoding/json marshals it. Values it would
// escape (quotes, control characters, <>&, anything not ASCII) take
// encoding/json itself, so the bytes are always the same.
func appendMetaJSON(b []byte, m *Metadata) []byte {
	for _, s := range [...]string{m.CorrelationID, m.CausationID, m.Actor.Kind, m.Actor.ID, m.SourceIP, m.UserAgent, m.Prev, m.Hash} {
		if !plainJSON(s) {
			out, err := json.Marshal(m)
			if err != nil {
				panic(err) // Metadata is plain strings: marshalling cannot fail
			}
			return append(b, out...)
		}
	}
	b = append(b, '{')
	sep := false
	b, sep = appendMember(b, sep, `"correlation_id":`, m.CorrelationID, true)
	b, sep = appendMember(b, sep, `"causation_id":`, m.CausationID, true)
	if sep {
		b = append(b, ',')
	}
	b = append(b, `"actor":{`...)
	b, sep = appendMember(b, false, `"kind":`, m.Actor.Kind, false)
	b, _ = appendMember(b, sep, `"id":`, m.Actor.ID, true)
	b = append(b, '}')
	b, _ = appendMember(b, true, `"source_ip":`, m.SourceIP, true)
	b, _ = appendMember(b, true, `"user_agent":`, m.UserAgent, true)
	b, _ = appendMember(b, true, `"prev":`, m.Prev, true)
	b, _ = appendMember(b, true, `"hash":`, m.Hash, true)
	return append(b, '}')
}

func appendMember(b []byte, sep bool, key, val string, omitEmpty bool) ([]byte, bool) {
	if omitEmpty && val == "" {
		return b, sep
	}
	if sep {
		b = append(b, ',')
	}
	b = append(b, key...)
	b = append(b, '"')
	b = append(b, val...)
	return append(b, '"'), true
}

// plainJSON reports whether encoding/json writes s between quotes as it is.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= 0x80 {
			return false
		}
	}
	return true
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
