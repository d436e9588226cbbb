package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

// The two list answers are written by hand: encoding/json walks every row
// by reflection, which is a good part of a list request's cost. The output
// is byte for byte what json.Marshal makes of the same value (the tests
// compare the two), so the OpenAPI schema of the types still describes it.

var jsonBufs = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// writeJSON answers 200 with the bytes append adds to a pooled buffer.
func writeJSON(c *gin.Context, appendTo func([]byte) []byte) {
	bp := jsonBufs.Get().(*[]byte)
	b := appendTo((*bp)[:0])
	// The length up front: the answer goes out in one write, not in chunks.
	c.Header("Content-Length", strconv.Itoa(len(b)))
	c.Data(http.StatusOK, "application/json; charset=utf-8", b)
	if cap(b) <= 256<<10 { // keep no giant buffer alive
		*bp = b
		jsonBufs.Put(bp)
	}
}

// jsonString appends s as json.Marshal writes it: printable ASCII other
// than the characters it escapes, and valid UTF-8 other than U+2028 and
// U+2029, as is; a string with anything else goes through encoding/json
// itself.
func jsonString(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return marshalString(b, s)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
			return marshalString(b, s)
		}
		i += size
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func marshalString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

// jsonKey appends an object member's key, after a comma unless it is the
// first member of the object opened at len(b) == open.
func jsonKey(b []byte, key string, open int) []byte {
	if len(b) > open {
		b = append(b, ',')
	}
	b = append(append(b, '"'), key...)
	return append(b, '"', ':')
}

func (l Links) appendJSON(b []byte) []byte {
	b = jsonString(append(b, `{"self":`...), l.Self)
	b = jsonString(append(b, `,"pdf":`...), l.PDF)
	return append(b, '}')
}

func (p MePayment) appendJSON(b []byte) []byte {
	b = jsonString(append(b, `{"id":`...), p.ID)
	b = jsonString(append(b, `,"module":`...), p.Module)
	b = jsonString(append(b, `,"module_label":`...), p.ModuleLabel)
	b = jsonString(append(b, `,"type":`...), p.Type)
	b = jsonString(append(b, `,"type_label":`...), p.TypeLabel)
	b = jsonString(append(b, `,"voucher_no":`...), p.VoucherNo)
	b = jsonString(append(b, `,"voucher_date":`...), p.VoucherDate)
	if p.Reference != "" {
		b = jsonString(append(b, `,"reference":`...), p.Reference)
	}
	b = jsonString(append(b, `,"description":`...), p.Description)
	b = strconv.AppendInt(append(b, `,"amount_sen":`...), p.AmountSen, 10)
	b = jsonString(append(b, `,"status":`...), p.Status)
	b = jsonString(append(b, `,"status_label":`...), p.StatusLabel)
	b = jsonString(append(b, `,"status_date":`...), p.StatusDate)
	b = p.Links.appendJSON(append(b, `,"links":`...))
	return append(b, '}')
}

func (pg MePaymentPage) appendJSON(b []byte) []byte {
	b = append(b, `{"payments":`...)
	if pg.Payments == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, p := range pg.Payments {
			if i > 0 {
				b = append(b, ',')
			}
			b = p.appendJSON(b)
		}
		b = append(b, ']')
	}
	if pg.Next != "" {
		b = jsonString(append(b, `,"next":`...), pg.Next)
	}
	return append(b, '}')
}

func (s MeStatement) appendJSON(b []byte) []byte {
	b = jsonString(append(b, `{"id":`...), s.ID)
	b = jsonString(append(b, `,"type":`...), s.Type)
	b = jsonString(append(b, `,"type_label":`...), s.TypeLabel)
	// Period: every field omitempty.
	b = append(b, `,"period":{`...)
	p, open := s.Period, len(b)
	if p.Year != 0 {
		b = strconv.AppendInt(jsonKey(b, "year", open), int64(p.Year), 10)
	}
	if p.Month != 0 {
		b = strconv.AppendInt(jsonKey(b, "month", open), int64(p.Month), 10)
	}
	if p.From != "" {
		b = jsonString(jsonKey(b, "from", open), p.From)
	}
	if p.To != "" {
		b = jsonString(jsonKey(b, "to", open), p.To)
	}
	b = append(b, '}')
	b = jsonString(append(b, `,"period_label":`...), s.PeriodLabel)
	b = strconv.AppendInt(append(b, `,"revision":`...), int64(s.Revision), 10)
	if s.PayDate != "" {
		b = jsonString(append(b, `,"pay_date":`...), s.PayDate)
	}
	b = strconv.AppendInt(append(b, `,"totals":{"earnings_sen":`...), s.Totals.EarningsSen, 10)
	b = strconv.AppendInt(append(b, `,"deductions_sen":`...), s.Totals.DeductionsSen, 10)
	b = strconv.AppendInt(append(b, `,"net_sen":`...), s.Totals.NetSen, 10)
	b = s.Links.appendJSON(append(b, `},"links":`...))
	return append(b, '}')
}

func (pg MeStatementPage) appendJSON(b []byte) []byte {
	b = append(b, `{"statements":`...)
	if pg.Statements == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, s := range pg.Statements {
			if i > 0 {
				b = append(b, ',')
			}
			b = s.appendJSON(b)
		}
		b = append(b, ']')
	}
	if pg.Next != "" {
		b = jsonString(append(b, `,"next":`...), pg.Next)
	}
	return append(b, '}')
}
