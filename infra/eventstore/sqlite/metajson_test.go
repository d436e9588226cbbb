package sqlite

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

func metaCases() []eventlog.Metadata {
	return []eventlog.Metadata{
		{},
		{Actor: eventlog.Actor{Kind: eventlog.ActorSystem}},
		{CorrelationID: "c-1", CausationID: "d2f1", Actor: eventlog.Actor{Kind: "user", ID: "u-9"}, SourceIP: "10.0.0.1", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)"},
		{UserAgent: `quote " backslash \ <script>&amp;`, SourceIP: "::1"},
		{CorrelationID: "Tuntutan — Melaka ✓", Actor: eventlog.Actor{Kind: "admin", ID: "ali\u2028bin\tabu"}},
		{CausationID: "bad utf8 \xff\xfe", Actor: eventlog.Actor{ID: "only-id"}},
	}
}

func TestAppendMetaMatchesEncodingJSON(t *testing.T) {
	for _, m := range metaCases() {
		m.Prev, m.Hash = "should", "vanish"
		got := appendMeta(nil, &m)
		clean := m
		clean.Prev, clean.Hash = "", ""
		want, _ := json.Marshal(clean)
		if !bytes.Equal(got, want) {
			t.Errorf("appendMeta(%+v) = %s, encoding/json gives %s", m, got, want)
		}
	}
}

func TestDecodeMetaRoundTrip(t *testing.T) {
	for _, m := range metaCases() {
		b := appendMeta(nil, &m)
		var got eventlog.Metadata
		got.Prev, got.Hash = "p", "h"
		if err := decodeMeta(b, &got); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		var want eventlog.Metadata
		json.Unmarshal(b, &want)
		want.Prev, want.Hash = "p", "h"
		if got != want {
			t.Errorf("decode %s = %+v, encoding/json gives %+v", b, got, want)
		}
	}
	// Rows written by hand (whitespace, other key order, unknown keys)
	// still decode, through the general decoder.
	var m eventlog.Metadata
	if err := decodeMeta([]byte(` { "actor" : {"id":"x","kind":"user"}, "extra": 1, "source_ip":"1.2.3.4" } `), &m); err != nil {
		t.Fatal(err)
	}
	if m.Actor.ID != "x" || m.Actor.Kind != "user" || m.SourceIP != "1.2.3.4" {
		t.Errorf("hand-written metadata decoded as %+v", m)
	}
	if err := decodeMeta([]byte(`{"actor":`), &m); err == nil {
		t.Error("truncated metadata decoded without error")
	}
}

func FuzzMetaCodec(f *testing.F) {
	for _, m := range metaCases() {
		f.Add(m.CorrelationID, m.CausationID, m.Actor.Kind, m.Actor.ID, m.SourceIP, m.UserAgent)
	}
	f.Fuzz(func(t *testing.T, corr, caus, kind, id, ip, ua string) {
		m := eventlog.Metadata{CorrelationID: corr, CausationID: caus, Actor: eventlog.Actor{Kind: kind, ID: id}, SourceIP: ip, UserAgent: ua}
		b := appendMeta(nil, &m)
		want, _ := json.Marshal(m)
		if !bytes.Equal(b, want) {
			t.Fatalf("appendMeta = %s, encoding/json = %s", b, want)
		}
		var got, ref eventlog.Metadata
		if err := decodeMeta(b, &got); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		json.Unmarshal(b, &ref)
		if got != ref {
			t.Fatalf("decode %s = %+v, encoding/json = %+v", b, got, ref)
		}
	})
}
