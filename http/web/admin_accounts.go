package web

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/domain/mykad"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/i18n"
	"github.com/melaka-gov/ispeks/http/session"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/accounts"
)

// The administrator's account pages: find a person by IC number or name,
// see the account and its recent login attempts, and act on it (unlock,
// new temporary password, check a caller's secret answer, roles, TOTP
// reset). Every action is a command with the administrator as actor; the
// command checks the admin role again on the log, not on the session.

// adminTime shows a time in Malaysia time, day first.
func adminTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(calendar.Melaka).Format("02/01/2006 15:04:05")
}

func adminTimePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return adminTime(*t)
}

// adminReadQuery is ReadForm for a GET form's query parameters.
func adminReadQuery(c *gin.Context, fields ...Field) *Form {
	f := NewForm(nil)
	for _, fd := range fields {
		raw := c.Query(fd.Name)
		f.labels[fd.Name] = fd.Label
		f.order = append(f.order, fd.Name)
		raw = adminTrimSpace(raw)
		max := fd.Max
		if max <= 0 {
			max = DefaultMaxField
		}
		switch {
		case !utf8.ValidString(raw) || hasControl(raw, false, fd.Secret):
			f.FailKey(fd.Name, "err.control_chars")
			raw = ""
		case utf8.RuneCountInString(raw) > max:
			f.Fail(fd.Name, i18n.Getf("err.too_long", max))
			raw = truncate(raw, max)
		case raw == "" && fd.Required:
			f.FailKey(fd.Name, "err.required")
		}
		f.values[fd.Name] = raw
	}
	// The page's links (the language toggle) repeat the request's query:
	// keep only the checked values there, so a 10 kB parameter is never
	// echoed back.
	q := url.Values{}
	for _, fd := range fields {
		if v := f.values[fd.Name]; v != "" {
			q.Set(fd.Name, v)
		}
	}
	c.Request.URL.RawQuery = q.Encode()
	return f
}

func adminTrimSpace(s string) string {
	start, end := 0, len(s)
	for start < end && (s[start] == ' ' || s[start] == '\t') {
		start++
	}
	for end > start && (s[end-1] == ' ' || s[end-1] == '\t') {
		end--
	}
	return s[start:end]
}

// adminICCode is the field-error code of a malformed IC number (the same codes
// the commands use).
func adminICCode(err error) string {
	switch {
	case errors.Is(err, mykad.ErrEmpty):
		return "required"
	case errors.Is(err, mykad.ErrDate):
		return "invalid_date"
	case errors.Is(err, mykad.ErrPlace):
		return "invalid_place_code"
	}
	return "invalid_ic"
}

// adminLooksLikeIC: only digits, dashes and spaces. Such a query is an IC
// number and must be a valid one (a name has letters).
var adminLooksLikeIC = regexp.MustCompile(`^[0-9\- ]+$`)

type adminSearchData struct {
	Searched  bool
	People    []adminPersonRow
	Truncated bool
}

type adminPersonRow struct {
	Name, IC, Department, Post, StatusKey, URL string
	InService, Locked                          bool
	LeavesOn                                   string // a leaving date still ahead
}

var adminSearchFields = []Field{{Name: "q", Label: "admin.label.query", Required: true, Max: 100}}

// adminSearch is "Cari Akaun": by IC number (with or without dashes) or by
// words of the name ("fadz sul").
func (s *Site) adminSearch(c *gin.Context) {
	data := &adminSearchData{}
	page := Page{Title: "title.admin_search", Data: data}
	if _, asked := c.GetQuery("q"); !asked {
		s.Render(c, http.StatusOK, "admin_search", page)
		return
	}
	f := adminReadQuery(c, adminSearchFields...)
	page.Form = f
	q := f.Get("q")
	if f.Valid() && adminLooksLikeIC.MatchString(q) {
		if _, err := mykad.Parse(q); err != nil {
			f.Fail("q", adminFieldMessage(adminICCode(err)))
		}
	} else if f.Valid() && utf8.RuneCountInString(q) < 2 {
		f.Fail("q", adminFieldMessage("too_short"))
	}
	if !f.Valid() {
		s.Invalid(c, "admin_search", page)
		return
	}
	people, truncated, err := accounts.FindPeople(c.Request.Context(), s.deps.Admin.Views, q, 50)
	if err != nil {
		httpx.Abort(c, err)
		return
	}
	data.Searched, data.Truncated = true, truncated
	now := s.deps.Admin.Now()
	for _, p := range people {
		row := adminPersonRow{Name: p.Employee.Name, IC: adminFormatIC(p.Employee.IC), Department: p.Employee.Department,
			Post: p.Employee.Post, InService: p.Employee.InService(now), URL: adminAccountURL(p.Employee.IC),
			StatusKey: adminStatusKey(p.Account)}
		if row.InService {
			row.LeavesOn = p.Employee.LeftOn
		}
		row.Locked = p.Account != nil && p.Account.Locked
		data.People = append(data.People, row)
	}
	s.Render(c, http.StatusOK, "admin_search", page)
}

func adminFormatIC(ic string) string {
	if parsed, err := mykad.Parse(ic); err == nil {
		return parsed.Formatted()
	}
	return ic
}

func adminStatusKey(a *accounts.Account) string {
	switch {
	case a == nil:
		return "admin.status.none"
	case a.Locked:
		return "admin.status.locked"
	case a.Activated:
		return "admin.status.active"
	default:
		return "admin.status.registered"
	}
}

type adminLockedData struct {
	Rows     []adminLockedRow
	NextURL  string
	FirstURL string
}

type adminLockedRow struct {
	Name, IC, Department, LockedAt, URL string
	Failed                              int
}

// adminLocked lists locked accounts, 50 a page.
func (s *Site) adminLocked(c *gin.Context) {
	after := c.Query("selepas")
	if len(after) > 200 || !utf8.ValidString(after) {
		httpx.Abort(c, projections.ErrBadCursor) // 400, saying the link is not valid (Rules)
		return
	}
	list, next, err := accounts.ListAccounts(c.Request.Context(), s.deps.Admin.Views, accounts.StatusLocked, 50, after)
	if err != nil {
		httpx.Abort(c, err)
		return
	}
	data := &adminLockedData{}
	if after != "" {
		data.FirstURL = PathAdminLocked
	}
	if next != "" {
		data.NextURL = PathAdminLocked + "?selepas=" + url.QueryEscape(next)
	}
	for _, a := range list {
		data.Rows = append(data.Rows, adminLockedRow{Name: a.Name, IC: adminFormatIC(a.UserID), Department: a.Department,
			LockedAt: adminTimePtr(a.LockedAt), Failed: a.FailedAttempts, URL: adminAccountURL(a.UserID)})
	}
	s.Render(c, http.StatusOK, "admin_locked", Page{Title: "title.admin_locked", Data: data})
}

type adminAccountData struct {
	IC, ICFormatted string
	Employee        accounts.Employee
	// InService is the master's answer now; LeavesOn a leaving date
	// still ahead (the person holds their post until then).
	InService     bool
	LeavesOn      string
	Account       *accounts.Account
	StatusKey     string
	Roles         []string
	Grantable     []string
	Question      i18n.Text
	TempReasonKey string
	Times         struct{ Registered, Activated, LastLogin, LastFailure, Locked, LastTemp string }
	Attempts      []adminAttemptRow
	// Verdict of a secret-answer check just made: "match" or "nomatch".
	Verdict string
	// Self: the administrator is looking at their own account.
	Self bool
	URLs struct{ Unlock, Temp, Verify, Role, TOTP, Audit string }
}

type adminAttemptRow struct {
	At, OutcomeKey, DetailKey, Note, SourceIP string
	ActorKey, ActorID                         string
	Consecutive                               int
}

// adminDone are the notices shown after an action (?selesai=…).
var adminDone = map[string]string{
	"buka-kunci": "admin.done.unlocked", "kata-laluan": "admin.done.temp", "beri": "admin.done.granted",
	"tarik": "admin.done.revoked", "totp": "admin.done.totp_reset",
}

// adminIC reads the :ic of an account page; a malformed one is a page that
// does not exist.
func adminIC(c *gin.Context) (string, bool) {
	ic, err := mykad.Parse(c.Param("ic"))
	if err != nil {
		httpx.Abort(c, httpx.ErrNotFound)
		return "", false
	}
	return ic.String(), true
}

// adminAccountPage loads what the account page shows. A person neither in
// the master nor registered is not found.
func (s *Site) adminAccountPage(c *gin.Context, ic string) (Page, error) {
	ctx := c.Request.Context()
	views := s.deps.Admin.Views
	emp, inMaster, err := accounts.GetEmployee(ctx, views, ic)
	if err != nil {
		return Page{}, err
	}
	acc, registered, err := accounts.GetAccount(ctx, views, ic)
	if err != nil {
		return Page{}, err
	}
	if !inMaster && !registered {
		return Page{}, httpx.ErrNotFound
	}
	d := &adminAccountData{IC: ic, ICFormatted: adminFormatIC(ic), Employee: emp}
	if !inMaster {
		d.Employee = accounts.Employee{IC: ic, Name: acc.Name, Email: acc.Email, Department: acc.Department, Post: acc.Post}
	}
	if d.InService = inMaster && emp.InService(s.deps.Admin.Now()); d.InService {
		d.LeavesOn = emp.LeftOn
	}
	base := adminAccountURL(ic)
	d.URLs.Unlock, d.URLs.Temp, d.URLs.Verify = base+"/"+actUnlock, base+"/"+actTemp, base+"/"+actVerify
	d.URLs.Role, d.URLs.TOTP = base+"/"+actRole, base+"/"+actTOTP
	if u, ok := session.User(c); ok {
		d.Self = u.UserID == ic
	}
	if registered {
		d.Account = &acc
		d.Roles = acc.Roles
		for _, r := range []string{string(account.RoleAdmin), string(account.RoleAuditor)} {
			if !slices.Contains(acc.Roles, r) {
				d.Grantable = append(d.Grantable, r)
			}
		}
		d.Times.Registered, d.Times.Activated = adminTime(acc.RegisteredAt), adminTimePtr(acc.ActivatedAt)
		d.Times.LastLogin, d.Times.LastFailure = adminTimePtr(acc.LastLogin), adminTimePtr(acc.LastFailure)
		d.Times.Locked, d.Times.LastTemp = adminTimePtr(acc.LockedAt), adminTimePtr(acc.LastTempIssued)
		if q, ok := account.SecretQuestionByID(acc.SecretQuestion); ok {
			d.Question = i18n.Text{MS: q.MS, EN: q.EN}
		}
		if acc.LastTempReason != "" {
			d.TempReasonKey = "detail." + acc.LastTempReason
		}
		attempts, _, err := accounts.RecentAttempts(ctx, views, ic, 20, "")
		if err != nil {
			return Page{}, err
		}
		for _, a := range attempts {
			row := adminAttemptRow{At: adminTime(a.At), OutcomeKey: "admin.outcome." + a.Outcome,
				SourceIP: a.SourceIP, Consecutive: a.Consecutive}
			row.ActorKey, row.ActorID = auditActor(a.Actor)
			if a.Outcome == accounts.OutcomeUnlocked {
				row.Note = a.Reason // typed by the administrator
			} else if a.Reason != "" {
				row.DetailKey = "detail." + a.Reason
			}
			d.Attempts = append(d.Attempts, row)
		}
	}
	d.StatusKey = adminStatusKey(d.Account)
	page := Page{Title: "title.admin_account", Data: d, Form: NewForm(nil)}
	if key, ok := adminDone[c.Query("selesai")]; ok {
		page.Notice = key
	}
	d.Verdict = adminCheckVerdict(c, ic)
	return page, nil
}

// adminAccount shows one person's record, account and recent attempts.
func (s *Site) adminAccount(c *gin.Context) {
	ic, ok := adminIC(c)
	if !ok {
		return
	}
	page, err := s.adminAccountPage(c, ic)
	if err != nil {
		httpx.Abort(c, err)
		return
	}
	s.Render(c, http.StatusOK, "admin_account", page)
}

// adminAction runs one action of the account page: read and check the
// form, run the command, and on success wait for the projections and go
// back to the page with a notice (POST → redirect → GET). Any error shows
// the page again with the message, and changes nothing.
func (s *Site) adminAction(c *gin.Context, fields []Field, run func(ic string, f *Form) (commands.Result, string, error)) {
	ic, ok := adminIC(c)
	if !ok {
		return
	}
	f := ReadForm(c, fields...)
	page, err := s.adminAccountPage(c, ic)
	if err != nil {
		httpx.Abort(c, err)
		return
	}
	page.Form = f
	if !f.Valid() {
		s.Invalid(c, "admin_account", page)
		return
	}
	res, done, err := run(ic, f)
	if err != nil {
		s.adminFail(c, "admin_account", page, err)
		return
	}
	s.adminWait(c, res.Position)
	c.Redirect(http.StatusSeeOther, adminAccountURL(ic)+"?selesai="+done)
}

// adminReasonField: the reason of an unlock or a TOTP reset (kept in the log
// for auditors).
func adminReasonField(name string) Field {
	return Field{Name: name, Label: "admin.label.reason", Required: true, Max: account.MaxReason, Multiline: true}
}

// adminCheckReason runs the domain's reason rule, naming the form's field.
func adminCheckReason(field, reason string) error {
	if _, err := account.CheckReason(reason); err != nil {
		var fe *account.FieldError
		if errors.As(err, &fe) {
			return &account.FieldError{Field: field, Code: fe.Code, Reason: fe.Reason}
		}
		return err
	}
	return nil
}

func (s *Site) adminUnlock(c *gin.Context) {
	s.adminAction(c, []Field{adminReasonField("reason")}, func(ic string, f *Form) (commands.Result, string, error) {
		if err := adminCheckReason("reason", f.Get("reason")); err != nil {
			return commands.Result{}, "", err
		}
		res, err := s.deps.Admin.Commands.Unlock.Handle(c.Request.Context(), commands.UnlockAccount{Meta: adminMeta(c), UserID: ic, Reason: f.Get("reason")})
		return res, "buka-kunci", err
	})
}

func (s *Site) adminIssueTemp(c *gin.Context) {
	s.adminAction(c, nil, func(ic string, _ *Form) (commands.Result, string, error) {
		res, err := s.deps.Admin.Commands.IssueTemporaryPassword.Handle(c.Request.Context(), commands.IssueTemporaryPassword{Meta: adminMeta(c), UserID: ic})
		return res, "kata-laluan", err
	})
}

func (s *Site) adminResetTOTP(c *gin.Context) {
	s.adminAction(c, []Field{adminReasonField("totp_reason")}, func(ic string, f *Form) (commands.Result, string, error) {
		if err := adminCheckReason("totp_reason", f.Get("totp_reason")); err != nil {
			return commands.Result{}, "", err
		}
		res, err := s.deps.Admin.Commands.ResetTOTP.Handle(c.Request.Context(), commands.ResetTOTP{Meta: adminMeta(c), UserID: ic, Reason: f.Get("totp_reason")})
		if err == nil {
			err = s.endSessions(c, ic)
		}
		return res, "totp", err
	})
}

var adminRoleFields = []Field{
	{Name: "role", Label: "admin.label.role", Required: true, Max: 20},
	{Name: "op", Label: "admin.label.role", Required: true, Max: 10},
}

func (s *Site) adminRole(c *gin.Context) {
	s.adminAction(c, adminRoleFields, func(ic string, f *Form) (commands.Result, string, error) {
		role := account.Role(f.Get("role"))
		if !role.Valid() {
			return commands.Result{}, "", &account.FieldError{Field: "role", Code: "unknown_choice", Reason: "must be admin or auditor"}
		}
		ctx := c.Request.Context()
		switch f.Get("op") {
		case "grant":
			res, err := s.deps.Admin.Commands.GrantRole.Handle(ctx, commands.GrantRole{Meta: adminMeta(c), UserID: ic, Role: role})
			return res, "beri", err
		case "revoke":
			res, err := s.deps.Admin.Commands.RevokeRole.Handle(ctx, commands.RevokeRole{Meta: adminMeta(c), UserID: ic, Role: role})
			if err == nil && res.Appended > 0 {
				// The account's sessions carried the role.
				err = s.endSessions(c, ic)
			}
			return res, "tarik", err
		}
		return commands.Result{}, "", httpx.ErrBadRequest
	})
}

func (s *Site) endSessions(c *gin.Context, ic string) error {
	_, err := s.deps.Sessions.EndAllFor(c.Request.Context(), ic)
	return err
}

var adminAnswerFields = []Field{{Name: "answer", Label: "admin.label.answer", Required: true, Max: account.MaxAnswer, Secret: true}}

// adminVerifyAnswer checks what a caller says is their secret answer. The
// verdict (Sepadan / Tidak sepadan) is recorded; the stored answer is never
// shown. POST → redirect → GET: the check is kept in the administrator's
// session and the account page it redirects to shows it, so reloading that
// page shows the verdict again rather than checking (and counting a try)
// again.
func (s *Site) adminVerifyAnswer(c *gin.Context) {
	ic, ok := adminIC(c)
	if !ok {
		return
	}
	f := ReadForm(c, adminAnswerFields...)
	page, err := s.adminAccountPage(c, ic)
	if err != nil {
		httpx.Abort(c, err)
		return
	}
	page.Form = f
	if !f.Valid() {
		s.Invalid(c, "admin_account", page)
		return
	}
	ok, res, err := s.deps.Admin.Commands.VerifySecretAnswer.Verify(c.Request.Context(), commands.VerifySecretAnswer{Meta: adminMeta(c), UserID: ic, Answer: f.Get("answer")})
	if err != nil {
		s.adminFail(c, "admin_account", page, err)
		return
	}
	check := adminCheck{IC: ic, Position: strconv.FormatUint(res.Position, 10), Verdict: "nomatch"}
	if ok {
		check.Verdict = "match"
	}
	if err := s.deps.Sessions.Update(c, func(s *session.Session) {
		if s.Values == nil {
			s.Values = map[string]string{}
		}
		s.Values[adminValCheck] = check.String()
	}); err != nil {
		// The check is recorded; show its verdict on this answer rather
		// than lose it (a reload would check again).
		s.deps.Log.WarnContext(c.Request.Context(), "admin: keep the answer check's verdict in the session", "err", err)
		s.adminWait(c, res.Position)
		page.Data.(*adminAccountData).Verdict = check.Verdict
		s.Render(c, http.StatusOK, "admin_account", page)
		return
	}
	s.adminWait(c, res.Position)
	c.Redirect(http.StatusSeeOther, adminAccountURL(ic)+"?"+adminQueryCheck+"="+check.Position)
}

// adminValCheck is the session value holding the administrator's last
// secret-answer check (adminCheck), which the account page's link
// (?semakan=POSITION) shows: the verdict itself is never taken from the URL.
const (
	adminValCheck   = "answer_check"
	adminQueryCheck = "semakan"
)

// adminCheck is a secret-answer check as the session keeps it: whose
// account, the position of its SecretAnswerChecked event and the verdict.
type adminCheck struct{ IC, Position, Verdict string }

func (a adminCheck) String() string { return a.IC + " " + a.Position + " " + a.Verdict }

// adminCheckVerdict is the verdict the account page of ic shows: that of
// the session's last check, if it was of ic and the page's link names it.
func adminCheckVerdict(c *gin.Context, ic string) string {
	pos := c.Query(adminQueryCheck)
	u, ok := session.User(c)
	if pos == "" || !ok {
		return ""
	}
	parts := strings.Fields(u.Values[adminValCheck])
	if len(parts) != 3 || parts[0] != ic || parts[1] != pos {
		return ""
	}
	return parts[2]
}
