package staffimport

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/melaka-gov/ispeks/domain/textfield"
)

// Columns of the employee-master CSV, by their canonical names (the JSON
// names of employee.Details, which FieldError also uses).
const (
	ColIC          = "ic"
	ColName        = "name"
	ColEmail       = "email"
	ColDepartment  = "department"
	ColPost        = "post"
	ColStaffNumber = "staff_number"
)

// Columns lists the required columns in the order a template file has them.
func Columns() []string {
	return []string{ColIC, ColName, ColEmail, ColDepartment, ColPost, ColStaffNumber}
}

// Header names accepted for each column, in Malay and English. They are
// compared after headerKey (case, spaces and punctuation ignored), so
// "No. Pengenalan", "no pengenalan" and "NO_PENGENALAN" are one name.
var headerNames = map[string][]string{
	ColIC: {"ic", "no ic", "ic no", "ic number", "nric", "no kp", "no k/p", "no kad pengenalan",
		"nombor kad pengenalan", "kad pengenalan", "no pengenalan", "nombor pengenalan", "mykad", "no mykad",
		"identity card number", "id pengguna", "user id"},
	ColName: {"name", "nama", "full name", "nama penuh", "nama pegawai", "nama kakitangan", "staff name"},
	ColEmail: {"email", "e-mail", "official email", "official e-mail", "email address", "emel", "e-mel",
		"emel rasmi", "e-mel rasmi", "alamat emel", "alamat e-mel", "alamat emel rasmi"},
	ColDepartment: {"department", "dept", "department name", "jabatan", "nama jabatan"},
	ColPost:       {"post", "position", "designation", "job title", "jawatan", "nama jawatan"},
	ColStaffNumber: {"staff number", "staff_number", "staff no", "staff id", "pay number", "pay no",
		"payroll number", "staff/pay number", "employee number", "employee no", "no gaji", "nombor gaji",
		"no pekerja", "nombor pekerja", "no staf", "nombor staf", "no pekerja/gaji", "no gaji/pekerja"},
}

var headerIndex = func() map[string]string {
	m := map[string]string{}
	for col, names := range headerNames {
		for _, n := range names {
			k := headerKey(n)
			if other, dup := m[k]; dup && other != col {
				panic("staffimport: header name " + n + " given for two columns")
			}
			m[k] = col
		}
	}
	return m
}()

// headerKey reduces a header cell to lower-case letters and digits.
func headerKey(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// FileError refuses a whole file: nothing of it is imported.
type FileError struct {
	Line   int // 0 when the problem is not at one place
	Reason string
	// Code names the refusal, stable, so that a page can word it in its
	// own language: missing_columns, duplicate_column, utf16, empty,
	// header_syntax, separator, unreadable, too_many_rows, too_large.
	Code string
	// Columns are the canonical columns the refusal is about
	// (missing_columns, duplicate_column).
	Columns []string
	// Limit is the bound the file went past: rows (too_many_rows) or
	// bytes (too_large).
	Limit int64
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("staffimport: line %d: %s", e.Line, e.Reason)
	}
	return "staffimport: " + e.Reason
}

// Is makes errors.Is(err, ErrFile) true.
func (e *FileError) Is(target error) bool { return target == ErrFile }

// ErrFile matches every *FileError.
var ErrFile = errors.New("staffimport: file refused")

func fileErr(code string, line int, format string, args ...any) *FileError {
	return &FileError{Code: code, Line: line, Reason: fmt.Sprintf(format, args...)}
}

// header maps the file's columns to the canonical ones.
type header struct {
	index   map[string]int    // canonical column → position in the record
	written map[string]string // canonical column → the header as the file wrote it
	width   int               // cells in the header row
	comma   rune              // the file's delimiter (a refused row's message names it)
	ignored []string          // headers of columns the import does not read
}

func readHeader(cells []string, line int) (header, error) {
	h := header{index: map[string]int{}, written: map[string]string{}, width: len(cells)}
	for i, cell := range cells {
		name := strings.TrimSpace(cell)
		col, ok := headerIndex[headerKey(name)]
		if !ok {
			if name != "" {
				h.ignored = append(h.ignored, textfield.Clip(name))
			}
			continue
		}
		if j, dup := h.index[col]; dup {
			fe := fileErr("duplicate_column", line, "columns %d (%q) and %d (%q) are both the %s column; keep one",
				j+1, textfield.Clip(h.written[col]), i+1, textfield.Clip(name), col)
			fe.Columns = []string{col}
			return h, fe
		}
		h.index[col], h.written[col] = i, name
	}
	var missing, cols []string
	for _, col := range Columns() {
		if _, ok := h.index[col]; !ok {
			missing = append(missing, fmt.Sprintf("%s (e.g. %q)", col, headerNames[col][0]))
			cols = append(cols, col)
		}
	}
	if len(missing) > 0 {
		fe := fileErr("missing_columns", line, "the header row lacks the column(s) %s; the header must name the columns %s",
			strings.Join(missing, ", "), strings.Join(Columns(), ", "))
		fe.Columns = cols
		return h, fe
	}
	return h, nil
}

// column returns the header as the file wrote it, for reports.
func (h header) column(col string) string {
	if w, ok := h.written[col]; ok {
		return w
	}
	return col
}

// sniffDelimiter picks the delimiter of the header line: a comma unless the
// line has none and has semicolons (Excel in some locales) or tabs. Only
// the delimiters between cells count: one inside a quoted cell (RFC 4180,
// "" for a quote within it), as in a semicolon file's "Alamat, Poskod", is
// text, and so is a line break there, which does not end the header. A
// quote opens a quoted cell only where a cell starts, as encoding/csv
// reads it: at the start of the line or after any of the three.
func sniffDelimiter(data []byte) rune {
	var commas, semicolons, tabs int
	quoted, cellStart := false, true
scan:
	for i := 0; i < len(data); i++ {
		b := data[i]
		if quoted {
			if b == '"' {
				if i+1 < len(data) && data[i+1] == '"' {
					i++ // an escaped quote: still inside
				} else {
					quoted, cellStart = false, false
				}
			}
			continue
		}
		switch b {
		case '"':
			quoted = cellStart
		case '\r', '\n':
			break scan
		case ',':
			commas++
		case ';':
			semicolons++
		case '\t':
			tabs++
		}
		cellStart = b == ',' || b == ';' || b == '\t'
	}
	switch {
	case commas > 0:
		return ','
	case semicolons > 0:
		return ';'
	case tabs > 0:
		return '\t'
	}
	return ','
}

// separatorLine reads the "sep=;" line Excel writes (and reads) first in a
// CSV file to name its delimiter ("sep=," and "sep=" with a tab too, the
// letters in either case; the delimiter repeated after it, as a
// spreadsheet pads an empty row, is allowed). found is false when the
// first line is not one; a "sep=" line that names no single delimiter
// refuses the file. rest is data after the line.
func separatorLine(data []byte) (comma rune, rest []byte, found bool, err error) {
	line, rest := data, data[len(data):]
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		line, rest = data[:i], data[i+1:]
	}
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if len(line) < 4 || !strings.EqualFold(string(line[:4]), "sep=") {
		return 0, data, false, nil
	}
	named := line[4:]
	d, size := utf8.DecodeRune(named)
	if len(named) == 0 || d == utf8.RuneError || d == '"' || d == '\r' || d == '\n' || d == 0 ||
		len(bytes.Trim(named[size:], string(d))) > 0 {
		return 0, data, false, fileErr("separator", 1, "the first line %q names no single delimiter; Excel writes sep=; or sep=, (or delete the line)", textfield.Clip(string(line)))
	}
	return d, rest, true, nil
}

var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
)

// stripBOM removes a UTF-8 byte-order mark (Excel's "CSV UTF-8" writes one)
// and refuses UTF-16, which Excel's "Unicode text" writes.
func stripBOM(data []byte) ([]byte, error) {
	switch {
	case bytes.HasPrefix(data, bomUTF8):
		return data[len(bomUTF8):], nil
	case bytes.HasPrefix(data, bomUTF16LE), bytes.HasPrefix(data, bomUTF16BE):
		return nil, fileErr("utf16", 0, "the file is UTF-16 text; save it as \"CSV UTF-8 (Comma delimited)\"")
	}
	return data, nil
}

// record is one data row as read from the file.
type record struct {
	line int // first line of the row in the file (the header is line 1, or 2 under a "sep=" line)
	// row is the row a spreadsheet shows it on: the line, less the line
	// breaks inside quoted cells above it (an address, a note), which a
	// spreadsheet keeps within one row.
	row   int
	cells []string
	err   *Problem // the row could not be read as CSV
}

// readRecords parses data (BOM already stripped) and returns the header and
// the data rows. Rows whose cells are all blank are skipped (spreadsheets
// export trailing empty rows). A syntax error is the row's problem, not the
// file's, unless it is in the header.
func readRecords(data []byte, maxRows int) (header, []record, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return header{}, nil, fileErr("empty", 0, "the file is empty; it needs a header row and one row per person")
	}
	// A "sep=" line names the delimiter and is no row: Excel shows the
	// header under it as row 1. The rows keep those numbers; their lines
	// in the file are one further down (skip).
	comma, body, named, err := separatorLine(data)
	if err != nil {
		return header{}, nil, err
	}
	skip := 0
	if named {
		data, skip = body, 1
		if len(bytes.TrimSpace(data)) == 0 {
			return header{}, nil, fileErr("empty", 0, "the file is empty; it needs a header row and one row per person")
		}
	} else {
		comma = sniffDelimiter(data)
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = comma
	cr.FieldsPerRecord = -1 // a row of the wrong width is reported per row
	cr.ReuseRecord = false
	first, err := cr.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return header{}, nil, fileErr("header_syntax", pe.StartLine+skip, "the header row is not valid CSV: %v", pe.Err)
		}
		return header{}, nil, fileErr("unreadable", 1+skip, "the header row cannot be read: %v", err)
	}
	// inCells counts the line breaks inside the cells read so far: the
	// records end where the reader's offset is, and every line a record
	// spans past its first was a break inside a cell.
	inCells, counted, lines := 0, 0, 0
	spanned := func(start int) {
		off := int(cr.InputOffset())
		lines += bytes.Count(data[counted:off], []byte{'\n'})
		counted = off
		end := lines + 1 // the line the record ends on
		if off > 0 && data[off-1] == '\n' {
			end--
		}
		inCells += max(end-start, 0)
	}
	spanned(1)
	h, err := readHeader(first, 1+skip)
	if err != nil {
		return h, nil, err
	}
	h.comma = comma
	var rows []record
	for {
		cells, err := cr.Read()
		if err == io.EOF {
			break
		}
		before := inCells
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return h, nil, fileErr("unreadable", 0, "the file cannot be read: %v", err)
			}
			reason := "is not valid CSV: " + pe.Err.Error()
			if pe.Line > pe.StartLine {
				reason += fmt.Sprintf(" (lines %d to %d were read as this one row: look for a quote that is never closed)", pe.StartLine+skip, pe.Line+skip)
			}
			spanned(pe.StartLine)
			rows = append(rows, record{line: pe.StartLine + skip, row: pe.StartLine - before, err: &Problem{Code: "malformed", Reason: reason}})
		} else {
			// FieldPos is only defined after a successful Read.
			line, _ := cr.FieldPos(0)
			spanned(line)
			if blank(cells) {
				continue
			}
			rows = append(rows, record{line: line + skip, row: line - before, cells: cells})
		}
		if len(rows) > maxRows {
			fe := fileErr("too_many_rows", 0, "the file has more than %d rows; split it", maxRows)
			fe.Limit = int64(maxRows)
			return h, nil, fe
		}
	}
	if len(rows) == 0 {
		// An export whose query found nobody would otherwise be "every
		// row is in the master", with exit status 0.
		return h, nil, fileErr("empty", 0, "the file has a header row but no rows; it needs one row per person")
	}
	return h, rows, nil
}

func blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}
