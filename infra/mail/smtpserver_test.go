package mail_test

import (
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"strings"
	"testing"
)

// parsedMail is a received message parsed independently of the package's
// own reader, with net/mail and mime/multipart only.
type parsedMail struct {
	Header  netmail.Header
	Subject string
	To      *netmail.Address
	From    *netmail.Address
	ReplyTo *netmail.Address
	Text    string
	HTML    string
}

func parseMail(t *testing.T, raw []byte) parsedMail {
	t.Helper()
	msg, err := netmail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("received mail does not parse: %v", err)
	}
	var p parsedMail
	p.Header = msg.Header
	dec := new(mime.WordDecoder)
	if p.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Fatal(err)
	}
	if p.To, err = netmail.ParseAddress(msg.Header.Get("To")); err != nil {
		t.Fatalf("To: %v", err)
	}
	if p.From, err = netmail.ParseAddress(msg.Header.Get("From")); err != nil {
		t.Fatalf("From: %v", err)
	}
	if rt := msg.Header.Get("Reply-To"); rt != "" {
		if p.ReplyTo, err = netmail.ParseAddress(rt); err != nil {
			t.Fatalf("Reply-To: %v", err)
		}
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	if mt != "multipart/alternative" {
		t.Fatalf("content type %q, want multipart/alternative", mt)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(part) // quoted-printable is undone by NextPart
		if err != nil {
			t.Fatal(err)
		}
		pt, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		switch pt {
		case "text/plain":
			p.Text = strings.ReplaceAll(string(body), "\r\n", "\n")
		case "text/html":
			p.HTML = string(body)
		}
	}
	return p
}
