package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/i18n"
	"github.com/melaka-gov/ispeks/http/session"
)

// Page is what a handler gives Site.Render: the page's own content. The
// layout's shared parts (language, user, menu, CSRF token, helpdesk) are
// added by Render.
type Page struct {
	Title string // catalog key of the page title (and its <h1> by default)
	Form  *Form
	// Problem is a form-level error shown in a box at the top of the form
	// with the helpdesk contacts ("Pengguna Tidak Dapat Didaftarkan, …",
	// "Kata Laluan Tidak Tepat", the lockout notice); on the error page it
	// is the error itself.
	Problem *httpx.Problem
	// Notice is a catalog key of an information message ("Anda telah log
	// keluar.").
	Notice string
	// Data is the page's own data (a table's rows, a slip).
	Data any
	// LockWarning: the form refused a wrong password or code that counts
	// towards the lock (Tukar Kata Laluan, an e-mail change, the two-factor
	// step), so the error summary says that the account locks after
	// LockoutThreshold mistakes in a row; without it the third slip there
	// locks the person out unwarned.
	LockWarning bool
	// TitleDetail names the one document a page shows ("Pendahuluan
	// Perjalanan BV-2026-000101"), after the title's words in the <title>,
	// so two such pages' tabs differ. It is not in the layout cache's key
	// (see fragments): a marker stands in for it.
	TitleDetail string
}

// Contact is one helpdesk line.
type Contact struct {
	Name  string
	Phone string
}

// DefaultHelpdesk is the manual's list of System Administrator contacts.
func DefaultHelpdesk() []Contact {
	return []Contact{
		{"En. Mohd Fadzlezam Bin Sulaiman", "06-2307290"},
		{"Pn. Noorazlinda binti Jumaat", "06-2307353"},
		{"Pn. Norasikin binti Salam", "06-2307594"},
		{"En. Amirudin bin Zainal", "06-2307353"},
	}
}

// View is what templates see: the Page plus the layout's data. Its methods
// are the templates' helpers ({{.T "key"}}, {{.URL "home"}},
// {{template "field" .Field "ic" "label.ic" "text"}}).
type View struct {
	Page
	Lang      i18n.Lang
	User      *session.Session // nil unless logged in
	CSRF      string
	Helpdesk  []Contact
	Path      string // the request path, for the menu's current item
	LangURL   string // the toggle link
	RequestID string
	Menu      []MenuItem
	// Carried is a catalog key of a notice the login left for the page
	// it ended on (Site.carryNotice), shown above the page's content.
	Carried string
	site    *Site
}

// T returns a catalog text in the page's language.
func (v *View) T(key string) string { return i18n.T(v.Lang, key) }

// Tf is T with fmt args.
func (v *View) Tf(key string, args ...any) string { return i18n.Tf(v.Lang, key, args...) }

// Msg shows a two-language text in the page's language.
func (v *View) Msg(t i18n.Text) string { return t.In(v.Lang) }

// URL returns the path of a named page (see namedPaths). An unknown name
// panics at render time, which the template test catches.
func (v *View) URL(name string) string {
	p, ok := namedPaths[name]
	if !ok {
		panic("web: no page named " + name)
	}
	return p
}

// Asset returns a static file's URL with its content hash, so it can be
// cached for a year and still change when the file does.
func (v *View) Asset(name string) string { return v.site.asset(name) }

// Current reports whether path is the menu item of the page being shown
// (for aria-current in the menu): the item the page's path is, or lies
// below, and of those the most specific, so that Muat Naik Data Kakitangan
// (/pentadbir/import) is not marked together with Cari Akaun (/pentadbir).
func (v *View) Current(path string) bool {
	return path != "" && menuCurrent(v.Path) == path
}

// GroupCurrent reports whether any child of a menu group is current.
func (v *View) GroupCurrent(it MenuItem) bool {
	for _, ch := range it.Children {
		if v.Current(ch.Path) {
			return true
		}
	}
	return false
}

// RoleNames lists the logged-in user's roles in the page's language.
func (v *View) RoleNames() string {
	if v.User == nil {
		return ""
	}
	names := make([]string, len(v.User.Roles))
	for i, r := range v.User.Roles {
		names[i] = v.T("role." + r)
	}
	return strings.Join(names, ", ")
}

// LoginID is the logged-in user's ID as the login shows it
// (791117-04-5671): the username a password manager keeps a new password
// under.
func (v *View) LoginID() string {
	if v.User == nil {
		return ""
	}
	return acctFormatID(v.User.UserID)
}

// LockoutThreshold is the number of wrong passwords or codes in a row that
// locks an account.
func (v *View) LockoutThreshold() int { return v.site.cfg.LockoutThreshold }

// HasRole reports whether the logged-in user holds role.
func (v *View) HasRole(role string) bool { return v.User != nil && v.User.HasRole(role) }

// StatusTitle is the heading of an error page.
func (v *View) StatusTitle() string {
	if v.Problem == nil {
		return v.T("title.error")
	}
	return v.Msg(v.Problem.Message)
}

// errorShown is page data that shows an error of its own, outside the
// form's problems (Kata Laluan Tidak Tepat, an ID already registered).
type errorShown interface{ showsError() bool }

// HasError reports whether the page shows an error: a refused field, a
// form-level refusal, or its data's own.
func (v *View) HasError() bool {
	if v.Problem != nil || !v.Form.Valid() {
		return true
	}
	d, ok := v.Data.(errorShown)
	return ok && d.showsError()
}

// PageTitle is the page's part of the <title>, which a screen reader reads
// first on every new page: after "Ralat:" when the page shows an error,
// so a form drawn again is not taken for the same page unchanged; the
// error page names its error.
func (v *View) PageTitle() string { return v.pageTitle(v.TitleDetail) }

// pageTitle is PageTitle with detail for the page's TitleDetail.
func (v *View) pageTitle(detail string) string {
	if v.Title == "title.error" && v.Problem != nil {
		return v.T("err.prefix") + " " + v.StatusTitle()
	}
	title := v.T(v.Title)
	if detail != "" {
		title += ": " + detail
	}
	if v.HasError() {
		return v.T("err.prefix") + " " + title
	}
	return title
}

// FieldView is one input, ready for the "field" template: label, value,
// hint and error, already in the page's language.
type FieldView struct {
	Name, ID, Label, Type, Value, Hint, Error string
	Autocomplete, Inputmode, Spellcheck       string // spellcheck "false": no online spellchecker sees a secret or code
	Required                                  bool
	MaxLength                                 int
	Options                                   []OptionView // select only
	// EmptyOption is the words of a select's empty choice ("Sila pilih",
	// "Semua tahun"), which a screen reader reads as the field's value.
	EmptyOption               string
	RequiredText, ErrorPrefix string
}

// OptionView is one choice of a select.
type OptionView struct {
	Value, Label string
	Selected     bool
}

// Field describes an input for the "field" template. labelKey is a catalog
// key; typ is the input type ("text", "email", "password", "tel",
// "select"). opts are "key=value" words: autocomplete=, inputmode=,
// spellcheck=, hint= (catalog key), maxlength=, and the bare word
// "required".
func (v *View) Field(name, labelKey, typ string, opts ...string) FieldView {
	fv := FieldView{Name: name, ID: "f-" + name, Label: v.T(labelKey), Type: typ,
		Value: v.Form.Shown(name), RequiredText: v.T("label.required"), ErrorPrefix: v.T("err.prefix")}
	if msg, ok := v.Form.Error(name); ok {
		fv.Error = v.Msg(msg)
	}
	for _, o := range opts {
		k, val, _ := strings.Cut(o, "=")
		switch k {
		case "autocomplete":
			fv.Autocomplete = val
		case "inputmode":
			fv.Inputmode = val
		case "spellcheck":
			fv.Spellcheck = val
		case "hint":
			fv.Hint = v.T(val)
		case "maxlength":
			fv.MaxLength, _ = strconv.Atoi(val)
		case "required":
			fv.Required = true
		default:
			panic(fmt.Sprintf("web: field %s: unknown option %q", name, o))
		}
	}
	return fv
}

// Select is Field for a drop-down; each option is "value|labelKey".
func (v *View) Select(name, labelKey string, options ...string) FieldView {
	fv := v.Field(name, labelKey, "select", "required")
	fv.EmptyOption = v.T("label.choose")
	cur := v.Form.Shown(name)
	for _, o := range options {
		val, key, _ := strings.Cut(o, "|")
		fv.Options = append(fv.Options, OptionView{Value: val, Label: v.T(key), Selected: val == cur})
	}
	return fv
}

// GalleryItem is one security image in the activation gallery.
type GalleryItem struct {
	ID, InputID, Name, URL string
	Checked                bool
}

// GalleryView is the security-image chooser: a fieldset of radio buttons,
// each labelled by its picture and name (keyboard: arrow keys move between
// them, as for any radio group).
type GalleryView struct {
	Name, Legend, Hint, Error string
	RequiredText              string // "wajib": a security image must be chosen
	ErrorPrefix               string // "Ralat:", read before the error
	Items                     []GalleryItem
}

// Gallery builds the chooser for form field name.
func (v *View) Gallery(name string) GalleryView {
	g := GalleryView{Name: name, Legend: v.T("label.security_image"), Hint: v.T("gallery.hint"), RequiredText: v.T("label.required"),
		ErrorPrefix: v.T("err.prefix")}
	if msg, ok := v.Form.Error(name); ok {
		g.Error = v.Msg(msg)
	}
	cur := v.Form.Shown(name)
	for _, img := range securityImages {
		g.Items = append(g.Items, GalleryItem{
			ID: img.ID, InputID: "f-" + name + "-" + img.ID, Name: img.Name.In(v.Lang),
			URL: v.Asset(img.URLPath()), Checked: img.ID == cur,
		})
	}
	return g
}

// ImageURL is the URL of one security image (the login page shows the
// account's, or a decoy).
func (v *View) ImageURL(id string) string {
	img, ok := SecurityImageByID(id)
	if !ok {
		return ""
	}
	return v.Asset(img.URLPath())
}

// ImageName is the name of one security image in the page's language.
func (v *View) ImageName(id string) string {
	img, ok := SecurityImageByID(id)
	if !ok {
		return ""
	}
	return img.Name.In(v.Lang)
}

// FieldLabel is the label of a field problem for the summary.
func (v *View) FieldLabel(p FieldProblem) string {
	if p.Label == "" {
		return ""
	}
	return v.T(p.Label)
}

// langURL is the toggle link: the page's GET path (togglePath) with the
// request's query and the language switched. The server does not clean
// paths, so a crafted link (//evil.example/x, /%2F%2Fevil.example) reaches
// the 404 page as is: the toggle stays on this site, the landing page if
// the path could be read as another host.
func langURL(p string, query url.Values, to i18n.Lang) string {
	query.Set(i18n.QueryParam, string(to))
	dec, err := url.PathUnescape(p)
	if err != nil || LocalPath(p, "") == "" || LocalPath(dec, "") == "" {
		p = PathLanding
	}
	return p + "?" + query.Encode()
}

// formPages are the POST-only actions whose form is on another page.
var formPages = map[string]string{
	PathLogin:            PathLanding,
	PathLogout:           PathLanding,
	PathTwoFactorStart:   PathTwoFactor,
	PathTwoFactorConfirm: PathTwoFactor,
	PathRecoveryCodes:    PathTwoFactor,
}

// adminActions are the POST-only actions of an account's admin page.
var adminActions = []string{actUnlock, actTemp, actVerify, actRole, actTOTP}

// togglePath is the page the language toggle reloads: the request's path,
// except that a page drawn in answer to a POST-only action (a refused
// form, the QR code of Dua Faktor) toggles on its form's GET page. A
// link back to the action would be a GET on it, a 405.
func togglePath(r *http.Request) string {
	p := r.URL.EscapedPath()
	if page, ok := formPages[r.URL.Path]; ok {
		return page
	}
	prefix := strings.TrimSuffix(PathAdminAccount, ":ic")
	if rest, ok := strings.CutPrefix(p, prefix); ok {
		if ic, act, ok := strings.Cut(rest, "/"); ok && ic != "" && slices.Contains(adminActions, act) {
			return prefix + ic
		}
	}
	return p
}
