package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/mykad"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/i18n"
)

// EmployeeInput is the body of PUT /employees/{ic}: the whole record (the
// IC number is the path's).
type EmployeeInput struct {
	Name        string `json:"name"`
	Email       string `json:"email"`
	Department  string `json:"department"`
	Post        string `json:"post"`
	StaffNumber string `json:"staff_number"`
}

// Results of a write.
const (
	ResultCreated     = "created"
	ResultRejoined    = "rejoined" // recorded again after leaving service
	ResultUpdated     = "updated"
	ResultUnchanged   = "unchanged"
	ResultLeftService = "left_service"
	// ResultLeavingCancelled: a leaving date still ahead was cancelled.
	ResultLeavingCancelled = "leaving_cancelled"
)

// EmployeeResult answers PUT /employees/{ic}: 201 created, 200 updated or
// unchanged. Position is the log position of the event (0 when unchanged);
// Version the record's stream version.
type EmployeeResult struct {
	Result   string           `json:"result"`
	Position uint64           `json:"position,omitempty"`
	Version  uint64           `json:"version"`
	Employee employee.Details `json:"employee"`
}

// LeftServiceInput is the body of POST /employees/{ic}/left-service.
type LeftServiceInput struct {
	Date   string `json:"date"`
	Reason string `json:"reason"`
}

// LeftServiceResult answers POST /employees/{ic}/left-service.
type LeftServiceResult struct {
	Result   string `json:"result"`
	Position uint64 `json:"position,omitempty"`
	Version  uint64 `json:"version"`
	IC       string `json:"ic"`
	Date     string `json:"date"`
}

// CancelLeavingInput is the optional body of DELETE
// /employees/{ic}/left-service.
type CancelLeavingInput struct {
	Reason string `json:"reason"`
}

// LeavingCancelledResult answers DELETE /employees/{ic}/left-service: Date
// is the leaving date that was cancelled.
type LeavingCancelledResult struct {
	Result   string `json:"result"`
	Position uint64 `json:"position"`
	Version  uint64 `json:"version"`
	IC       string `json:"ic"`
	Date     string `json:"date"`
}

// employeeRules answer the employee master's refusals; the API's error map
// holds them, so every endpoint says them alike.
var employeeRules = []httpx.Rule{
	// Other requests kept changing the record while this one was decided
	// (commands.Runner gives up after a few tries): nothing was written and
	// nothing is at fault, so the client is told to send it again, not
	// given a 500.
	{Err: commands.ErrConflict, Status: http.StatusConflict, Code: "concurrent_change", Text: i18n.Text{
		MS: "Rekod ini sedang diubah oleh permintaan lain pada masa yang sama; tiada apa-apa diubah. Hantar semula permintaan ini.",
		EN: "The record was being changed by other requests at the same time; nothing was changed. Send this request again.",
	}},
	{Err: employee.ErrNotRecorded, Status: http.StatusNotFound, Code: "employee.not_found", Field: "ic", Text: i18n.Text{
		MS: "Tiada rekod pekerja dengan No. Pengenalan ini.",
		EN: "There is no staff record with this IC number.",
	}},
	{Err: employee.ErrNoLeavingDate, Status: http.StatusConflict, Code: "employee.no_leaving_date", Text: i18n.Text{
		MS: "Tiada tarikh keluar perkhidmatan yang dijadualkan bagi pekerja ini; tiada apa-apa untuk dibatalkan.",
		EN: "No leaving date is scheduled for this member of staff; there is nothing to cancel.",
	}},
	{Err: employee.ErrLeftService, Status: http.StatusConflict, Code: "employee.left_service", Text: i18n.Text{
		MS: "Pekerja ini telah keluar perkhidmatan: tarikh yang telah tiba tidak boleh dibatalkan. Jika dia kembali berkhidmat, hantar semula rekodnya (PUT /employees/{ic}).",
		EN: "This member of staff has already left service: a date that has come cannot be cancelled. If they rejoin, PUT their record again (PUT /employees/{ic}).",
	}},
}

func (h *handlers) putEmployee(c *gin.Context) {
	if !h.jsonBody(c) {
		return
	}
	var in EmployeeInput
	if err := httpx.DecodeJSON(c, &in); err != nil {
		h.fail(c, err)
		return
	}
	d, err := employee.Details{IC: c.Param("ic"), Name: in.Name, Email: in.Email,
		Department: in.Department, Post: in.Post, StaffNumber: in.StaffNumber}.Validate()
	fields, _ := employeeFields(err)
	if err != nil && fields == nil {
		h.fail(c, err)
		return
	}
	if !hasField(fields, "email") {
		if email, ferr := employee.NormalizeEmail("email", in.Email); ferr == nil && !employee.DomainAllowed(email, h.domains) {
			fields = append(fields, FieldProblem{Field: "email", Code: "domain_not_allowed",
				Reason: fmt.Sprintf("%s is not an official e-mail domain", employee.EmailDomain(email))})
		}
	}
	if len(fields) > 0 {
		h.invalid(c, fields)
		return
	}
	meta, keyed, ok := h.commandMeta(c, "PUT /employees/"+d.IC)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	stream := employee.Stream(mykad.IC(d.IC))
	res, err := h.put.Handle(ctx, commands.PutStaff{Meta: meta, Details: d})
	if err != nil {
		h.commandError(c, err)
		return
	}
	out := EmployeeResult{Result: ResultUnchanged, Version: res.Version, Employee: d}
	status := http.StatusOK
	typ, version := "", uint64(0)
	switch {
	case res.NoChange:
		// Only employee.StaffUnchanged, so that a resend of this keyed
		// request is a repeat: the record is unchanged.
	case res.Appended > 0:
		out.Position, version = res.Position, res.Version
		typ = h.eventAt(ctx, stream, res.Version)
	case keyed:
		// A retry of a stored request answers as the request did (without
		// a key the command ID is new: nothing to look for, and an
		// unchanged upsert of a bulk sync reads no stream).
		if rec, ok := h.original(ctx, stream, meta.CommandID); ok && rec.Type != (employee.StaffUnchanged{}).EventType() {
			out.Position, typ, version = rec.Position, rec.Type, rec.Version
		}
	}
	switch {
	case out.Position == 0:
	case typ != (employee.StaffRecorded{}).EventType():
		out.Result = ResultUpdated
	case version > 1:
		// Recorded again on a stream that had left service: the record
		// existed, so 200, and said apart so a sync that brings a leaver
		// back is noticed.
		out.Result = ResultRejoined
	default:
		out.Result, status = ResultCreated, http.StatusCreated
		c.Header("Location", c.Request.URL.Path)
	}
	c.JSON(status, out)
}

func (h *handlers) leftService(c *gin.Context) {
	if !h.jsonBody(c) {
		return
	}
	var in LeftServiceInput
	if err := httpx.DecodeJSON(c, &in); err != nil {
		h.fail(c, err)
		return
	}
	ic, err := mykad.Parse(c.Param("ic"))
	if err != nil {
		h.invalid(c, []FieldProblem{icProblem(err)})
		return
	}
	meta, keyed, ok := h.commandMeta(c, "POST /employees/"+ic.String()+"/left-service")
	if !ok {
		return
	}
	ctx := c.Request.Context()
	res, err := h.left.Handle(ctx, commands.StaffLeftService{Meta: meta, IC: ic.String(), Date: in.Date, Reason: in.Reason})
	switch {
	case errors.Is(err, employee.ErrLeftService):
		// The refusal names the date the person left: the one the domain
		// refused with, which for a keyed request re-sent is the first
		// refusal's (recorded, employee.LeavingDateRefused), not today's
		// state (after a rejoin, no date at all).
		var lse *employee.LeftServiceError
		on := ""
		if errors.As(err, &lse) {
			on = lse.On
		} else if on, err = h.leftOn(ctx, ic); err != nil {
			h.fail(c, err)
			return
		}
		if on == strings.TrimSpace(in.Date) {
			// The date this request asked for is the one recorded (the same
			// date is no refusal under a command ID, so another request
			// recorded it after this one was refused): nothing to change.
			c.JSON(http.StatusOK, LeftServiceResult{Result: ResultUnchanged, Version: res.Version, IC: ic.String(), Date: on})
			return
		}
		h.problem(c, http.StatusConflict, "employee.left_service", "date", i18n.Text{
			MS: "Pekerja ini telah keluar perkhidmatan pada " + on + ".",
			EN: "This member of staff already left service on " + on + ".",
		})
		return
	case err != nil:
		h.commandError(c, err)
		return
	}
	out := LeftServiceResult{Result: ResultLeftService, Position: res.Position, Version: res.Version, IC: ic.String(), Date: strings.TrimSpace(in.Date)}
	switch {
	case res.NoChange:
		// Only employee.LeavingDateUnchanged, so that a resend of this
		// keyed request is a repeat: the date was already recorded.
		out.Result, out.Position = ResultUnchanged, 0
	case res.Appended > 0:
	case !keyed:
		// The command ID is new, so this is no retry: the date was already
		// recorded (its LeavingDateUnchanged is not kept under an ID that
		// cannot come again).
		out.Result, out.Position = ResultUnchanged, 0
	default:
		// A retry of the stored request answers as the request did: its
		// date is the one asked for.
		if rec, ok := h.original(ctx, employee.Stream(ic), meta.CommandID); ok {
			if rec.Type == (employee.LeavingDateUnchanged{}).EventType() {
				out.Result = ResultUnchanged
			} else {
				out.Position = rec.Position
			}
		}
	}
	c.JSON(http.StatusOK, out)
}

// cancelLeaving cancels a leaving date still ahead. The body is optional
// (a DELETE often has none): {"reason": …}.
func (h *handlers) cancelLeaving(c *gin.Context) {
	if !h.jsonBody(c) {
		return
	}
	var in CancelLeavingInput
	// Content-Length 0 or absent: no body. A chunked body is decoded.
	if c.Request.ContentLength != 0 {
		if err := httpx.DecodeJSON(c, &in); err != nil {
			h.fail(c, err)
			return
		}
	}
	ic, err := mykad.Parse(c.Param("ic"))
	if err != nil {
		h.invalid(c, []FieldProblem{icProblem(err)})
		return
	}
	meta, keyed, ok := h.commandMeta(c, "DELETE /employees/"+ic.String()+"/left-service")
	if !ok {
		return
	}
	ctx := c.Request.Context()
	stream := employee.Stream(ic)
	res, err := h.cancel.Handle(ctx, commands.CancelLeaving{Meta: meta, IC: ic.String(), Reason: in.Reason})
	if err != nil {
		h.commandError(c, err)
		return
	}
	// The answer names the date cancelled, from the event: the one just
	// appended, or for a retry of a stored request the one it appended.
	var rec eventlog.Record
	switch {
	case res.Appended > 0:
		rec, ok = h.recordAt(ctx, stream, res.Version)
	case keyed:
		rec, ok = h.original(ctx, stream, meta.CommandID)
	default:
		ok = false
	}
	var ev employee.LeavingCancelled
	if ok {
		env, derr := h.reg.Decode(rec)
		if ev, ok = env.Event.(employee.LeavingCancelled); derr != nil {
			ok = false
		}
	}
	if !ok {
		h.fail(c, errors.New("api: the cancellation just recorded is not in the record's stream"))
		return
	}
	c.JSON(http.StatusOK, LeavingCancelledResult{Result: ResultLeavingCancelled, Position: rec.Position, Version: res.Version, IC: ic.String(), Date: ev.Date})
}

// commandError answers an error a command returned.
func (h *handlers) commandError(c *gin.Context, err error) {
	if fields, ok := employeeFields(err); ok {
		h.invalid(c, fields)
		return
	}
	if errors.Is(err, eventlog.ErrCommandReused) {
		h.keyReused(c)
		return
	}
	if errors.Is(err, commands.ErrForbidden) {
		h.problem(c, http.StatusForbidden, "forbidden", "", i18n.Get("err.forbidden"))
		return
	}
	if errors.Is(err, commands.ErrConflict) {
		c.Header("Retry-After", "1") // 409 concurrent_change (employeeRules)
	}
	h.fail(c, err)
}

// leftOn rebuilds the staff record and returns the date it left service.
func (h *handlers) leftOn(ctx context.Context, ic mykad.IC) (string, error) {
	e := employee.New()
	err := h.scan(ctx, employee.Stream(ic), func(rec eventlog.Record) (bool, error) {
		env, err := h.reg.Decode(rec)
		if err != nil {
			return true, err
		}
		return false, e.Apply(env.Event)
	})
	return e.LeftOn(), err
}

func icProblem(err error) FieldProblem {
	code := "invalid"
	switch {
	case errors.Is(err, mykad.ErrEmpty):
		code = "required"
	case errors.Is(err, mykad.ErrDate):
		code = "invalid_date"
	case errors.Is(err, mykad.ErrPlace):
		code = "invalid_place_code"
	}
	msg := err.Error()
	if len(msg) > 7 && msg[:7] == "mykad: " {
		msg = msg[7:]
	}
	return FieldProblem{Field: "ic", Code: code, Reason: msg}
}

func hasField(fs []FieldProblem, field string) bool {
	for _, f := range fs {
		if f.Field == field {
			return true
		}
	}
	return false
}
