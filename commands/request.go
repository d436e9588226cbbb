package commands

import (
	"strconv"

	"github.com/google/uuid"
)

// clientRequests is the UUID namespace of client request IDs.
var clientRequests = uuid.MustParse("5b0f6c1e-2f4a-5d59-9a53-7c1d2e0b8a11")

// ClientCommandID derives the command ID of a finance system's request from
// the client's ID and the request ID it chose, so a repeated request is the
// same command and appends nothing new. Request IDs are unique per client.
func ClientCommandID(clientID, requestID string) uuid.UUID {
	// The client ID is length-prefixed so no two (client, request) pairs
	// give the same name.
	return uuid.NewSHA1(clientRequests, []byte(strconv.Itoa(len(clientID))+":"+clientID+requestID))
}
