// Package mailtest is a real SMTP server (emersion/go-smtp) for tests: the
// mail package's own tests and the console's (cmd/ispeks) drive the real
// senders against it. Only tests import it.
package mailtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// PKI is a self-signed certificate for 127.0.0.1 and the client TLS
// configuration that trusts it.
type PKI struct {
	Server *tls.Config
	Client *tls.Config
}

// NewPKI makes a certificate valid for an hour.
func NewPKI(t testing.TB) PKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return PKI{
		Server: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		Client: &tls.Config{RootCAs: pool},
	}
}

// Received is one message accepted by the server.
type Received struct {
	From   string
	To     []string
	Data   []byte
	TLS    bool
	Authed string
}

// Server is a real SMTP server that requires TLS (STARTTLS or implicit)
// before AUTH PLAIN, and AUTH before MAIL, unless it was started as a relay
// (StartRelay).
type Server struct {
	Addr string
	User string
	Pass string

	srv   *smtp.Server
	relay bool // takes mail without TLS or AUTH

	mu       sync.Mutex
	messages []Received
	arrived  chan struct{}
	// refusals answer RCPT TO for an address with an SMTP error (Refuse).
	refusals map[string]*smtp.SMTPError
	hold     *heldData // the next mail's DATA whose answer is kept back (HoldData)
}

// heldData is a mail's DATA the server keeps its answer to.
type heldData struct {
	taken   bool          // a session has the mail
	arrived chan struct{} // closed when its data is read
	answer  chan struct{} // closed by Answer
	decided chan bool     // accepted (the client still waited) or dropped
}

// HoldData makes the server keep back its answer to the next mail's DATA,
// as a stuck server (a content filter that hangs) does: it reads the data,
// then says nothing until Answer. The mail is accepted only if its client
// still waits for the answer then; one whose client left is dropped, as
// its transaction never completed.
func (s *Server) HoldData() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold = &heldData{arrived: make(chan struct{}), answer: make(chan struct{}), decided: make(chan bool, 1)}
}

// WaitHeld blocks until the held mail's data has arrived.
func (s *Server) WaitHeld(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	h := s.hold
	s.mu.Unlock()
	select {
	case <-h.arrived:
	case <-time.After(20 * time.Second):
		t.Fatal("no mail's DATA reached the SMTP server to be held")
	}
}

// Answer answers the held mail's DATA and reports whether the mail was
// accepted (its client still waited) rather than dropped.
func (s *Server) Answer(t testing.TB) bool {
	t.Helper()
	s.mu.Lock()
	h := s.hold
	s.hold = nil
	s.mu.Unlock()
	close(h.answer)
	select {
	case ok := <-h.decided:
		return ok
	case <-time.After(20 * time.Second):
		t.Fatal("the held mail was never decided")
		return false
	}
}

// takeHold gives the held DATA to the first session that reaches it.
func (s *Server) takeHold() *heldData {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hold == nil || s.hold.taken {
		return nil
	}
	s.hold.taken = true
	return s.hold
}

// wait keeps the answer back until Answer, watching conn meanwhile: the
// client, waiting for the answer, sends nothing, so a read ends only when
// it gives up and closes the connection. It reports whether the client
// still waited.
func (h *heldData) wait(conn net.Conn) bool {
	close(h.arrived)
	// Not the server's read timeout: held, a client may wait longer.
	_ = conn.SetReadDeadline(time.Time{})
	read := make(chan error, 1)
	go func() {
		var b [1]byte
		_, err := conn.Read(b[:])
		read <- err
	}()
	var waited bool
	select {
	case <-read:
	case <-h.answer:
		// A client that left before the answer has its close seen well
		// within this; one still waiting sends nothing.
		_ = conn.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
		var ne net.Error
		waited = errors.As(<-read, &ne) && ne.Timeout()
		_ = conn.SetReadDeadline(time.Time{})
	}
	h.decided <- waited
	return waited
}

// Refuse makes RCPT TO for address fail with code and enhanced code, the
// server echoing the address as Postfix does; code 0 accepts it again.
func (s *Server) Refuse(address string, code int, enhanced smtp.EnhancedCode, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refusals == nil {
		s.refusals = map[string]*smtp.SMTPError{}
	}
	if code == 0 {
		delete(s.refusals, address)
		return
	}
	s.refusals[address] = &smtp.SMTPError{Code: code, EnhancedCode: enhanced, Message: "<" + address + ">: " + text}
}

// Start runs a server on addr ("" for any free port) with STARTTLS, or with
// TLS from the start when implicitTLS, and AUTH PLAIN as User/Pass. It
// stops when the test ends.
func Start(t testing.TB, pki PKI, implicitTLS bool, addr string) *Server {
	t.Helper()
	return start(t, &pki, implicitTLS, addr)
}

// StartRelay runs a server that takes mail from anyone, without TLS or
// AUTH, as an organisation's internal relay does for the portal's host
// (smtp://ADDR?starttls=off): for a process the test cannot hand a TLS
// configuration, such as the console commands.
func StartRelay(t testing.TB) *Server {
	t.Helper()
	return start(t, nil, false, "")
}

func start(t testing.TB, pki *PKI, implicitTLS bool, addr string) *Server {
	s := &Server{User: "ispeks", Pass: "s3cret pass", arrived: make(chan struct{}, 100), relay: pki == nil}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port of a stopped server may linger briefly
		ln, err = net.Listen("tcp", addr)
		if err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if implicitTLS {
		ln = tls.NewListener(ln, pki.Server)
	}
	s.Addr = ln.Addr().String()
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, conn: c}, nil
	}))
	s.srv.Domain = "localhost"
	if pki != nil {
		s.srv.TLSConfig = pki.Server
	}
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	s.srv.MaxMessageBytes = 1 << 20
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

// Close stops the server.
func (s *Server) Close() { _ = s.srv.Close() }

// Messages returns what the server has accepted so far.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.messages...)
}

// Wait blocks until n messages have arrived in total.
func (s *Server) Wait(t testing.TB, n int) []Received {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		if m := s.Messages(); len(m) >= n {
			return m
		}
		select {
		case <-s.arrived:
		case <-deadline:
			t.Fatalf("SMTP server received %d messages, want %d", len(s.Messages()), n)
		}
	}
}

type session struct {
	s      *Server
	conn   *smtp.Conn
	authed string
	from   string
	to     []string
}

func (x *session) AuthMechanisms() []string {
	if x.s.relay {
		return nil
	}
	return []string{sasl.Plain}
}

func (x *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if _, isTLS := x.conn.TLSConnectionState(); !isTLS {
			return errors.New("TLS required")
		}
		if username != x.s.User || password != x.s.Pass {
			return smtp.ErrAuthFailed
		}
		x.authed = username
		return nil
	}), nil
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.authed == "" && !x.s.relay {
		return smtp.ErrAuthRequired
	}
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.s.mu.Lock()
	refusal := x.s.refusals[to]
	x.s.mu.Unlock()
	if refusal != nil {
		return refusal
	}
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if h := x.s.takeHold(); h != nil && !h.wait(x.conn.Conn()) {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "Client left before the answer"}
	}
	_, isTLS := x.conn.TLSConnectionState()
	x.s.mu.Lock()
	x.s.messages = append(x.s.messages, Received{From: x.from, To: x.to, Data: data, TLS: isTLS, Authed: x.authed})
	x.s.mu.Unlock()
	x.s.arrived <- struct{}{}
	return nil
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }
