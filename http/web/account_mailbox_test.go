package web_test

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/infra/mail"
)

// TestMailboxShowsNamesAsWritten: the demo mailbox shows the sender's and
// the recipient's names as people write them, not in the RFC 2047 form
// their header carries (=?utf-8?...?=), nor quoted as in a header.
func TestMailboxShowsNamesAsWritten(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	ob, err := mail.NewOutbox(w.outbox)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"Zoë Tan binti Ali", "陈伟明", "Dato' Siti, Hajah"}
	for i, name := range names {
		m := mail.Message{
			MessageID: "m" + string(rune('a'+i)) + "@ispeks.melaka.gov.my",
			Date:      time.Date(2026, 3, 2, 1, 30, i, 0, time.UTC),
			From:      mail.Address{Name: "Portal iSPEKS Négeri Melaka", Email: "no-reply@ispeks.melaka.gov.my"},
			To:        mail.Address{Name: name, Email: "kongsi@melaka.gov.my"},
			Subject:   "Ujian / test",
			Text:      "Badan.\n",
		}
		if err := ob.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	list := b.get("/demo/mailbox")
	mustNotContain(t, "mailbox", list.body, "=?utf-8?", "=?UTF-8?", "&#34;Dato")
	mustContain(t, "mailbox", list.body, "Zoë Tan binti Ali &lt;kongsi@melaka.gov.my&gt;", "陈伟明 &lt;kongsi@melaka.gov.my&gt;", "Dato&#39; Siti, Hajah &lt;kongsi@melaka.gov.my&gt;")
	links := regexp.MustCompile(`href="(/demo/mailbox/[^"]+)"`).FindAllStringSubmatch(list.body, -1)
	if len(links) != len(names) {
		t.Fatalf("mailbox lists %d mails, want %d", len(links), len(names))
	}
	for _, l := range links {
		one := b.get(l[1])
		mustNotContain(t, "mail", one.body, "=?utf-8?", "=?UTF-8?")
		mustContain(t, "mail", one.body, "Portal iSPEKS Négeri Melaka &lt;no-reply@ispeks.melaka.gov.my&gt;")
	}
}
