package web

// DemoPerson is one demo staff member named on the landing page in demo
// mode, so a newcomer can register as them and read the temporary password
// in the demo mailbox.
type DemoPerson struct {
	Name  string
	IC    string // 12 digits; shown as 791117-04-5672
	Email string
}

// DemoPeople maps a demo staff list (infra/demo.Staff()) to the landing
// page's hint, so the composition root needs one line.
func DemoPeople[T any](staff []T, person func(T) DemoPerson) []DemoPerson {
	out := make([]DemoPerson, len(staff))
	for i, p := range staff {
		out[i] = person(p)
	}
	return out
}

// demoHintMax keeps the hint a box, not a directory.
const demoHintMax = 4

// DemoHintRow is one person in the landing page's demo box.
type DemoHintRow struct {
	Name, IC, Email string
	Shared          bool // the e-mail is a mailbox shared with another listed person
}

// DemoHintView is the landing page's demo box.
type DemoHintView struct {
	Staff      []DemoHintRow
	MailboxURL string
}

// DemoHint is the landing page's demo box: at most four of
// Config.DemoStaff and the demo mailbox; nil outside demo mode or with no
// demo staff configured.
func (v *View) DemoHint() *DemoHintView {
	if v.site == nil || !v.site.cfg.Demo || len(v.site.cfg.DemoStaff) == 0 {
		return nil
	}
	staff := v.site.cfg.DemoStaff
	if len(staff) > demoHintMax {
		staff = staff[:demoHintMax]
	}
	seen := map[string]int{}
	for _, p := range staff {
		seen[p.Email]++
	}
	h := &DemoHintView{MailboxURL: PathDemoMailbox}
	for _, p := range staff {
		h.Staff = append(h.Staff, DemoHintRow{Name: p.Name, IC: formatIC(p.IC), Email: p.Email, Shared: seen[p.Email] > 1})
	}
	return h
}
