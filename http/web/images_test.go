package web

import (
	"testing"

	"github.com/melaka-gov/ispeks/domain/account"
)

// The accounts domain validates choices and picks decoys by index from its
// own copy of the gallery's IDs; both lists must be the same, in order.
func TestGalleryMatchesAccountDomain(t *testing.T) {
	dom := account.SecurityImages()
	ours := SecurityImages()
	if len(dom) != len(ours) {
		t.Fatalf("domain has %d images, web %d", len(dom), len(ours))
	}
	for i := range ours {
		if dom[i].ID != ours[i].ID || dom[i].Label != ours[i].Name.MS {
			t.Errorf("#%d: domain %s %q, web %s %q", i, dom[i].ID, dom[i].Label, ours[i].ID, ours[i].Name.MS)
		}
	}
}
