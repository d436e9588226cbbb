package web

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/session"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/accounts"
)

// activityPageSize is how many entries Aktiviti Log Masuk shows at a time.
const activityPageSize = 20

// acctActivityData is Tetapan Akaun › Aktiviti Log Masuk: the person's own
// login history, newest first, so they can check the logins and failed
// attempts on their account (the home page's note leads here).
type acctActivityData struct {
	Rows    []acctActivityRow
	NextURL string // the next (older) page; "" on the last
	Older   bool   // this is not the first page
}

type acctActivityRow struct {
	At, OutcomeKey, DetailKey, SourceIP string
}

// activity lists the signed-in person's attempts: the session's user ID is
// the only subject it reads, so no one reaches another person's history.
// What an administrator typed when unlocking stays on the admin page; the
// person sees that an administrator unlocked it.
func (s *Site) activity(c *gin.Context) {
	u, _ := session.User(c)
	after, ok := cursorParam(c)
	if !ok {
		httpx.Abort(c, projections.ErrBadCursor)
		return
	}
	attempts, next, err := accounts.RecentAttempts(c.Request.Context(), s.deps.Accounts.Views, u.UserID, activityPageSize, after)
	if err != nil {
		httpx.Abort(c, err) // a forged cursor is 400 (Rules)
		return
	}
	d := &acctActivityData{Older: after != ""}
	for _, a := range attempts {
		row := acctActivityRow{At: acctTime(a.At), OutcomeKey: "admin.outcome." + a.Outcome, SourceIP: a.SourceIP}
		switch {
		case a.Outcome == accounts.OutcomeUnlocked:
			row.DetailKey = "detail.admin_issued"
		case a.Outcome == accounts.OutcomePasswordAccepted && a.Temporary:
			row.DetailKey = "detail.temporary"
		case a.Reason != "":
			row.DetailKey = "detail." + a.Reason
		}
		d.Rows = append(d.Rows, row)
	}
	if next != "" {
		d.NextURL = PathActivity + "?" + url.Values{queryAfter: {next}}.Encode()
	}
	s.Render(c, http.StatusOK, "account_activity", Page{Title: "nav.aktiviti", Data: d})
}
