package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The person of the walkthrough: the first demo staff member, who has
// payments in every status and statements of every type (infra/demo).
const (
	sitiIC       = "791117045672"
	sitiICCard   = "791117-04-5672"
	sitiName     = "Siti Aminah binti Omar"
	sitiEmail    = "siti.aminah@melaka.gov.my"
	sitiDept     = "Perbendaharaan Negeri Melaka"
	firstPass    = "Melaka#Bandaraya2025"
	secondPass   = "Hang-Tuah#Pahlawan88"
	secretAnswer = "Cikgu Rosnah"
	secretImage  = "wau-bulan"
)

// TestWalkthrough is the user manual end to end in a real browser against
// the real binary: Pendaftaran, the temporary password from the demo
// mailbox, the two-step login with a decoy image, Aktif, the home page,
// the second login with the chosen image and phrase, Status Bayaran down
// to the printed report, Penyata Gaji down to the downloaded slip, Tukar
// Kata Laluan, the English toggle, and the lockout after three wrong
// passwords. It ends the portal with SIGTERM and wants a clean exit.
func TestWalkthrough(t *testing.T) {
	started := time.Now()
	p := startPortal(t)
	b := newBrowser(t, p.URL)
	t.Logf("portal %s ready and browser started in %s", p.URL, time.Since(started).Round(time.Millisecond))

	// Landing: ID Pengguna and Login, Pendaftaran, and (demo) the box
	// naming demo staff.
	b.open("/", 200)
	b.want("h1", "Selamat Datang ke Portal iSPEKS")
	b.want(".card--login", "ID Pengguna", "Login", "Lupa Kata Laluan")
	demoBox := b.count("#demo-title") > 0
	if demoBox {
		b.want(".card--demo", sitiName, sitiICCard, sitiEmail, "Peti Masuk Demo")
	} else {
		t.Log("the landing page has no demo box (web.Config.DemoStaff not wired): going to /demo/mailbox by its address")
	}
	b.shot("landing")

	// Pendaftaran: IC and official e-mail → Hantar → the success page.
	b.click("Pendaftaran", chromedp.CSS(`.card--register a[href="/pendaftaran"]`), 200)
	b.want("h1", "Pendaftaran")
	b.fill("f-ic", sitiICCard)
	b.fill("f-email", sitiEmail)
	b.shot("register")
	b.click("Hantar", chromedp.CSS(`main form button[type="submit"]`), 200)
	b.want("main", "Pendaftaran berjaya. Lakukan semakan di peti masuk emel rasmi kerajaan anda untuk dapatkan kata laluan sementara.",
		sitiICCard, sitiEmail)
	b.shot("registered")

	// The demo mailbox, from the landing page's demo box: the mail arrives
	// through the outbox consumer, so look again until it is listed; then
	// read the temporary password.
	b.click("Login (back to the portal)", chromedp.CSS(`main a.button--primary[href="/"]`), 200)
	if demoBox {
		b.click("Buka Peti Masuk Demo", chromedp.CSS(`.card--demo a[href="/demo/mailbox"]`), 200)
	} else {
		b.open("/demo/mailbox", 200)
	}
	b.want("h1", "Peti Masuk Demo")
	mail := chromedp.Search(`//table//tr[td[contains(., "` + sitiEmail + `")]]//a[contains(., "Pendaftaran iSPEKS")]`)
	b.awaitMail(mail)
	b.shot("mailbox")
	b.click("the registration mail", mail, 200)
	body := b.want("pre.mail", sitiName)
	m := tempPasswordRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no temporary password in the mail:\n%s", body)
	}
	temp := m[1]
	b.shot("mail")

	// Back to the landing page: ID Pengguna → Login → the password page
	// shows an image and a phrase although none was chosen yet (a decoy,
	// so the page says nothing about the account).
	b.click("the portal's name", chromedp.CSS(`a.brand`), 200)
	b.fill("f-user_id", sitiIC)
	b.click("Login", chromedp.CSS(`.card--login button[type="submit"]`), 200)
	b.wantPath("/login/kata-laluan")
	b.want("main", sitiICCard, "Frasa Rahsia")
	if src := b.attr(".secimg img", "src"); !strings.HasPrefix(src, "/static/security/") {
		t.Fatalf("password page image %q", src)
	}
	decoy := b.text(".secimg strong")
	b.shot("password-decoy")

	// The temporary password → the activation form (Aktif).
	b.fill("f-password", temp)
	b.click("Login with the temporary password", chromedp.CSS(`main form button[type="submit"]`), 200)
	b.wantPath("/pengaktifan")
	b.want("main", "Maklumat Kata Laluan", "Soalan dan Jawapan Rahsia", "Imej Online", "Frasa Rahsia")
	if n := b.count(`input[type="radio"][name="image"]`); n < 12 {
		t.Fatalf("the gallery offers %d images", n)
	}
	b.fill("f-password", firstPass)
	b.fill("f-confirm_password", firstPass)
	b.choose("f-question", "guru-kegemaran")
	b.fill("f-answer", secretAnswer)
	b.tap("the wau bulan picture", chromedp.CSS(`label[for="f-image-`+secretImage+`"]`))
	// The secret phrase is chosen from the phrases offered (drawn from the
	// catalogue the decoys come from, so a phrase never tells a real ID
	// from an unknown one): the first offered that is not the decoy shown
	// before activation, so the check after it tells the two apart.
	secretPhrase := b.attr(`#f-phrase option:nth-of-type(2)`, "value")
	if secretPhrase == decoy {
		secretPhrase = b.attr(`#f-phrase option:nth-of-type(3)`, "value")
	}
	if secretPhrase == "" {
		t.Fatal("the activation page offers no phrase")
	}
	b.choose("f-phrase", secretPhrase)
	b.shot("activate")
	b.click("Aktif", chromedp.CSS(`main form button[type="submit"]`), 200)

	// Home: the person's name and department, and the menu.
	b.wantPath("/utama")
	b.want("h1", sitiName)
	b.want("main .lead", sitiDept)
	b.want("header .who", sitiName, sitiDept)
	b.want("nav.nav .nav-bar", "Permohonan", "Penyata Gaji", "Tetapan Akaun", "Log Keluar")
	b.want("main .alert--info", "Ini log masuk pertama anda.")
	b.shot("home")

	// Log Keluar, and in again: the password page now shows the chosen
	// image and phrase.
	b.logout()
	b.fill("f-user_id", sitiIC)
	b.click("Login", chromedp.CSS(`.card--login button[type="submit"]`), 200)
	if src := b.attr(".secimg img", "src"); !strings.Contains(src, "/static/security/"+secretImage+".svg") {
		t.Fatalf("after activation the password page shows %q, want the chosen %s", src, secretImage)
	}
	if got := b.text(".secimg strong"); got != secretPhrase {
		t.Fatalf("after activation the phrase is %q, want %q (the decoy was %q)", got, secretPhrase, decoy)
	}
	b.shot("password-known")
	b.fill("f-password", firstPass)
	b.click("Login", chromedp.CSS(`main form button[type="submit"]`), 200)
	b.wantPath("/utama")
	b.want("main .alert--info", "Log masuk terakhir anda sebelum ini:")

	b.payments()
	b.statements()

	// Tetapan Akaun › Aktiviti Log Masuk: both logins, newest first.
	b.menu("Tetapan Akaun", "Aktiviti Log Masuk", "/tetapan-akaun/aktiviti-log-masuk")
	b.want("main table tbody tr:first-child", "Kata laluan diterima")
	b.want("main table tbody tr:last-child", "Kata laluan diterima", "dengan kata laluan sementara")
	b.shot("activity")

	// Tetapan Akaun › Tukar Kata Laluan.
	b.menu("Tetapan Akaun", "Tukar Kata Laluan", "/tetapan-akaun/tukar-kata-laluan")
	b.fill("f-old_password", firstPass)
	b.fill("f-password", secondPass)
	b.fill("f-confirm_password", secondPass)
	b.click("Simpan", chromedp.CSS(`main form button[type="submit"]`), 200)
	b.want("main", "Kata laluan anda telah ditukar.")
	b.shot("password-changed")
	b.logout()

	// The English toggle, on the landing page, and back to Malay.
	b.click("English", chromedp.CSS(`.official-bar__lang`), 200)
	b.want("h1", "Welcome to the iSPEKS Portal")
	b.want(".card--login", "User ID", "Forgot Password")
	if lang := b.attr("html", "lang"); lang != "en" {
		t.Fatalf("html lang %q after the toggle", lang)
	}
	b.shot("landing-en")
	b.click("Bahasa Melayu", chromedp.CSS(`.official-bar__lang`), 200)
	b.want("h1", "Selamat Datang ke Portal iSPEKS")

	// The new password works.
	b.login(sitiIC, secondPass)
	b.wantPath("/utama")
	b.logout()

	// Lockout: two wrong passwords say "Kata Laluan Tidak Tepat" with the
	// warning; the third locks the account, and then the right password
	// gets the same notice.
	for i, wrong := range []string{"Salah-Sekali-1", "Salah-Dua-Kali-2"} {
		b.login(sitiIC, wrong)
		b.wantPath("/login/kata-laluan")
		b.want(".alert--error", "Kata Laluan Tidak Tepat",
			"Akaun anda akan disekat sekiranya percubaan log masuk melebihi 3 kali. Sila hubungi Pentadbir Sistem.")
		if i == 0 {
			b.shot("wrong-password")
		}
	}
	b.loginStatus(sitiIC, "Salah-Tiga-Kali-3", 423)
	b.want("main", "ID Pengguna anda telah dikunci / disekat. Sila hubungi Pentadbir Sistem.")
	b.shot("locked")
	b.loginStatus(sitiIC, secondPass, 423)
	b.want("main", "ID Pengguna anda telah dikunci / disekat. Sila hubungi Pentadbir Sistem.")

	if problems := b.consoleProblems(); len(problems) > 0 {
		t.Errorf("browser console:\n%s", strings.Join(problems, "\n"))
	}

	// Personal data and secrets never reach the log.
	logs := p.logs.String()
	for name, secret := range map[string]string{
		"IC number": sitiIC, "IC number (card form)": sitiICCard, "temporary password": temp,
		"password": firstPass, "new password": secondPass, "secret answer": secretAnswer,
	} {
		if strings.Contains(logs, secret) {
			t.Errorf("the portal's log contains the %s", name)
		}
	}

	p.stop(t)
	t.Logf("walkthrough done in %s; screenshots in %s", time.Since(started).Round(time.Millisecond), b.shots)
}

// payments is Permohonan › Status Bayaran: Jenis Modul Pendahuluan →
// Semak → the list → one payment's details → Cetak (the PDF report).
func (b *browser) payments() {
	b.t.Helper()
	b.menu("Permohonan", "Status Bayaran", "/permohonan/status-bayaran")
	b.want("h1", "Status Bayaran") // not "Akan Datang": the pages are wired
	b.choose("f-modul", "pendahuluan")
	b.click("Semak", chromedp.CSS(`main form button[type="submit"]`), 200)
	b.want("main", "Senarai Pertanyaan Status Bayaran", "Pendahuluan")
	if n := b.count("main table.data-table tbody tr"); n < 2 {
		b.t.Fatalf("Status Bayaran lists %d Pendahuluan payments", n)
	}
	b.shot("status-bayaran")
	b.click("the first payment", chromedp.CSS(`main table.data-table tbody tr a.row-link`), 200)
	b.want("h1", "Maklumat terperinci")
	if n := b.count("main table.data-table tbody tr"); n < 1 {
		b.t.Fatal("the payment's details have no status history")
	}
	b.shot("payment-detail")
	print := chromedp.CSS(`.doc-actions a.button--primary`)
	href := b.attr(string(print), "href")
	b.wantPDF("Cetak", href, "inline")
	b.opensTab("Cetak", print, b.base+href)
	b.wantPDF("Muat Turun", b.attr(`.doc-actions a[download]`, "href"), "attachment")
}

// statements is Penyata Gaji: Urusniaga Slip Gaji Bulanan → Cari →
// Senarai Dokumen → MuatTurun (the PDF), the saved copy and the HTML slip.
func (b *browser) statements() {
	b.t.Helper()
	b.click("Penyata Gaji", chromedp.CSS(`nav.nav .nav-bar a[href="/penyata-gaji"]`), 200)
	b.want("h1", "Penyata Gaji")
	b.choose("f-urusniaga", "slip-gaji-bulanan")
	b.click("Cari", chromedp.CSS(`main form button[type="submit"]`), 200)
	b.want("main", "Senarai Dokumen", "Slip Gaji Bulanan")
	if n := b.count("main table.data-table tbody tr"); n < 2 {
		b.t.Fatalf("Senarai Dokumen lists %d monthly slips", n)
	}
	b.shot("senarai-dokumen")
	first := `main table.data-table tbody tr:first-child`
	muatTurun := chromedp.CSS(first + ` a.row-link`)
	href := b.attr(string(muatTurun), "href")
	b.wantPDF("MuatTurun", href, "inline")
	b.opensTab("MuatTurun", muatTurun, b.base+href)
	b.wantPDF("Simpan", b.attr(first+` a[download]`, "href"), "attachment")
	b.click("the slip", chromedp.CSS(first+` a:last-child`), 200)
	b.want("main", sitiName, "RM")
	b.shot("slip")
}

// awaitMail reloads the demo mailbox (the page shown) until sel is listed.
func (b *browser) awaitMail(sel chromedp.Search) {
	b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		found := false
		b.step("look for the mail", func(ctx context.Context) error {
			nodes, err := chromedp.Run(ctx, chromedp.Nodes(sel, chromedp.AtLeast(0)))
			found = len(nodes) > 0
			return err
		})
		if found {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("the mail %s never reached the demo mailbox", sel)
		}
		time.Sleep(100 * time.Millisecond) // the outbox consumer delivers asynchronously
		b.open("/demo/mailbox", 200)
	}
}

// menu opens a drop-down of the menu bar and follows one of its links.
func (b *browser) menu(group, item, path string) {
	b.t.Helper()
	b.tap(group, chromedp.Search(fmt.Sprintf(`//ul[contains(@class,"nav-bar")]//summary[normalize-space()=%q]`, group)))
	b.click(group+" › "+item, chromedp.CSS(`nav.nav .nav-bar .nav-drop a[href="`+path+`"]`), 200)
	b.wantPath(path)
}

// logout presses Log Keluar and wants the landing page's notice.
func (b *browser) logout() {
	b.t.Helper()
	b.click("Log Keluar", chromedp.CSS(`nav.nav .nav-bar .logout__button`), 200)
	b.wantPath("/")
	b.want(".card--login", "Anda telah log keluar.")
}

// login enters a user ID and a password from the landing page.
func (b *browser) login(userID, password string) {
	b.t.Helper()
	b.open("/", 200)
	b.fill("f-user_id", userID)
	b.click("Login", chromedp.CSS(`.card--login button[type="submit"]`), 200)
	b.fill("f-password", password)
	b.step("Login with a password", func(ctx context.Context) error {
		_, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`main form button[type="submit"]`), chromedp.NodeVisible))
		return err
	})
}

// loginStatus is login wanting the password page's answer status.
func (b *browser) loginStatus(userID, password string, status int64) {
	b.t.Helper()
	b.open("/", 200)
	b.fill("f-user_id", userID)
	b.click("Login", chromedp.CSS(`.card--login button[type="submit"]`), 200)
	b.fill("f-password", password)
	b.click("Login with a password", chromedp.CSS(`main form button[type="submit"]`), status)
}
