package sqlite

import "testing"

func TestRecentTypesAnswersOnlyForWhatItSaw(t *testing.T) {
	skip := map[string]struct{}{"s.Skipped.v1": {}}
	var r recentTypes
	if r.allSkipped(0, 1, skip) {
		t.Fatal("nothing recorded yet, but answered")
	}
	r.record(1, []string{"s.Skipped.v1", "s.Skipped.v1", "s.Kept.v1", "s.Skipped.v1"})
	for _, c := range []struct {
		after, through uint64
		want           bool
	}{
		{0, 2, true},  // 1 and 2 skipped
		{0, 3, false}, // 3 is kept
		{3, 4, true},  // 4 skipped
		{3, 5, false}, // 5 not committed by this store (yet)
		{4, 4, false}, // an empty range is the caller's business
	} {
		if got := r.allSkipped(c.after, c.through, skip); got != c.want {
			t.Errorf("allSkipped(%d, %d) = %v, want %v", c.after, c.through, got, c.want)
		}
	}

	// Another process committed 5..9: this store's next commit starts at 10,
	// and nothing before it can be answered any more.
	r.record(10, []string{"s.Skipped.v1"})
	if r.allSkipped(3, 10, skip) {
		t.Error("answered across positions another process wrote")
	}
	if !r.allSkipped(9, 10, skip) {
		t.Error("did not answer for its own commit after the gap")
	}

	// Older than the ring holds: forgotten.
	many := make([]string, recentCapacity)
	for i := range many {
		many[i] = "s.Skipped.v1"
	}
	r.record(11, many)
	if r.allSkipped(9, 11, skip) {
		t.Error("answered for a position the ring has overwritten")
	}
	if !r.allSkipped(11, 10+recentCapacity, skip) {
		t.Error("did not answer within the ring")
	}
}
