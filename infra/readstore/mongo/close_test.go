package mongo_test

import (
	"context"
	"testing"

	rsmongo "github.com/melaka-gov/ispeks/infra/readstore/mongo"
	"github.com/melaka-gov/ispeks/infra/readstore/readstoretest"
)

// Close waits for a read in progress, held between resolving its
// collection and sending its query: without the wait the query went to a
// client disconnected under it ("client is disconnected").
func TestCloseWaitsForTheReadsInProgress(t *testing.T) {
	uri, db, _ := scratchDB(t, "closeread_")
	s, err := rsmongo.Open(context.Background(), uri, db)
	if err != nil {
		t.Fatal(err)
	}
	readstoretest.CloseWaitsForReads(t, s, readstoretest.CloseHooks{
		HoldReads: s.SetMidRead,
		Closing:   s.Closing,
		ErrClosed: rsmongo.ErrClosed,
	})
}
