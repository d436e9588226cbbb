package eventlog

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// sealReference is Seal as first written (every field into a hash.Hash,
// the metadata through encoding/json): the chains already stored were
// sealed by it, so Seal must give the same hash for every record.
func sealReference(rec Record) string {
	h := sha256.New()
	meta := rec.Metadata
	meta.Hash = ""
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		panic(err)
	}
	write := func(h hash.Hash, b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	write(h, []byte("ispeks.event.v1"))
	write(h, []byte(meta.Prev))
	write(h, []byte(rec.Stream))
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], rec.Version)
	write(h, v[:])
	write(h, rec.ID[:])
	write(h, []byte(rec.Type))
	write(h, []byte(rec.OccurredAt.UTC().Format(time.RFC3339Nano)))
	write(h, rec.Data)
	write(h, metaJSON)
	return hex.EncodeToString(h.Sum(nil))
}

func TestSealMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	pieces := []string{"", "a", "batch-1", "payroll", "client", "10.0.0.1", "Mozilla/5.0 (X11)", "<b>", "&", "\"q\"", `back\slash`, "tab\t", "é", "\u2028", "\xff", strings.Repeat("x", 3000)}
	pick := func() string {
		var b strings.Builder
		for range r.Intn(3) {
			b.WriteString(pieces[r.Intn(len(pieces))])
		}
		return b.String()
	}
	for i := range 20000 {
		rec := Record{
			ID:         uuid.New(),
			Stream:     "statement-SG-" + pick(),
			Version:    uint64(r.Int63()),
			Type:       "statement.Issued.v1",
			OccurredAt: time.Unix(r.Int63n(1<<33), r.Int63n(1e9)).In(time.FixedZone("x", 3600)),
			Data:       json.RawMessage(`{"k":"` + pick() + `"}`),
			Metadata: Metadata{CorrelationID: pick(), CausationID: pick(), Actor: Actor{Kind: pick(), ID: pick()},
				SourceIP: pick(), UserAgent: pick(), Prev: pick(), Hash: pick()},
		}
		if got, want := Seal(rec), sealReference(rec); got != want {
			t.Fatalf("record %d %+v: Seal %s, reference %s", i, rec.Metadata, got, want)
		}
	}
}

func BenchmarkSeal(b *testing.B) {
	rec := Record{ID: uuid.New(), Stream: "statement-SG-2025-02-000001", Version: 1, Type: "statement.Issued.v1",
		OccurredAt: time.Now(), Data: json.RawMessage(`{"statement_id":"SG-2025-02-000001","payee":{"name":"Siti"}}`),
		Metadata: Metadata{CorrelationID: "batch-1", CausationID: uuid.NewString(), Actor: Actor{Kind: "client", ID: "payroll"}}}
	for b.Loop() {
		Seal(rec)
	}
}
