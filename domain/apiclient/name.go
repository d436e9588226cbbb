package apiclient

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// Two active clients may not share a name: 'clients list' and the log name
// a client by it, and an operator revoking "Sistem Gaji" must not revoke
// the wrong one. Names are compared by NameKey. The rule holds under
// concurrent adds the way an account is unique per IC number: a name is
// claimed in a stream of its own (NameStream), appended with the version
// read, so of two claims made at once one wins and the other, deciding
// again, finds the name taken.

// NameKey is the form in which names are compared: trimmed, lower case.
func NameKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// NameStream is the stream of the claims on a name: the SHA-256 of its
// NameKey, as a stream ID holds only letters, digits and ._:@+=-.
func NameStream(name string) string {
	sum := sha256.Sum256([]byte(NameKey(name)))
	return "apiclientname-" + hex.EncodeToString(sum[:])
}

// ClaimGrace is how long a claim holds its name while its client is not
// added: the add follows the claim at once, so a claim older than this
// whose client never came (its add failed, or the process died between
// the two) gives the name up.
const ClaimGrace = time.Minute

// NameClaimed: ClientID is given (or is being given) Name. The last claim
// of a name's stream is the one that counts.
type NameClaimed struct {
	Name     string    `json:"name"`
	ClientID string    `json:"client_id"`
	At       time.Time `json:"at"`
}

func (NameClaimed) EventType() string { return "apiclient.NameClaimed.v1" }

// Holder is what became of the client a name's last claim is for, as its
// own stream says.
type Holder int

const (
	// HolderGone: revoked, or added under another name; the name is free.
	HolderGone Holder = iota
	// HolderActive: added under this name and not revoked.
	HolderActive
	// HolderPending: not added (yet).
	HolderPending
)

// HolderOf tells what c, the client a claim on name is for, is to it.
func HolderOf(c *Client, name string) Holder {
	switch {
	case !c.Exists():
		return HolderPending
	case c.Revoked() || NameKey(c.Name()) != NameKey(name):
		return HolderGone
	}
	return HolderActive
}

// NameClaim is the aggregate of one name's stream.
type NameClaim struct {
	eventlog.Changes
	name     string
	clientID string
	at       time.Time
}

// NewNameClaim returns an empty claim, to be filled by Apply or Claim.
func NewNameClaim() *NameClaim { return &NameClaim{} }

// ClientID is the client the last claim is for ("" when none).
func (n *NameClaim) ClientID() string { return n.clientID }

// Name is the name as last claimed.
func (n *NameClaim) Name() string { return n.name }

// Claim gives name to clientID. holder is what the client of the last
// claim is (HolderOf; anything when there is none or it is clientID's own,
// a retried add). Refused with a *FieldError on name (ErrNameTaken) while
// that client is active under the name, or not added and claimed less than
// ClaimGrace ago.
func (n *NameClaim) Claim(name, clientID string, holder Holder, now time.Time) error {
	name = strings.TrimSpace(name)
	if name == "" {
		return fieldErr("name", "is required")
	}
	if n.clientID == clientID {
		return nil // claimed already by this add, tried again
	}
	if n.clientID != "" {
		switch {
		case holder == HolderActive:
			return NameTakenBy(n.clientID, n.name)
		case holder == HolderPending && now.Sub(n.at) < ClaimGrace:
			return &FieldError{Field: "name", kind: ErrNameTaken, Reason: fmt.Sprintf(
				"client %s is being added under the name %q just now; choose another name", n.clientID, n.name)}
		}
	}
	return n.record(NameClaimed{Name: name, ClientID: clientID, At: now.UTC()})
}

// NameTakenBy is the error for a name active client id has.
func NameTakenBy(id, name string) error {
	return &FieldError{Field: "name", kind: ErrNameTaken, Reason: fmt.Sprintf(
		"client %s is called %q already (names are compared ignoring case and surrounding spaces); choose another name, or revoke that client first", id, strings.TrimSpace(name))}
}

func (n *NameClaim) record(e eventlog.Event) error {
	if err := n.Apply(e); err != nil {
		return err
	}
	n.Changes.Add(e)
	return nil
}

// Apply rebuilds state from one event.
func (n *NameClaim) Apply(e eventlog.Event) error {
	switch e := e.(type) {
	case NameClaimed:
		n.name, n.clientID, n.at = e.Name, e.ClientID, e.At
	default:
		return fmt.Errorf("apiclient: cannot apply %T to a name claim", e)
	}
	return nil
}
