// Package rskit holds what both read-store adapters share: validation of
// names, documents and queries, and the page-cursor codec, so that SQLite and
// MongoDB accept and reject exactly the same inputs.
package rskit

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/melaka-gov/ispeks/projections"
)

// Limits shared by the adapters.
const (
	MaxIDBytes     = 512
	MaxBodyBytes   = 4 << 20 // well under MongoDB's 16 MiB document limit
	MaxStringField = 1024
	DefaultLimit   = 50
	MaxLimit       = 1000
)

// ErrInvalid marks bad input to the read store (a name, a document, a query).
var ErrInvalid = errors.New("readstore: invalid input")

// Names of collections and fields become SQL identifiers and BSON keys, so
// they are kept to lower-case ASCII; "__" is reserved for the adapters'
// physical names (shadow and generation suffixes).
var (
	nameRE      = regexp.MustCompile(`^[a-z][a-z0-9_]{0,47}$`)
	projectorRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// CheckName checks a collection or field name.
func CheckName(kind, name string) error {
	if !nameRE.MatchString(name) || strings.Contains(name, "__") {
		return invalid("%s name %q: must be 1-48 characters of a-z, 0-9 and _ (starting with a letter, no \"__\")", kind, name)
	}
	return nil
}

// CheckProjector checks a projector name.
func CheckProjector(name string) error {
	if !projectorRE.MatchString(name) {
		return invalid("projector name %q: must be 1-63 characters of a-z, 0-9, _ and - (starting with a letter)", name)
	}
	return nil
}

// Spec is a parsed CollectionSpec. An Indexes entry is a field name, or
// several joined by "+" ("staff_id+created"). Every named field can be
// filtered and sorted on. Each entry is one index, its fields in order, then
// ID: a single field serves "equal on it" and "sort by it"; a joined entry
// serves "equal on the first, sort by the last" on big collections, and its
// fields get no index of their own unless listed alone too (every index
// slows every write).
type Spec struct {
	Name      string
	Owner     string     // the declaring projector, "" for none (CollectionSpec.Owner)
	Fields    []string   // every field named, sorted, unique
	Singles   []string   // fields listed alone, sorted, unique
	Compounds [][]string // entries with two or more fields, in declared order
}

// ParseSpec validates a CollectionSpec.
func ParseSpec(cs projections.CollectionSpec) (Spec, error) {
	if err := CheckName("collection", cs.Name); err != nil {
		return Spec{}, err
	}
	if cs.Owner != "" {
		if err := CheckProjector(cs.Owner); err != nil {
			return Spec{}, err
		}
	}
	s := Spec{Name: cs.Name, Owner: cs.Owner}
	for _, entry := range cs.Indexes {
		parts := strings.Split(entry, "+")
		for _, f := range parts {
			if err := CheckName("field", f); err != nil {
				return Spec{}, fmt.Errorf("collection %q index %q: %w", cs.Name, entry, err)
			}
			if !slices.Contains(s.Fields, f) {
				s.Fields = append(s.Fields, f)
			}
		}
		if len(parts) == 1 && !slices.Contains(s.Singles, parts[0]) {
			s.Singles = append(s.Singles, parts[0])
		}
		if len(parts) > 1 {
			seen := map[string]bool{}
			for _, f := range parts {
				if seen[f] {
					return Spec{}, invalid("collection %q index %q: field %q named twice", cs.Name, entry, f)
				}
				seen[f] = true
			}
			if !slices.ContainsFunc(s.Compounds, func(c []string) bool { return slices.Equal(c, parts) }) {
				s.Compounds = append(s.Compounds, parts)
			}
		}
	}
	slices.Sort(s.Fields)
	slices.Sort(s.Singles)
	return s, nil
}

// ParseSpecs validates several specs and rejects a name given twice.
func ParseSpecs(css []projections.CollectionSpec) ([]Spec, error) {
	out := make([]Spec, 0, len(css))
	seen := map[string]bool{}
	for _, cs := range css {
		s, err := ParseSpec(cs)
		if err != nil {
			return nil, err
		}
		if seen[s.Name] {
			return nil, invalid("collection %q declared twice", s.Name)
		}
		seen[s.Name] = true
		out = append(out, s)
	}
	return out, nil
}

// Entries renders the spec back to CollectionSpec.Indexes form.
func (s Spec) Entries() []string {
	out := slices.Clone(s.Singles)
	for _, c := range s.Compounds {
		out = append(out, strings.Join(c, "+"))
	}
	return out
}

// Merge returns s with the fields and compounds of o added (Ensure only ever
// adds indexes, so an older binary's Ensure cannot drop a newer one's).
func (s Spec) Merge(o Spec) Spec {
	m := Spec{Name: s.Name, Fields: slices.Clone(s.Fields), Singles: slices.Clone(s.Singles), Compounds: slices.Clone(s.Compounds)}
	for _, f := range o.Fields {
		if !slices.Contains(m.Fields, f) {
			m.Fields = append(m.Fields, f)
		}
	}
	for _, f := range o.Singles {
		if !slices.Contains(m.Singles, f) {
			m.Singles = append(m.Singles, f)
		}
	}
	slices.Sort(m.Fields)
	slices.Sort(m.Singles)
	for _, c := range o.Compounds {
		if !slices.ContainsFunc(m.Compounds, func(x []string) bool { return slices.Equal(x, c) }) {
			m.Compounds = append(m.Compounds, c)
		}
	}
	return m
}

// Equal reports whether two specs declare the same indexes.
func (s Spec) Equal(o Spec) bool {
	if s.Name != o.Name || !slices.Equal(s.Fields, o.Fields) || !slices.Equal(s.Singles, o.Singles) || len(s.Compounds) != len(o.Compounds) {
		return false
	}
	for _, c := range o.Compounds {
		if !slices.ContainsFunc(s.Compounds, func(x []string) bool { return slices.Equal(x, c) }) {
			return false
		}
	}
	return true
}

// Has reports whether field is declared.
func (s Spec) Has(field string) bool {
	_, ok := slices.BinarySearch(s.Fields, field)
	return ok
}

// Unindexed is the error for a field the collection does not declare.
func Unindexed(collection, field, use string) error {
	return fmt.Errorf("readstore: collection %q: %s on field %q: %w", collection, use, field, projections.ErrUnindexedField)
}

// Unknown is the error for a collection that was never ensured.
func Unknown(collection string) error {
	return fmt.Errorf("readstore: collection %q: %w", collection, projections.ErrUnknownCollection)
}

// Value normalizes an indexed-field value to int64, string or nil (absent).
func Value(field string, v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		if !utf8.ValidString(x) {
			return nil, invalid("field %q: string is not valid UTF-8", field)
		}
		if len(x) > MaxStringField {
			return nil, invalid("field %q: string of %d bytes is longer than %d", field, len(x), MaxStringField)
		}
		return x, nil
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case uint:
		if uint64(x) > math.MaxInt64 {
			return nil, invalid("field %q: %d does not fit in int64", field, x)
		}
		return int64(x), nil
	case uint64:
		if x > math.MaxInt64 {
			return nil, invalid("field %q: %d does not fit in int64", field, x)
		}
		return int64(x), nil
	default:
		return nil, invalid("field %q: value of type %T; indexed fields hold strings or integers", field, v)
	}
}

// CheckID checks a document ID.
func CheckID(collection, id string) error {
	switch {
	case id == "":
		return invalid("collection %q: document id is empty", collection)
	case len(id) > MaxIDBytes:
		return invalid("collection %q: document id of %d bytes is longer than %d", collection, len(id), MaxIDBytes)
	case !utf8.ValidString(id):
		return invalid("collection %q: document id is not valid UTF-8", collection)
	}
	return nil
}

// Doc validates a document for collection s and returns its indexed fields
// normalized (absent and nil fields are left out).
func Doc(s Spec, d projections.Doc) (map[string]any, error) {
	fields := make(map[string]any, len(d.Fields))
	err := EachField(s, d, func(k string, v any) { fields[k] = v })
	if err != nil {
		return nil, err
	}
	return fields, nil
}

// EachField validates d as Doc does and calls set with each indexed field
// that has a value, normalized, without building a map (one fewer
// allocation per projected document for an adapter that binds the values
// straight away). When it returns an error, set may have been called for
// some fields.
func EachField(s Spec, d projections.Doc, set func(field string, v any)) error {
	if err := CheckID(s.Name, d.ID); err != nil {
		return err
	}
	if d.Version > math.MaxInt64 {
		return invalid("collection %q document %q: version %d does not fit in int64", s.Name, d.ID, d.Version)
	}
	switch {
	case len(d.Body) == 0:
		return invalid("collection %q document %q: body is empty", s.Name, d.ID)
	case len(d.Body) > MaxBodyBytes:
		return invalid("collection %q document %q: body of %d bytes is larger than %d", s.Name, d.ID, len(d.Body), MaxBodyBytes)
	case strictJSON(d.Body):
		// Valid UTF-8 and valid JSON in one pass, the common case; a body
		// it refuses is judged below exactly as before.
	case !utf8.Valid(d.Body):
		return invalid("collection %q document %q: body is not valid UTF-8", s.Name, d.ID)
	case !json.Valid(d.Body):
		return invalid("collection %q document %q: body is not valid JSON", s.Name, d.ID)
	}
	for k, v := range d.Fields {
		if !s.Has(k) {
			return fmt.Errorf("document %q: %w", d.ID, Unindexed(s.Name, k, "put"))
		}
		nv, err := Value(k, v)
		if err != nil {
			return fmt.Errorf("collection %q document %q: %w", s.Name, d.ID, err)
		}
		if nv != nil {
			set(k, nv)
		}
	}
	return nil
}

// strictJSON reports a body that is valid JSON made of valid UTF-8 (every
// body that passes it passes utf8.Valid and json.Valid, at a third of their
// cost together: each projected document is checked). It refuses a little
// more than they do (an escaped lone surrogate), which the slower checks
// then let through.
func strictJSON(b []byte) bool {
	return jsontext.Value(b).IsValid(jsontext.AllowDuplicateNames(true))
}

// Cond is one equality condition of a query; Value nil means "absent".
type Cond struct {
	Field string
	Value any
}

// Plan is a validated query.
type Plan struct {
	Spec   Spec
	Where  []Cond // sorted by field
	SortBy string // "" = by ID
	Desc   bool
	Limit  int
	After  *Cursor // nil on the first page
	// Bound is Query.Bound normalized (int64 or string; nil: none).
	Bound    any
	BodyOnly bool
}

// PlanQuery validates q against s.
func PlanQuery(s Spec, q projections.Query) (Plan, error) {
	p := Plan{Spec: s, SortBy: q.SortBy, Desc: q.Desc, Limit: q.Limit, BodyOnly: q.BodyOnly}
	for k, v := range q.Where {
		if !s.Has(k) {
			return Plan{}, Unindexed(s.Name, k, "filter")
		}
		nv, err := Value(k, v)
		if err != nil {
			return Plan{}, fmt.Errorf("query on %q: %w", s.Name, err)
		}
		p.Where = append(p.Where, Cond{Field: k, Value: nv})
	}
	slices.SortFunc(p.Where, func(a, b Cond) int { return strings.Compare(a.Field, b.Field) })
	if p.SortBy != "" && !s.Has(p.SortBy) {
		return Plan{}, Unindexed(s.Name, p.SortBy, "sort")
	}
	if q.Bound != nil {
		if p.SortBy == "" {
			return Plan{}, invalid("query on %q: a bound needs a sort field", s.Name)
		}
		b, err := Value(p.SortBy, q.Bound)
		if err != nil {
			return Plan{}, fmt.Errorf("query on %q: bound: %w", s.Name, err)
		}
		p.Bound = b
	}
	switch {
	case p.Limit < 0:
		return Plan{}, invalid("query on %q: limit %d is negative", s.Name, p.Limit)
	case p.Limit == 0:
		p.Limit = DefaultLimit
	case p.Limit > MaxLimit:
		return Plan{}, invalid("query on %q: limit %d is larger than %d", s.Name, p.Limit, MaxLimit)
	}
	if q.After != "" {
		c, err := DecodeCursor(q.After)
		if err != nil {
			return Plan{}, err
		}
		if c.Shape != p.shape() {
			return Plan{}, fmt.Errorf("readstore: cursor belongs to another query: %w", projections.ErrBadCursor)
		}
		if p.SortBy == "" && c.Key != nil {
			return Plan{}, fmt.Errorf("readstore: cursor has a sort key for a sort by id: %w", projections.ErrBadCursor)
		}
		p.After = &c
	}
	return p, nil
}

// Next builds the cursor that continues after d, the last doc of a page;
// key is d's value of the sort field (nil when absent or sorting by ID).
func (p Plan) Next(id string, key any) string {
	if p.SortBy == "" {
		key = nil
	}
	return Cursor{Shape: p.shape(), Key: key, ID: id}.Encode()
}

// shape fingerprints what a cursor may be reused with: collection, filter,
// sort field and direction (FNV-1a, 64 bits).
func (p Plan) shape() uint64 {
	h := uint64(14695981039346656037)
	add := func(s string) {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= 1099511628211
		}
		h ^= 0xff
		h *= 1099511628211
	}
	add(p.Spec.Name)
	for _, c := range p.Where {
		add(c.Field)
		switch v := c.Value.(type) {
		case nil:
			add("n")
		case int64:
			add(fmt.Sprintf("i%d", v))
		case string:
			add("s" + v)
		}
	}
	add(p.SortBy)
	if p.Desc {
		add("desc")
	}
	return h
}
