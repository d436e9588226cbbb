package eventlog

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
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
		validMetadata(&recs[i].Metadata)
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
//
// The chains are unkeyed SHA-256: they show an event changed or removed in
// the middle of its stream, but someone who can rewrite the store can re-seal
// a stream from the changed event on. What detects that is a head recorded
// outside the store (see LogHead) or a backup kept elsewhere.
type ChainVerifier struct {
	last    map[string]string
	version map[string]uint64
	count   uint64

	log        bool // fed a whole log from its first event (NewLogVerifier)
	contiguous bool
	head       LogHead
}

// LogHead is where a whole-log verification ended: the last event's position
// and hash, and Digest, which folds the hash of every event up to it in log
// order (SHA-256 of the previous digest and the event's hash). Recorded
// outside the store, it lets a later verification show the log up to that
// position is the same: an event changed and its stream re-sealed, or events
// removed from the log's end, give another digest or no such position.
type LogHead struct {
	Events   uint64
	Position uint64
	Hash     string
	Digest   string
}

// NewChainVerifier returns a verifier that has seen nothing.
func NewChainVerifier() *ChainVerifier {
	return &ChainVerifier{last: map[string]string{}, version: map[string]uint64{}}
}

// NewLogVerifier returns a verifier for a whole log fed from its first event
// in log order; it keeps the log's head (Head). contiguous: the store
// promises positions 1, 2, 3 … without gaps, so a missing position is a
// removed event, even the last of its stream, which the chains alone cannot
// show.
func NewLogVerifier(contiguous bool) *ChainVerifier {
	c := NewChainVerifier()
	c.log, c.contiguous = true, contiguous
	return c
}

// Head is the head of the log verified so far (NewLogVerifier only).
func (c *ChainVerifier) Head() LogHead { return c.head }

// Add checks one record and returns the broken link if it fails; a record
// that fails is not taken as read (the stream's chain stays where it was).
func (c *ChainVerifier) Add(rec Record) *BrokenLink {
	c.count++
	if b := c.checkPosition(rec); b != nil {
		return b
	}
	if b := c.checkChain(rec); b != nil {
		return b
	}
	if b := c.checkHash(rec); b != nil {
		return b
	}
	c.take(rec)
	return nil
}

// AddPast checks one record, returns every way it fails (none: it
// verifies), and takes it as read whatever it returns: its stream's chain
// and the log's positions go on from it. A whole-log verification that
// carries on past a break then reports each later break once, rather than
// stopping at the first (one real break hid every later one) or flagging
// every event after it. A record is reported at most once for its
// position, once for its place in its stream's chain and once for its
// content.
func (c *ChainVerifier) AddPast(rec Record) []*BrokenLink {
	c.count++
	pos, chain := c.checkPosition(rec), c.checkChain(rec)
	if pos != nil && chain != nil && rec.Position > c.head.Position+1 && rec.Version > c.version[rec.Stream]+1 &&
		rec.Version-c.version[rec.Stream]-1 <= rec.Position-c.head.Position-1 {
		// The missing positions can hold the versions missing from the
		// stream: one removal, already reported by them.
		chain = nil
	}
	var out []*BrokenLink
	for _, b := range []*BrokenLink{pos, chain, c.checkHash(rec)} {
		if b != nil {
			out = append(out, b)
		}
	}
	c.take(rec)
	return out
}

func broken(rec Record, reason string) *BrokenLink {
	return &BrokenLink{Stream: rec.Stream, Version: rec.Version, Position: rec.Position, EventID: rec.ID.String(), Reason: reason}
}

// checkPosition: on a store whose positions have no gaps, rec follows the
// last position seen.
func (c *ChainVerifier) checkPosition(rec Record) *BrokenLink {
	if !c.contiguous || rec.Position == c.head.Position+1 {
		return nil
	}
	if rec.Position <= c.head.Position {
		return broken(rec, fmt.Sprintf("position %d follows position %d (out of order)", rec.Position, c.head.Position))
	}
	missing := fmt.Sprintf("position %d is", c.head.Position+1)
	if rec.Position > c.head.Position+2 {
		missing = fmt.Sprintf("positions %d–%d are", c.head.Position+1, rec.Position-1)
	}
	return broken(rec, missing+" missing from the log (removed: the store's positions have no gaps)")
}

// checkChain: rec is the next version of its stream and names the hash of
// the stream's previous event.
func (c *ChainVerifier) checkChain(rec Record) *BrokenLink {
	if want := c.version[rec.Stream] + 1; rec.Version != want {
		return broken(rec, fmt.Sprintf("version %d follows version %d (an event is missing or out of place)", rec.Version, want-1))
	}
	if rec.Metadata.Prev != c.last[rec.Stream] {
		return broken(rec, "prev does not match the hash of the stream's previous event")
	}
	return nil
}

// checkHash: rec's hash is its content's.
func (c *ChainVerifier) checkHash(rec Record) *BrokenLink {
	if got := Seal(rec); got != rec.Metadata.Hash {
		return broken(rec, "hash does not match the event's content (changed after it was written)")
	}
	return nil
}

// take records rec as its stream's last event and, for a whole log, as
// the head.
func (c *ChainVerifier) take(rec Record) {
	c.last[rec.Stream] = rec.Metadata.Hash
	c.version[rec.Stream] = rec.Version
	if c.log {
		c.head = LogHead{Events: c.head.Events + 1, Position: rec.Position, Hash: rec.Metadata.Hash, Digest: foldDigest(c.head.Digest, rec.Metadata.Hash)}
	}
}

// foldDigest is the next LogHead digest: SHA-256 over the previous digest
// and the event's hash, both as hex text.
func foldDigest(digest, hash string) string {
	var b [128]byte
	in := append(append(b[:0], digest...), hash...)
	sum := sha256.Sum256(in)
	return hex.EncodeToString(sum[:])
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

// validMetadata replaces bytes that are not UTF-8 in m's strings with
// U+FFFD, before the event is sealed and stored. Sealed as given, a byte
// such as 0xFF in a browser's User-Agent was hashed as encoding/json
// writes it ("\ufffd", six characters) but read back from the store as
// the character itself, which encodes as three bytes: an honest event
// then failed its check, and anyone could plant such a "tampered" event
// with one request.
func validMetadata(m *Metadata) {
	for _, s := range [...]*string{&m.CorrelationID, &m.CausationID, &m.Actor.Kind, &m.Actor.ID, &m.SourceIP, &m.UserAgent} {
		if !utf8.ValidString(*s) {
			*s = strings.ToValidUTF8(*s, "\uFFFD")
		}
	}
}
