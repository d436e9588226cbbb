package web

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/infra/mail"
)

// The demo mailbox (demo mode only) lists the outbox, so a newcomer can
// read the temporary password of a registration without a mail server. It
// shows the plain-text part only: the HTML part is not ours to trust in a
// page.

// acctMail is one mail as the pages show it (times in Malaysia time).
type acctMail struct {
	URL, Date, From, To, Subject, Text, Back string
}

func acctMailRow(e mail.MailboxEntry) acctMail {
	return acctMail{URL: PathDemoMailbox + "/" + e.ID, Date: acctTime(e.Date), From: mailboxAddress(e.From), To: mailboxAddress(e.To), Subject: e.Subject, Back: PathDemoMailbox}
}

// mailboxAddress shows an address as people write it, "Name <address>":
// Address.String is the header form, which puts a non-ASCII name in RFC 2047
// encoding (=?utf-8?...?=) and quotes a name with a comma or an apostrophe.
func mailboxAddress(a mail.Address) string {
	if a.Name == "" {
		return a.Email
	}
	return a.Name + " <" + a.Email + ">"
}

func (s *Site) mailbox(c *gin.Context) {
	list, err := s.deps.Accounts.Mailbox.List(c.Request.Context())
	if err != nil {
		httpx.Abort(c, err)
		return
	}
	rows := make([]acctMail, len(list))
	for i, e := range list {
		rows[i] = acctMailRow(e)
	}
	s.Render(c, http.StatusOK, "account_mailbox", Page{Title: "acct.title.mailbox", Data: rows})
}

func (s *Site) mailboxMessage(c *gin.Context) {
	m, err := s.deps.Accounts.Mailbox.Get(c.Request.Context(), c.Param("id"))
	if errors.Is(err, mail.ErrNotFound) {
		err = httpx.ErrNotFound
	}
	if err != nil {
		httpx.Abort(c, err)
		return
	}
	r := acctMailRow(m.MailboxEntry)
	r.Text = m.Text
	s.Render(c, http.StatusOK, "account_mail", Page{Title: "acct.title.mailbox", Data: &r})
}
