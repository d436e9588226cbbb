package accounts

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/mykad"
	"github.com/melaka-gov/ispeks/projections"
)

// GetAccount returns the account view of a user ID (digits, as stored).
func GetAccount(ctx context.Context, r projections.Reader, userID string) (Account, bool, error) {
	doc, ok, err := r.Get(ctx, Accounts, userID)
	if err != nil || !ok {
		return Account{}, false, err
	}
	var a Account
	if err := json.Unmarshal(doc.Body, &a); err != nil {
		return Account{}, false, fmt.Errorf("accounts: account %s: %w", maskID(userID), err)
	}
	return a, true, nil
}

// GetEmployee returns the staff record of an IC (digits).
func GetEmployee(ctx context.Context, r projections.Reader, ic string) (Employee, bool, error) {
	return getEmployee(ctx, r, ic)
}

// Person is one result of an admin search: the staff record and, if the
// person registered, the account view.
type Person struct {
	Employee Employee
	Account  *Account
}

// MaxNameScan bounds the index entries one name search reads; a query that
// would need more is reported as truncated ("refine the search").
const MaxNameScan = 2000

// FindEmployeesByName finds staff whose name has a word starting with each
// word of query ("fadz sul" finds "Mohd Fadzlezam bin Sulaiman"), in name
// order, at most limit of them. truncated says more may exist.
func FindEmployeesByName(ctx context.Context, r projections.Reader, query string, limit int) (out []Employee, truncated bool, err error) {
	words := nameWords(query)
	if len(words) == 0 {
		return nil, false, nil
	}
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	// The longest word is the most selective; look up its longest
	// indexed prefix.
	lookup := slices.MaxFunc(words, func(a, b string) int { return len([]rune(a)) - len([]rune(b)) })
	lr := []rune(lookup)
	var key string
	for _, n := range prefixLens {
		if len(lr) >= n {
			key = fmt.Sprintf("p%d:%s", n, string(lr[:n]))
			break
		}
	}
	seen := map[string]bool{}
	q := projections.Query{Collection: EmployeeNames, Where: map[string]any{"key": key}, SortBy: "name_lc", Limit: 200}
	scanned := 0
	for {
		page, err := r.Find(ctx, q)
		if err != nil {
			return nil, false, err
		}
		for i, d := range page.Docs {
			scanned++
			var ne nameEntry
			if err := json.Unmarshal(d.Body, &ne); err != nil {
				return nil, false, fmt.Errorf("accounts: name index %s: %w", d.ID, err)
			}
			if seen[ne.IC] || !matchesAll(ne.Name, words) {
				continue
			}
			seen[ne.IC] = true
			e, ok, err := getEmployee(ctx, r, ne.IC)
			if err != nil {
				return nil, false, err
			}
			if ok {
				out = append(out, e)
			}
			if len(out) == limit {
				return out, page.Next != "" || i < len(page.Docs)-1, nil
			}
		}
		if page.Next == "" {
			return out, false, nil
		}
		if scanned >= MaxNameScan {
			return out, true, nil
		}
		q.After = page.Next
	}
}

// matchesAll: every query word is a prefix of some word of name.
func matchesAll(name string, query []string) bool {
	words := nameWords(name)
	for _, q := range query {
		if !slices.ContainsFunc(words, func(w string) bool { return strings.HasPrefix(w, q) }) {
			return false
		}
	}
	return true
}

// FindPeople is the admin search: an IC number (with or without dashes)
// finds that person; anything else searches names. Each result carries the
// account view when the person registered.
func FindPeople(ctx context.Context, r projections.Reader, query string, limit int) ([]Person, bool, error) {
	if ic, err := mykad.Parse(query); err == nil {
		e, ok, err := getEmployee(ctx, r, ic.String())
		if err != nil || !ok {
			// An account without a master record cannot exist, but an
			// IC search of someone not in the master finds nobody.
			return nil, false, err
		}
		p, err := withAccount(ctx, r, e)
		if err != nil {
			return nil, false, err
		}
		return []Person{p}, false, nil
	}
	emps, truncated, err := FindEmployeesByName(ctx, r, query, limit)
	if err != nil {
		return nil, false, err
	}
	out := make([]Person, 0, len(emps))
	for _, e := range emps {
		p, err := withAccount(ctx, r, e)
		if err != nil {
			return nil, false, err
		}
		out = append(out, p)
	}
	return out, truncated, nil
}

func withAccount(ctx context.Context, r projections.Reader, e Employee) (Person, error) {
	a, ok, err := GetAccount(ctx, r, e.IC)
	if err != nil {
		return Person{}, err
	}
	p := Person{Employee: e}
	if ok {
		p.Account = &a
	}
	return p, nil
}

// ListAccounts lists accounts in a status (StatusLocked for the admin's
// "locked accounts" list), by user ID, a page at a time (after: the previous
// page's next cursor).
func ListAccounts(ctx context.Context, r projections.Reader, status string, limit int, after string) ([]Account, string, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	page, err := r.Find(ctx, projections.Query{Collection: Accounts, Where: map[string]any{"status": status}, Limit: limit, After: after})
	if err != nil {
		return nil, "", err
	}
	out := make([]Account, 0, len(page.Docs))
	for _, d := range page.Docs {
		var a Account
		if err := json.Unmarshal(d.Body, &a); err != nil {
			return nil, "", fmt.Errorf("accounts: account %s: %w", maskID(d.ID), err)
		}
		out = append(out, a)
	}
	return out, page.Next, nil
}

// RecentAttempts returns the login history of subject (a user ID, or
// ProbeSubject(key) for an unknown ID), newest first, a page at a time.
func RecentAttempts(ctx context.Context, r projections.Reader, subject string, limit int, after string) ([]Attempt, string, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	page, err := r.Find(ctx, projections.Query{Collection: LoginAttempts, Where: map[string]any{"subject": subject}, SortBy: "position", Desc: true, Limit: limit, After: after})
	if err != nil {
		return nil, "", err
	}
	out := make([]Attempt, 0, len(page.Docs))
	for _, d := range page.Docs {
		var a Attempt
		if err := json.Unmarshal(d.Body, &a); err != nil {
			return nil, "", fmt.Errorf("accounts: attempt %s: %w", d.ID, err)
		}
		out = append(out, a)
	}
	return out, page.Next, nil
}

// Challenge is what the login page shows after the user ID step: the
// security image (an account.SecurityImages ID) and the secret phrase.
type Challenge struct {
	ImageID string
	Phrase  string
}

// Opener opens sealed values (infra/security Sealer).
type Opener interface {
	Open(sealed string, aad []byte) ([]byte, error)
}

// DecoyPicker picks a decoy fixed per user ID (infra/security Keyed).
type DecoyPicker interface {
	DecoyIndexes(userID string, nImages, nPhrases int) (image, phrase int)
}

// LoginChallenge returns the security image and phrase for the user ID
// typed at the first login step. An activated account shows its own; an
// unknown ID — and an account not yet activated, which has none, so that it
// looks like any other ID — shows a decoy chosen by a keyed hash of the ID,
// the same every time. The page must look the same either way. If a phrase
// cannot be opened (a key problem) the decoy is returned with the error, so
// the page can still show something while the error is logged.
func LoginChallenge(ctx context.Context, r projections.Reader, open Opener, decoys DecoyPicker, userID string) (Challenge, error) {
	images := account.SecurityImages()
	img, phr := decoys.DecoyIndexes(userID, len(images), account.PhraseCount())
	decoy := Challenge{ImageID: images[img].ID, Phrase: account.Phrase(phr)}
	a, ok, err := GetAccount(ctx, r, userID)
	if err != nil {
		return decoy, err
	}
	if !ok || !a.Activated || a.SecurityImage == "" || a.SealedPhrase == "" {
		return decoy, nil
	}
	phrase, err := open.Open(a.SealedPhrase, account.PhraseAAD(userID))
	if err != nil {
		return decoy, fmt.Errorf("accounts: secret phrase of %s: %w", maskID(userID), err)
	}
	return Challenge{ImageID: a.SecurityImage, Phrase: string(phrase)}, nil
}
