package commands

import (
	"strconv"

	"github.com/google/uuid"
)

// clientRequests is the UUID namespace of client request IDs.
var clientRequests = uuid.MustParse("5b0f6c1e-2f4a-5d59-9a53-7c1d2e0b8a11")

// ClientCommandID derives the command ID of a finance system's request from
// the client's ID and the request ID it chose, so a repeated request is the
// same command and appends nothing new. A request ID is unique per client
// and record: the same one on two records is the same command ID on two
// streams, which the aggregates (one per record) see as two commands, and
// whose events still get IDs of their own (EventID takes the stream).
func ClientCommandID(clientID, requestID string) uuid.UUID {
	// The client ID is length-prefixed so no two (client, request) pairs
	// give the same name.
	return uuid.NewSHA1(clientRequests, []byte(strconv.Itoa(len(clientID))+":"+clientID+requestID))
}
