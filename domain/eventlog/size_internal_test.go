package eventlog

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The size check is exact near the limit, whatever the metadata holds:
// events just under and just over MaxEventSize (data plus encoded metadata).
func TestValidateProposedSizeLimitCountsEncodedMetadata(t *testing.T) {
	meta := Metadata{CorrelationID: strings.Repeat("\u0001", 300), Actor: Actor{Kind: ActorUser, ID: "u1"}, UserAgent: "agent <x>"}
	encoded, err := json.Marshal(meta)
	if err != nil {
		t.Fatal(err)
	}
	data := func(n int) json.RawMessage { // a JSON string of exactly n bytes
		return json.RawMessage(`"` + strings.Repeat("a", n-2) + `"`)
	}
	p := Proposed{ID: uuid.New(), Type: "test.Happened.v1", OccurredAt: time.Now(), Metadata: meta}
	p.Data = data(MaxEventSize - len(encoded))
	if err := ValidateProposed(p); err != nil {
		t.Errorf("event of exactly MaxEventSize bytes: %v", err)
	}
	p.Data = data(MaxEventSize - len(encoded) + 1)
	if err := ValidateProposed(p); !errors.Is(err, ErrEventTooLarge) {
		t.Errorf("event one byte over MaxEventSize: %v, want ErrEventTooLarge", err)
	}
	if bound := metadataSizeBound(meta); bound < len(encoded) {
		t.Errorf("bound %d is below the encoded size %d", bound, len(encoded))
	}
}
