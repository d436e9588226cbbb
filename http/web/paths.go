package web

import (
	"math/bits"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/melaka-gov/ispeks/http/session"
)

// Paths of the portal's pages. Templates reach them by name through
// View.URL (the names are the map keys below).
const (
	PathLanding        = "/"
	PathLogin          = "/login"             // POST: user ID (step 1)
	PathLoginPassword  = "/login/kata-laluan" // password (step 2), after the security image
	PathLoginTOTP      = "/login/dua-faktor"  // TOTP code (admins, auditors, staff who enrolled)
	PathActivate       = "/pengaktifan"       // the Aktif form after a temporary password
	PathRegister       = "/pendaftaran"
	PathForgot         = "/lupa-kata-laluan"
	PathHome           = "/utama"
	PathStatusBayaran  = "/permohonan/status-bayaran"
	PathPenyataGaji    = "/penyata-gaji"
	PathProfile        = "/tetapan-akaun/kemaskini-maklumat"
	PathPassword       = "/tetapan-akaun/tukar-kata-laluan"
	PathTwoFactor      = "/tetapan-akaun/dua-faktor"
	PathActivity       = "/tetapan-akaun/aktiviti-log-masuk"
	PathLogout         = "/log-keluar" // POST only
	PathAdmin          = "/pentadbir"
	PathAdminImport    = "/pentadbir/import"
	PathAudit          = "/audit"
	PathAuditIntegrity = "/audit/integriti"
	PathDemoForm       = "/demo/borang" // demo mode only
	PathStatic         = "/static"
)

// openBeforePasswordChange are the pages a session that must change its
// password may open: Tukar Kata Laluan, the two-factor enrolment and code
// steps an administrator or auditor goes through first, and Log Keluar.
var openBeforePasswordChange = map[string]bool{
	PathPassword: true, PathTwoFactor: true, PathTwoFactorStart: true, PathTwoFactorConfirm: true,
	PathLoginTOTP: true, PathLogout: true,
}

// OpenBeforePasswordChange is session.Manager.PasswordChangeFirst's list:
// those pages and the static files they use.
func OpenBeforePasswordChange(r *http.Request) bool {
	p := r.URL.Path
	return openBeforePasswordChange[p] || strings.HasPrefix(p, PathStatic+"/")
}

// TakesFormerForms is session.Config.FormerForms: the login's forms that
// answer a form drawn before the login moved on (another tab, a double
// click) by saying what happened (formerForm), and Log Keluar, which a
// page drawn before a step-up or a password change in another tab still
// carries: it logs out (logout).
func TakesFormerForms(r *http.Request) bool {
	switch r.URL.Path {
	case PathActivate, PathLoginReset, PathLoginTOTP, PathLogout:
		return r.Method == http.MethodPost
	}
	return false
}

var namedPaths = map[string]string{
	"landing": PathLanding, "login": PathLogin, "login_password": PathLoginPassword,
	"login_totp": PathLoginTOTP, "activate": PathActivate, "register": PathRegister,
	"forgot": PathForgot, "home": PathHome, "status_bayaran": PathStatusBayaran,
	"penyata_gaji": PathPenyataGaji, "profile": PathProfile, "password": PathPassword,
	"two_factor": PathTwoFactor, "activity": PathActivity, "logout": PathLogout, "admin": PathAdmin,
	"admin_import": PathAdminImport, "audit": PathAudit, "audit_integrity": PathAuditIntegrity,
	"demo_form": PathDemoForm,
}

// MenuItem is one entry of the logged-in menu. An item with Children is a
// group (a <details> drop-down); one with POST is a form button (Log
// Keluar changes state, so it is never a link).
type MenuItem struct {
	Label    string // catalog key
	Path     string
	Children []MenuItem
	POST     bool
	// Roles limits the item to these roles; empty means every user.
	Roles []string
}

// menu is the manual's menu, plus the admin and auditor areas. Adding a
// page to the menu is adding it here; until its handler exists the page
// shows "Akan Datang" (FillComing).
var menu = []MenuItem{
	{Label: "nav.home", Path: PathHome},
	{Label: "nav.permohonan", Children: []MenuItem{
		{Label: "nav.status_bayaran", Path: PathStatusBayaran},
	}},
	{Label: "nav.penyata_gaji", Path: PathPenyataGaji},
	{Label: "nav.tetapan_akaun", Children: []MenuItem{
		{Label: "nav.kemaskini", Path: PathProfile},
		{Label: "nav.tukar_kata_laluan", Path: PathPassword},
		{Label: "nav.dua_faktor", Path: PathTwoFactor},
		{Label: "nav.aktiviti", Path: PathActivity},
	}},
	{Label: "nav.pentadbir", Roles: []string{session.RoleAdmin}, Children: []MenuItem{
		{Label: "nav.admin_accounts", Path: PathAdmin},
		{Label: "nav.admin_import", Path: PathAdminImport},
	}},
	{Label: "nav.audit", Roles: []string{session.RoleAuditor}, Children: []MenuItem{
		{Label: "nav.audit_history", Path: PathAudit},
		{Label: "nav.audit_integrity", Path: PathAuditIntegrity},
	}},
	{Label: "nav.log_keluar", Path: PathLogout, POST: true},
}

// menuFor returns the menu items s may see. Every page builds its menu,
// and few sets of items exist (one per combination of the roles the menu
// names): each is built once and shared, read-only.
func menuFor(s session.Session) []MenuItem {
	var mask uint64 // bit i: menu[i] is shown
	for i, it := range menu {
		if len(it.Roles) == 0 || s.HasRole(it.Roles...) {
			mask |= 1 << i
		}
	}
	if m, ok := menuSets.Load(mask); ok {
		return m.([]MenuItem)
	}
	out := make([]MenuItem, 0, bits.OnesCount64(mask))
	for i, it := range menu {
		if mask&(1<<i) != 0 {
			out = append(out, it)
		}
	}
	menuSets.Store(mask, out)
	return out
}

// menuSets holds menuFor's results by their mask (menu has at most 64
// items: TestMenuFor).
var menuSets sync.Map

// LocalPath returns next if it is a path on this site ("/utama",
// "/pentadbir?ic=…"), else fallback. Use it on every ?next= before
// redirecting: a crafted link must not send a user to another site after
// login.
func LocalPath(next, fallback string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return fallback
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return fallback
	}
	return next
}
