package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/i18n"
	"github.com/melaka-gov/ispeks/infra/staffimport"
)

// The employee-master upload: the same CSV `ispeks import employees`
// reads, checked row by row by infra/staffimport. Valid rows land (each
// through PutStaff with the administrator as actor); the page lists every
// row not imported with its column and reason.

type adminImportData struct {
	Available bool
	MaxMB     int64
	Columns   []string
	Report    *staffimport.Report
	FileName  string
	Problems  []adminImportProblem
}

type adminImportProblem struct {
	Row                int
	IC, Column, Reason string
	// Message is the code's wording when the catalog has one; Reason is
	// the import's own explanation (English, as the CLI prints it).
	Message    i18n.Text
	OutcomeKey string
}

func (s *Site) adminImportPage() (Page, *adminImportData) {
	d := &adminImportData{Available: s.deps.Admin.Importer != nil, MaxMB: s.deps.Admin.MaxUpload >> 20, Columns: staffimport.Columns()}
	return Page{Title: "title.admin_import", Data: d, Form: NewForm(nil)}, d
}

func (s *Site) adminImportForm(c *gin.Context) {
	page, _ := s.adminImportPage()
	s.Render(c, http.StatusOK, "admin_import", page)
}

// adminImportTooLarge refuses an upload whose declared size is past the
// limit before anything reads it (the CSRF check would parse the form and
// fail with a bare 413 page): the upload page says it beside the file
// field, with the limit and what to do, as the import and the console say
// it of a file just under the body limit. Nothing is read or changed, so
// it needs no CSRF token; the role is checked before it.
func (s *Site) adminImportTooLarge(c *gin.Context) {
	if c.Request.ContentLength <= s.deps.Admin.MaxUpload+64<<10 {
		c.Next()
		return
	}
	s.adminImportTooLargePage(c)
	c.Abort()
}

func (s *Site) adminImportTooLargePage(c *gin.Context) {
	page, _ := s.adminImportPage()
	page.Form.Fail("file", adminFileMessage(&staffimport.FileError{Code: "too_large", Limit: s.deps.Admin.MaxUpload}))
	s.Render(c, http.StatusRequestEntityTooLarge, "admin_import", page)
}

// adminImport lands an uploaded file. A file refused as a whole (no header,
// a missing column, too big, not UTF-8) is an error beside the file field
// and nothing lands.
func (s *Site) adminImport(c *gin.Context) {
	page, d := s.adminImportPage()
	if !d.Available {
		httpx.Abort(c, httpx.ErrNotFound)
		return
	}
	fh, err := c.FormFile("file")
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			s.adminImportTooLargePage(c) // a body without a declared size
			return
		}
		page.Form.FailKey("file", "admin.import.choose_file")
		s.Invalid(c, "admin_import", page)
		return
	}
	d.FileName = fh.Filename
	if len([]rune(d.FileName)) > 120 {
		d.FileName = string([]rune(d.FileName)[:120]) + "…"
	}
	if fh.Size == 0 {
		page.Form.FailKey("file", "admin.import.empty")
		s.Invalid(c, "admin_import", page)
		return
	}
	f, err := fh.Open()
	if err != nil {
		httpx.Abort(c, err)
		return
	}
	defer f.Close()
	m := adminMeta(c)
	rep, err := s.deps.Admin.Importer.Import(c.Request.Context(), f, staffimport.Source{Actor: m.Actor, SourceIP: m.SourceIP, UserAgent: m.UserAgent}, nil)
	switch {
	case errors.Is(err, staffimport.ErrFile):
		page.Form.Fail("file", adminFileMessage(err))
		s.Invalid(c, "admin_import", page)
		return
	case errors.Is(err, commands.ErrForbidden):
		s.adminFail(c, "admin_import", page, err)
		return
	case err != nil && rep.Results == nil:
		httpx.Abort(c, err)
		return
	}
	// Rows that landed stay landed even when the import was cut short;
	// the report says which did not.
	s.adminWait(c, rep.LastPosition)
	d.Report = &rep
	for _, res := range rep.NotImported() {
		for _, p := range res.Problems {
			col := p.Column
			if col == "" {
				col = p.Field
			}
			pr := adminImportProblem{Row: res.Row, IC: res.IC, Column: col, Reason: p.Reason,
				OutcomeKey: "admin.import.outcome." + string(res.Outcome)}
			if t, ok := i18n.Lookup("admin.c." + p.Code); ok {
				pr.Message = t
			}
			d.Problems = append(d.Problems, pr)
		}
	}
	status := http.StatusOK
	if !rep.Complete() {
		status = http.StatusUnprocessableEntity
	}
	s.Render(c, status, "admin_import", page)
}

// adminFileMessage says why a file was refused, in both languages: the
// catalog's wording of the refusal's code ("admin.import.file.<code>"),
// after "Fail ditolak; tiada data disimpan:". A refusal without a wording
// keeps the import's own reason (English, as the CLI prints it).
func adminFileMessage(err error) i18n.Text {
	var fe *staffimport.FileError
	if !errors.As(err, &fe) {
		return i18n.Get("admin.import.refused")
	}
	in := func(l i18n.Lang) string {
		prefix := i18n.T(l, "admin.import.refused") + " "
		key := "admin.import.file." + fe.Code
		if _, ok := i18n.Lookup(key); !ok {
			return prefix + strings.TrimPrefix(fe.Error(), "staffimport: ")
		}
		switch fe.Code {
		case "missing_columns":
			return prefix + i18n.Tf(l, key, strings.Join(fe.Columns, ", "), strings.Join(staffimport.Columns(), ", "))
		case "duplicate_column":
			return prefix + i18n.Tf(l, key, strings.Join(fe.Columns, ", "))
		case "too_many_rows":
			return prefix + i18n.Tf(l, key, fe.Limit)
		case "too_large":
			return prefix + i18n.Tf(l, key, (fe.Limit+1<<20-1)>>20)
		}
		return prefix + i18n.T(l, key)
	}
	return i18n.Text{MS: in(i18n.MS), EN: in(i18n.EN)}
}
