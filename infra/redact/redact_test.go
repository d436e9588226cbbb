package redact

import (
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	for raw, want := range map[string]string{
		"mongodb://u:pw@h1,h2/?replicaSet=x": "mongodb://xxxxx@h1,h2/?replicaSet=x",
		"esdb://admin:p@ss:w0rd@host:2113":   "esdb://xxxxx@host:2113",
		"smtp://user:pa%zzss@host:587":       "smtp://xxxxx@host:587",
		"mongodb://u:1/ab@h.example/x":       "mongodb://xxxxx@h.example/x",
		"a://0:@00#@0":                       "a://xxxxx@0",
		"user:secret@host":                   "xxxxx@host",
		"user:a://b@host":                    "xxxxx@host",
		"nats://s3cr3tt0ken@nats:4222":       "nats://xxxxx@nats:4222",
		"mongodb://host:27017/x":             "mongodb://host:27017/x",
		"smtp://mail.melaka.gov.my:587":      "smtp://mail.melaka.gov.my:587",
		"not a url at all, no secret":        "not a url at all, no secret",
	} {
		if got := URL(raw); got != want {
			t.Errorf("URL(%q) = %q, want %q", raw, got, want)
		}
	}
}

// FuzzURL: whatever the password, URL hides it.
func FuzzURL(f *testing.F) {
	for _, pw := range []string{"hunter2", "hun ter2", "pa%zzss", "1/ab", "p@ss:w0rd", "a://b", "x?y#z", "@00#"} {
		f.Add("mongodb", "user", pw, "db.example:27017/ispeks")
	}
	f.Fuzz(func(t *testing.T, scheme, user, pw, rest string) {
		raw := scheme + "://" + user + ":" + pw + "@" + rest
		// Only a password that could be told apart from the rest of the
		// text is checked: one of 4 characters or more that is not already
		// elsewhere in the URL or in the mask. A user name ends at the
		// first ':' and cannot hold '@'.
		if len(pw) < 4 || strings.Contains(scheme+"://"+user+":xxxxx@"+rest, pw) || strings.ContainsAny(user, ":@") {
			return
		}
		if got := URL(raw); strings.Contains(got, pw) {
			t.Fatalf("URL(%q) = %q shows the password", raw, got)
		}
	})
}
