package eventlog

import (
	"encoding/json"
	"fmt"
	"sort"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// Upcaster turns the data of an old event version into the data of a newer
// type. Upcasters chain: v1 → v2 → v3 until a registered type is reached.
type Upcaster func(data json.RawMessage) (json.RawMessage, error)

// decoder unmarshals JSON into the registered value type.
type decoder func(data json.RawMessage) (Event, error)

type upcast struct {
	to string
	fn Upcaster
}

// Registry maps explicit event type names to Go types. It is built once at
// start-up by the composition root and passed in; there are no init()
// registrations and no global registry.
type Registry struct {
	factories map[string]decoder
	upcasters map[string]upcast
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{factories: map[string]decoder{}, upcasters: map[string]upcast{}}
}

// UnknownTypeError reports a stored event whose type has no registered Go
// type and no upcaster. The record is still readable raw (auditors can see it).
type UnknownTypeError struct{ Type string }

func (e *UnknownTypeError) Error() string {
	return fmt.Sprintf("eventlog: no registered type for event type %q (read it raw, or register the type or an upcaster)", e.Type)
}

// Register adds E under the name its EventType returns. E must be a struct
// value type whose zero value reports the name (value receiver).
func Register[E Event](r *Registry) {
	var zero E
	name := zero.EventType()
	if err := ValidateType(name); err != nil {
		panic(err) // a programming error in the composition root
	}
	if _, dup := r.factories[name]; dup {
		panic(fmt.Sprintf("eventlog: event type %q registered twice", name))
	}
	r.factories[name] = func(data json.RawMessage) (Event, error) {
		var e E
		if err := jsonv2.Unmarshal(data, &e, decodeOptions); err != nil {
			return nil, err
		}
		return e, nil
	}
}

// decodeOptions decode event data exactly as encoding/json does (its
// semantics and error texts, through go-json-experiment's v1 emulation, at
// less than half the CPU: decoding is most of a projector's cost per
// event). Unknown fields are refused so schema drift is noticed rather
// than silently dropping data. Stored data is one valid JSON value (Append
// checks it), so reading it whole is the same as encoding/json's Decoder
// reading its first value.
var decodeOptions = jsonv2.JoinOptions(jsonv1.DefaultOptionsV1(), jsonv2.RejectUnknownMembers(true))

// RegisterUpcaster makes events of type from readable as type to.
func (r *Registry) RegisterUpcaster(from, to string, fn Upcaster) {
	if err := ValidateType(from); err != nil {
		panic(err)
	}
	if _, dup := r.upcasters[from]; dup {
		panic(fmt.Sprintf("eventlog: upcaster for %q registered twice", from))
	}
	r.upcasters[from] = upcast{to: to, fn: fn}
}

// Types lists the registered current type names, sorted.
func (r *Registry) Types() []string {
	out := make([]string, 0, len(r.factories))
	for name := range r.factories {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Known reports whether a type name is registered or upcastable.
func (r *Registry) Known(name string) bool {
	if _, ok := r.factories[name]; ok {
		return true
	}
	_, ok := r.upcasters[name]
	return ok
}

// Encode returns the type name and JSON data of an event.
func (r *Registry) Encode(e Event) (string, json.RawMessage, error) {
	name := e.EventType()
	if _, ok := r.factories[name]; !ok {
		return "", nil, &UnknownTypeError{Type: name}
	}
	data, err := json.Marshal(e)
	if err != nil {
		return "", nil, fmt.Errorf("eventlog: encode %s: %w", name, err)
	}
	return name, data, nil
}

// Decode upcasts a record's data as far as needed and unmarshals it into the
// registered Go type. The envelope's Type and Data are the upcast ones; the
// integrity chain is verified on the stored record, not on the envelope.
func (r *Registry) Decode(rec Record) (Envelope, error) {
	name, data := rec.Type, rec.Data
	if rec.Decoded != nil && rec.Decoded.EventType() == name {
		if _, current := r.factories[name]; current {
			return Envelope{Record: rec, Event: rec.Decoded}, nil
		}
	}
	for hops := 0; ; hops++ {
		if _, ok := r.factories[name]; ok {
			break
		}
		up, ok := r.upcasters[name]
		if !ok || hops > 32 {
			return Envelope{Record: rec}, &UnknownTypeError{Type: rec.Type}
		}
		next, err := up.fn(data)
		if err != nil {
			return Envelope{Record: rec}, fmt.Errorf("eventlog: upcast %s to %s: %w", name, up.to, err)
		}
		name, data = up.to, next
	}
	ev, err := r.factories[name](data)
	if err != nil {
		return Envelope{Record: rec}, fmt.Errorf("eventlog: decode %s (event %s): %w", name, rec.ID, err)
	}
	env := Envelope{Record: rec, Event: ev}
	env.Type = name
	env.Data = data
	return env, nil
}
