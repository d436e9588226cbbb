package web

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/projections/audit"
)

// The auditor's pages read the event log itself (projections/audit): the
// login and lockout timeline of a user ID, the state of its account as of
// a moment, a CSV export, and the integrity of its streams. They are
// read-only GET pages; auditors see no payments or statements.

// auditLimit is how many entries the timeline page shows (the latest);
// the CSV export has them all.
const auditLimit = 500

var (
	auditICField    = Field{Name: "ic", Label: "label.ic", Required: true, Max: 20}
	auditFromField  = Field{Name: "dari", Label: "audit.label.from", Max: 10}
	auditToField    = Field{Name: "hingga", Label: "audit.label.to", Max: 10}
	auditAllField   = Field{Name: "semua", Label: "audit.label.all", Max: 1}
	auditAtField    = Field{Name: "pada", Label: "audit.label.at", Required: true, Max: 19}
	auditDateLayout = "2006-01-02"
)

// auditUserID checks the form's IC number, failing the field if it is not
// a valid one.
func auditUserID(f *Form) string {
	if _, bad := f.Error("ic"); bad {
		return ""
	}
	id, err := audit.ParseUserID(f.Get("ic"))
	if err != nil {
		f.Fail("ic", adminFieldMessage(adminICCode(err)))
		return ""
	}
	return id
}

// auditFilter reads the history form: IC number, optional dates (whole
// days in Malaysia time, both inclusive) and whether to show every account
// event rather than the login and lockout history.
func auditFilter(c *gin.Context) (*Form, string, audit.Filter) {
	f := adminReadQuery(c, auditICField, auditFromField, auditToField, auditAllField)
	id := auditUserID(f)
	filter := audit.Filter{LoginOnly: f.Get("semua") != "1"}
	day := func(field string) time.Time {
		v := f.Get(field)
		if v == "" {
			return time.Time{}
		}
		t, err := time.ParseInLocation(auditDateLayout, v, calendar.Melaka)
		if err != nil {
			f.FailKey(field, "audit.err.date")
			return time.Time{}
		}
		return t
	}
	filter.From = day("dari")
	if to := day("hingga"); !to.IsZero() {
		filter.To = to.AddDate(0, 0, 1)
		// The days compared, not the end of the range: "hingga" the day
		// before "dari" ends exactly where the range starts.
		if !filter.From.IsZero() && to.Before(filter.From) {
			f.FailKey("hingga", "audit.err.date_order")
		}
	}
	return f, id, filter
}

type auditHistoryData struct {
	Shown       bool
	IC          string
	Registered  bool
	All         bool
	Matched     int
	Truncated   bool
	Rows        []auditRow
	Integrity   auditIntegrityView
	ExportURL   string
	StateURL    string
	CheckURL    string
	Limit       int
	HasProbe    bool
	FilterDates bool
}

type auditRow struct {
	Position                        uint64
	At, KindKey, DetailKey, Note    string
	ActorKey, ActorID, SourceIP     string
	UserAgent                       string
	StatusKey, StreamKey, Version   string
	Consecutive, Failed             int
	Locked, Broken, Unchecked, Bold bool
}

type auditIntegrityView struct {
	OK      bool
	Events  int
	Streams []auditStreamView
	Broken  *eventlog.BrokenLink
}

type auditStreamView struct {
	LabelKey, Stream, LastHash string
	Events                     int
	Broken                     *eventlog.BrokenLink
}

func auditIntegrityOf(in audit.Integrity) auditIntegrityView {
	v := auditIntegrityView{OK: in.OK(), Events: in.Events(), Broken: in.FirstBroken()}
	for i, s := range in.Streams {
		label := "audit.stream.account"
		if i > 0 {
			label = "audit.stream.probe"
		}
		v.Streams = append(v.Streams, auditStreamView{LabelKey: label, Stream: s.Stream, LastHash: s.LastHash, Events: s.Events, Broken: s.Broken})
	}
	return v
}

// auditActor names who caused an event: the kind in the page's words and
// the ID (an IC number shown formatted; a client or component as is).
func auditActor(a eventlog.Actor) (key, id string) {
	switch a.Kind {
	case eventlog.ActorUser, eventlog.ActorAdmin, eventlog.ActorClient, eventlog.ActorSystem, eventlog.ActorAnonymous:
		key = "audit.actor." + a.Kind
	default:
		key = "audit.actor.other"
	}
	return key, adminFormatIC(a.ID)
}

func auditRowOf(e audit.Entry) auditRow {
	r := auditRow{Position: e.Position, At: adminTime(e.At), KindKey: "audit.kind." + string(e.Kind), Note: e.Note,
		SourceIP: e.SourceIP, UserAgent: e.UserAgent, Consecutive: e.Consecutive,
		Failed: e.After.Failed, Locked: e.After.Locked, Broken: e.Link == audit.LinkBroken, Unchecked: e.Link == audit.LinkUnchecked,
		StreamKey: "audit.stream.account"}
	r.ActorKey, r.ActorID = auditActor(e.Actor)
	if e.Detail != "" {
		r.DetailKey = "detail." + e.Detail
	}
	if strings.HasPrefix(e.Stream, "loginprobe-") {
		r.StreamKey = "audit.stream.probe"
	}
	r.StatusKey = "admin.status.none"
	switch {
	case e.After.Status == "unknown_id":
		r.StatusKey = "audit.status.unknown_id"
	case e.After.Locked:
		r.StatusKey = "admin.status.locked"
	case e.After.Status == "active":
		r.StatusKey = "admin.status.active"
	case e.After.Status == "registered":
		r.StatusKey = "admin.status.registered"
	}
	switch e.Kind {
	case audit.KindLocked, audit.KindUnlocked, audit.KindProbeLocked, audit.KindUnreadable:
		r.Bold = true
	}
	return r
}

// auditLinks are the other auditor pages for the same user ID.
func auditLinks(id string, q url.Values) (export, state, check string) {
	base := url.Values{"ic": {id}}
	export = PathAuditExport + "?" + q.Encode()
	return export, PathAuditState + "?" + base.Encode(), PathAuditIntegrity + "?" + base.Encode()
}

// auditHistory is the login and lockout timeline of a user ID, replayed
// from the log, oldest first, with the state after each event and the
// integrity verdict on each link.
func (s *Site) auditHistory(c *gin.Context) {
	data := &auditHistoryData{Limit: auditLimit}
	page := Page{Title: "title.audit_history", Data: data}
	if _, asked := c.GetQuery("ic"); !asked {
		s.Render(c, http.StatusOK, "audit_history", page)
		return
	}
	f, id, filter := auditFilter(c)
	page.Form = f
	if !f.Valid() {
		s.Invalid(c, "audit_history", page)
		return
	}
	filter.Limit = auditLimit
	tl, err := s.deps.Admin.Audit.Timeline(c.Request.Context(), id, filter)
	if err != nil {
		httpx.Abort(c, err)
		return
	}
	q := url.Values{"ic": {id}, "dari": {f.Get("dari")}, "hingga": {f.Get("hingga")}}
	if !filter.LoginOnly {
		q.Set("semua", "1")
	}
	data.Shown, data.IC, data.Registered, data.All = true, adminFormatIC(id), tl.Registered, !filter.LoginOnly
	data.Matched, data.Truncated = tl.Matched, tl.Truncated()
	data.FilterDates = !filter.From.IsZero() || !filter.To.IsZero()
	data.ExportURL, data.StateURL, data.CheckURL = auditLinks(id, q)
	data.Integrity = auditIntegrityOf(tl.Integrity)
	for _, e := range tl.Entries {
		r := auditRowOf(e)
		data.HasProbe = data.HasProbe || r.StreamKey == "audit.stream.probe"
		data.Rows = append(data.Rows, r)
	}
	s.Render(c, http.StatusOK, "audit_history", page)
}

// auditExport is the timeline as CSV: every matching entry (no limit),
// each with its hash, prev and integrity verdict.
func (s *Site) auditExport(c *gin.Context) {
	f, id, filter := auditFilter(c)
	if !f.Valid() {
		s.Invalid(c, "audit_history", Page{Title: "title.audit_history", Form: f, Data: &auditHistoryData{Limit: auditLimit}})
		return
	}
	// Built in memory first, so a failure is a proper error page rather
	// than half a file.
	var buf bytes.Buffer
	if _, err := s.deps.Admin.Audit.ExportCSV(c.Request.Context(), id, filter, &buf); err != nil {
		httpx.Abort(c, err)
		return
	}
	name := "audit-" + id + "-" + s.deps.Admin.Now().In(calendar.Melaka).Format("20060102-150405") + ".csv"
	c.Header("Content-Disposition", `attachment; filename="`+name+`"`)
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

type auditStateData struct {
	Shown      bool
	IC         string
	At         string
	State      audit.State
	StatusKey  string
	LastLogin  string
	Last       *auditRow
	RoleKeys   []string
	Integrity  auditIntegrityView
	HistoryURL string
}

// auditState is the account of a user ID as of a chosen date and time
// (Malaysia time), rebuilt by replaying the aggregate up to then.
func (s *Site) auditState(c *gin.Context) {
	data := &auditStateData{}
	page := Page{Title: "title.audit_state", Data: data}
	if _, asked := c.GetQuery("ic"); !asked {
		now := s.deps.Admin.Now().In(calendar.Melaka).Format(audit.AsOfLayouts[0])
		page.Form = NewForm(map[string]string{"ic": c.Query("ic"), "pada": now})
		s.Render(c, http.StatusOK, "audit_state", page)
		return
	}
	f := adminReadQuery(c, auditICField, auditAtField)
	page.Form = f
	id := auditUserID(f)
	var at time.Time
	if _, bad := f.Error("pada"); !bad {
		var err error
		if at, err = audit.ParseAsOf(f.Get("pada")); err != nil {
			f.FailKey("pada", "audit.err.datetime")
		}
	}
	if !f.Valid() {
		s.Invalid(c, "audit_state", page)
		return
	}
	st, err := s.deps.Admin.Audit.AsOf(c.Request.Context(), id, at)
	if err != nil {
		httpx.Abort(c, err)
		return
	}
	data.Shown, data.IC, data.At, data.State = true, adminFormatIC(id), adminTime(at), st
	data.HistoryURL = PathAudit + "?" + url.Values{"ic": {id}}.Encode()
	switch {
	case !st.Registered:
		data.StatusKey = "admin.status.none"
	case st.Locked:
		data.StatusKey = "admin.status.locked"
	case st.Status == "active":
		data.StatusKey = "admin.status.active"
	default:
		data.StatusKey = "admin.status.registered"
	}
	data.LastLogin = adminTime(st.LastLogin)
	for _, r := range st.Roles {
		data.RoleKeys = append(data.RoleKeys, "role."+r)
	}
	if st.Last != nil {
		r := auditRowOf(*st.Last)
		data.Last = &r
	}
	data.Integrity = auditIntegrityOf(st.Integrity)
	s.Render(c, http.StatusOK, "audit_state", page)
}

type auditIntegrityData struct {
	Shown     bool
	IC        string
	Integrity auditIntegrityView
	CheckedAt string
}

// auditIntegrity re-hashes every event of a user ID's streams and shows
// OK or the first broken link. The whole log is checked from the CLI
// (`ispeks audit verify`).
func (s *Site) auditIntegrity(c *gin.Context) {
	data := &auditIntegrityData{}
	page := Page{Title: "title.audit_integrity", Data: data}
	if _, asked := c.GetQuery("ic"); !asked {
		s.Render(c, http.StatusOK, "audit_integrity", page)
		return
	}
	f := adminReadQuery(c, auditICField)
	page.Form = f
	id := auditUserID(f)
	if !f.Valid() {
		s.Invalid(c, "audit_integrity", page)
		return
	}
	in, err := s.deps.Admin.Audit.Verify(c.Request.Context(), id)
	if err != nil {
		httpx.Abort(c, err)
		return
	}
	data.Shown, data.IC, data.Integrity = true, adminFormatIC(id), auditIntegrityOf(in)
	data.CheckedAt = adminTime(s.deps.Admin.Now())
	s.Render(c, http.StatusOK, "audit_integrity", page)
}
