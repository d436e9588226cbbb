package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/i18n"
	"github.com/melaka-gov/ispeks/http/session"
	"github.com/melaka-gov/ispeks/infra/staffimport"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/audit"
)

// AdminDeps are the collaborators of the administrator (Pentadbir Sistem)
// and auditor pages. The zero value leaves those pages out (the menu then
// shows "Akan Datang"); a partly filled one makes Routes panic at start-up
// (naming what is missing) rather than serve half an area.
type AdminDeps struct {
	// Commands are the admin command handlers
	// (AdminCommandsFrom(commands.NewAccountHandlers(…))). Each records
	// the administrator as actor.
	Commands AdminCommands
	// Views reads the accounts projections (projections/accounts).
	Views projections.Reader
	// WaitFor waits until the projections the next page reads have
	// reached position (read-your-writes), bounded by WaitTimeout; on
	// timeout the page proceeds.
	WaitFor     func(ctx context.Context, position uint64) error
	WaitTimeout time.Duration // default 2 s
	// Importer lands an uploaded employee-master CSV
	// (staffimport.New(runner, cfg)). Nil: the upload page says the
	// upload is not available here (use `ispeks import employees`).
	Importer StaffImporter
	// MaxUpload bounds the uploaded file (default
	// staffimport.DefaultMaxBytes).
	MaxUpload int64
	// Audit reads the event log for the auditor pages
	// (audit.New(store, registry, keyed.ProbeKey)). Nil leaves the auditor
	// pages out.
	Audit AuditLog
	// Now is the clock (default time.Now): the as-of form's default time.
	Now func() time.Time
}

// AdminCommands are the handlers the admin pages run; the handlers of
// package commands satisfy these interfaces.
type AdminCommands struct {
	Unlock                 commands.Handler[commands.UnlockAccount]
	IssueTemporaryPassword commands.Handler[commands.IssueTemporaryPassword]
	VerifySecretAnswer     SecretAnswerVerifier
	GrantRole              commands.Handler[commands.GrantRole]
	RevokeRole             commands.Handler[commands.RevokeRole]
	ResetTOTP              commands.Handler[commands.ResetTOTP]
}

// SecretAnswerVerifier checks a caller's answer and returns the verdict.
type SecretAnswerVerifier interface {
	Verify(ctx context.Context, cmd commands.VerifySecretAnswer) (bool, commands.Result, error)
}

// StaffImporter imports an employee-master CSV (infra/staffimport).
type StaffImporter interface {
	Import(ctx context.Context, r io.Reader, src staffimport.Source, progress func(staffimport.Progress)) (staffimport.Report, error)
}

// AuditLog is what the auditor pages read (projections/audit Log).
type AuditLog interface {
	Timeline(ctx context.Context, userID string, f audit.Filter) (audit.Timeline, error)
	AsOf(ctx context.Context, userID string, at time.Time) (audit.State, error)
	Verify(ctx context.Context, userID string) (audit.Integrity, error)
	ExportCSV(ctx context.Context, userID string, f audit.Filter, w io.Writer) (audit.Integrity, error)
}

var _ AuditLog = (*audit.Log)(nil)

// AdminCommandsFrom takes the handlers the admin pages need from the full
// set.
func AdminCommandsFrom(h commands.AccountHandlers) AdminCommands {
	return AdminCommands{
		Unlock: h.UnlockAccount, IssueTemporaryPassword: h.IssueTemporaryPassword,
		VerifySecretAnswer: h.VerifySecretAnswer, GrantRole: h.GrantRole,
		RevokeRole: h.RevokeRole, ResetTOTP: h.ResetTOTP,
	}
}

// adminEnabled reports whether the admin pages are wired at all.
func (d AdminDeps) adminEnabled() bool {
	c := d.Commands
	return c.Unlock != nil || c.IssueTemporaryPassword != nil || c.VerifySecretAnswer != nil ||
		c.GrantRole != nil || c.RevokeRole != nil || c.ResetTOTP != nil || d.Views != nil || d.Importer != nil
}

// adminCheck lists what a wired AdminDeps lacks.
func (d AdminDeps) adminCheck() error {
	var missing []string
	c := d.Commands
	for name, ok := range map[string]bool{
		"Commands.Unlock": c.Unlock != nil, "Commands.IssueTemporaryPassword": c.IssueTemporaryPassword != nil,
		"Commands.VerifySecretAnswer": c.VerifySecretAnswer != nil, "Commands.GrantRole": c.GrantRole != nil,
		"Commands.RevokeRole": c.RevokeRole != nil, "Commands.ResetTOTP": c.ResetTOTP != nil,
		"Views": d.Views != nil, "WaitFor": d.WaitFor != nil,
	} {
		if !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return errors.New("web: AdminDeps lacks " + strings.Join(missing, ", "))
	}
	return nil
}

func (d AdminDeps) withDefaults() AdminDeps {
	if d.WaitTimeout <= 0 {
		d.WaitTimeout = 2 * time.Second
	}
	if d.MaxUpload <= 0 {
		d.MaxUpload = staffimport.DefaultMaxBytes
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return d
}

// adminRoutes mounts the administrator and auditor areas: each behind its
// role and a TOTP-verified session (anyone else gets 404, or the TOTP step).
// Areas whose dependencies are not wired are left to FillComing.
func (s *Site) adminRoutes(r gin.IRouter, pg *gin.RouterGroup) {
	m := s.deps.Sessions
	d := s.deps.Admin
	if d.adminEnabled() {
		if err := d.adminCheck(); err != nil {
			panic(err) // a wiring mistake: refuse to start
		}
		s.deps.Admin = d.withDefaults()
		admin := pg.Group("", m.RequireRole(session.RoleAdmin), m.RequireTOTP())
		admin.GET(PathAdmin, s.adminSearch)
		admin.GET(PathAdminLocked, s.adminLocked)
		admin.GET(PathAdminAccount, s.adminAccount)
		admin.POST(PathAdminAccount+"/"+actUnlock, s.adminUnlock)
		admin.POST(PathAdminAccount+"/"+actTemp, s.adminIssueTemp)
		admin.POST(PathAdminAccount+"/"+actVerify, s.adminVerifyAnswer)
		admin.POST(PathAdminAccount+"/"+actRole, s.adminRole)
		admin.POST(PathAdminAccount+"/"+actTOTP, s.adminResetTOTP)
		admin.GET(PathAdminImport, s.adminImportForm)
		// The upload sets its own body limit before anything reads the
		// body (the CSRF check parses the form), and checks the role
		// before that, so nobody else can make the server read 32 MiB.
		up := r.Group("", httpx.BodyLimit(s.deps.Admin.MaxUpload+64<<10), m.RequireRole(session.RoleAdmin), m.RequireTOTP(), s.adminImportTooLarge, m.CSRF())
		up.POST(PathAdminImport, s.adminImport)
	}
	if d.Audit != nil {
		s.deps.Admin = s.deps.Admin.withDefaults()
		aud := pg.Group("", m.RequireRole(session.RoleAuditor), m.RequireTOTP())
		aud.GET(PathAudit, s.auditHistory)
		aud.GET(PathAuditExport, s.auditExport)
		aud.GET(PathAuditState, s.auditState)
		aud.GET(PathAuditIntegrity, s.auditIntegrity)
	}
}

// Paths of the admin and auditor pages beyond the menu's (paths.go).
const (
	PathAdminLocked  = "/pentadbir/akaun-dikunci"
	PathAdminAccount = "/pentadbir/akaun/:ic"
	PathAuditState   = "/audit/keadaan"
	PathAuditExport  = "/audit/eksport.csv"

	actUnlock = "buka-kunci"
	actTemp   = "kata-laluan-sementara"
	actVerify = "semak-jawapan"
	actRole   = "peranan"
	actTOTP   = "set-semula-totp"
)

// adminAccountURL is the page of one account (ic: digits).
func adminAccountURL(ic string) string {
	return strings.Replace(PathAdminAccount, ":ic", ic, 1)
}

// adminMeta is the metadata of an admin command: a fresh command ID (a
// resubmitted form is a new attempt: reusing an ID would make the store
// take a later, different action for a retry and drop it), the request ID
// as correlation, the administrator as actor, address and user agent.
func adminMeta(c *gin.Context) commands.Meta {
	u, _ := session.User(c)
	return commands.Meta{
		CommandID: uuid.New(), CorrelationID: httpx.RequestIDOf(c),
		Actor:    eventlog.Actor{Kind: eventlog.ActorAdmin, ID: u.UserID},
		SourceIP: c.ClientIP(), UserAgent: httpx.UserAgent(c),
	}
}

// adminWait is read-your-writes after an admin command (bounded; on
// timeout the page proceeds and the lag is logged).
func (s *Site) adminWait(c *gin.Context, pos uint64) {
	d := s.deps.Admin
	s.waitBounded(c, d.WaitFor, d.WaitTimeout, pos, "admin: read-your-writes wait gave up")
}

// adminRules are the errors the admin and auditor pages explain in their
// own words (the shared table speaks to staff about their own account).
var adminRules = []httpx.Rule{
	{Err: account.ErrNotLocked, Status: http.StatusConflict, Code: "admin.not_locked", Key: "admin.err.not_locked"},
	{Err: account.ErrOwnAdminRole, Status: http.StatusConflict, Code: "admin.own_admin_role", Key: "admin.err.own_admin_role"},
	{Err: account.ErrOwnRole, Status: http.StatusConflict, Code: "admin.own_role", Key: "admin.err.own_role"},
	{Err: account.ErrOwnTOTP, Status: http.StatusConflict, Code: "admin.own_totp", Key: "admin.err.own_totp"},
	{Err: account.ErrNotActivated, Status: http.StatusConflict, Code: "admin.not_activated", Key: "admin.err.not_activated"},
	{Err: account.ErrAnswerChecksExhausted, Status: http.StatusTooManyRequests, Code: "admin.answer_checks_paused", Key: "admin.err.answer_checks_paused"},
	{Err: account.ErrTOTPNotEnabled, Status: http.StatusConflict, Code: "admin.totp_not_enabled", Key: "admin.err.totp_not_enabled"},
	{Err: account.ErrNotFound, Status: http.StatusNotFound, Code: "admin.account_not_found", Key: "admin.err.no_account"},
	{Err: commands.ErrForbidden, Status: http.StatusForbidden, Code: "admin.forbidden", Key: "admin.err.forbidden"},
}

// adminFail shows a command's error on an admin page: field errors beside
// their fields, the admin's own sentinel errors in the box at the top, and
// anything else through Site.Fail (faults become the error page).
func (s *Site) adminFail(c *gin.Context, name string, p Page, err error) {
	if p.Form == nil {
		p.Form = NewForm(nil)
	}
	var fe *account.FieldError
	if errors.As(err, &fe) {
		p.Form.Fail(fe.Field, adminFieldMessage(fe.Code))
		s.Render(c, http.StatusUnprocessableEntity, name, p)
		return
	}
	for _, r := range adminRules {
		if errors.Is(err, r.Err) {
			p.Problem = &httpx.Problem{Status: r.Status, Code: r.Code, Message: i18n.Get(r.Key)}
			s.Render(c, r.Status, name, p)
			return
		}
	}
	s.Fail(c, name, p, err)
}

// adminFieldMessage words a domain field error code.
func adminFieldMessage(code string) i18n.Text {
	if t, ok := i18n.Lookup("admin.c." + code); ok {
		return t
	}
	return i18n.Get("err.invalid")
}

// adminPaths are the admin and auditor pages templates reach by name
// through View.AdminURL (the menu's own pages are in namedPaths).
var adminPaths = map[string]string{
	"admin_locked": PathAdminLocked, "audit_state": PathAuditState, "audit_export": PathAuditExport,
}

// AdminURL returns the path of an admin or auditor page by name. An
// unknown name panics at render time, which the page tests catch.
func (v *View) AdminURL(name string) string {
	p, ok := adminPaths[name]
	if !ok {
		panic("web: no admin page named " + name)
	}
	return p
}
