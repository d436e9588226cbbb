package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// rawBrowser is the measured clients' browser in bench login: one
// keep-alive HTTP/1.1 connection whose requests it writes and whose
// answers it reads itself, keeping the cookies the portal sets. Through
// net/http (http.Client, its cookie jar, http.ReadResponse) the in-process
// load generator spent about a sixth of a tiny-hash login's CPU on building
// and parsing messages, CPU taken from the portal it measures on the same
// two cores; a browser on a desk costs the server nothing. It speaks only
// what the login pages answer: a status line, headers, a body of a given
// length or in chunks.
type rawBrowser struct {
	addr    string // host:port
	conn    net.Conn
	br      *bufio.Reader
	out     []byte
	body    []byte
	cookies []rawCookie
}

type rawCookie struct{ name, value string }

// rawAnswer is what a request got back; Body is valid until the next one.
type rawAnswer struct {
	Status   int
	Location string
	Body     []byte
}

func newRawBrowser(base string) *rawBrowser {
	return &rawBrowser{addr: strings.TrimPrefix(base, "http://")}
}

// Close closes the connection; the next request dials a new one.
func (b *rawBrowser) Close() {
	if b.conn != nil {
		_ = b.conn.Close()
		b.conn, b.br = nil, nil
	}
}

// do sends one request (form: an url-encoded body for a POST, nil for a
// GET) and reads its whole answer. A request that fails on a kept-alive
// connection before any of its answer came (the server closed it while
// idle) is sent once more on a new one, as a browser does; once an answer
// has begun, a failure is the request's (a POST is never sent twice).
func (b *rawBrowser) do(ctx context.Context, method, path string, form []byte) (rawAnswer, error) {
	for attempt := 0; ; attempt++ {
		reused := b.conn != nil
		if !reused {
			c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", b.addr)
			if err != nil {
				return rawAnswer{}, err
			}
			b.conn, b.br = c, bufio.NewReaderSize(c, 64<<10)
		}
		ans, answered, err := b.exchange(ctx, method, path, form)
		if err == nil {
			return ans, nil
		}
		b.Close()
		if !reused || answered || attempt > 0 || ctx.Err() != nil {
			return rawAnswer{}, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
}

// exchange writes the request and reads its answer; answered says whether
// any of the answer had come when it failed.
func (b *rawBrowser) exchange(ctx context.Context, method, path string, form []byte) (ans rawAnswer, answered bool, err error) {
	conn := b.conn
	if err := conn.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		return rawAnswer{}, false, err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	w := append(b.out[:0], method...)
	w = append(w, ' ')
	w = append(w, path...)
	w = append(w, " HTTP/1.1\r\nHost: "...)
	w = append(w, b.addr...)
	w = append(w, "\r\nUser-Agent: ispeks-bench\r\n"...)
	if len(b.cookies) > 0 {
		w = append(w, "Cookie: "...)
		for i, c := range b.cookies {
			if i > 0 {
				w = append(w, "; "...)
			}
			w = append(w, c.name...)
			w = append(w, '=')
			w = append(w, c.value...)
		}
		w = append(w, "\r\n"...)
	}
	if form != nil {
		w = append(w, "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "...)
		w = strconv.AppendInt(w, int64(len(form)), 10)
		w = append(w, "\r\n"...)
	}
	w = append(w, "\r\n"...)
	w = append(w, form...)
	b.out = w
	if _, err := conn.Write(w); err != nil {
		return rawAnswer{}, false, err // a write to a closed connection (EPIPE, reset): nothing sent
	}
	if _, err := b.br.Peek(1); err != nil {
		// Closed under the request: the server dropped an idle connection
		// and read none of it. Anything else (a timeout) may have reached
		// the handler.
		closed := errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
		return rawAnswer{}, !closed, err
	}
	ans, err = b.read()
	return ans, true, err
}

var errRawAnswer = errors.New("bench: malformed answer")

// read reads one answer: the status line, the headers it needs, the body.
func (b *rawBrowser) read() (rawAnswer, error) {
	line, err := b.line()
	if err != nil {
		return rawAnswer{}, err
	}
	// "HTTP/1.1 303 See Other"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return rawAnswer{}, fmt.Errorf("%w: status line %q", errRawAnswer, line)
	}
	var ans rawAnswer
	if ans.Status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return rawAnswer{}, fmt.Errorf("%w: status line %q", errRawAnswer, line)
	}
	length, chunked, closing := -1, false, false
	for {
		line, err := b.line()
		if err != nil {
			return rawAnswer{}, err
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return rawAnswer{}, fmt.Errorf("%w: header %q", errRawAnswer, line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case headerIs(name, "content-length"):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return rawAnswer{}, fmt.Errorf("%w: Content-Length %q", errRawAnswer, value)
			}
		case headerIs(name, "transfer-encoding"):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case headerIs(name, "connection"):
			closing = bytes.EqualFold(value, []byte("close"))
		case headerIs(name, "location"):
			ans.Location = string(value)
		case headerIs(name, "set-cookie"):
			b.setCookie(value)
		}
	}
	b.body = b.body[:0]
	switch {
	case chunked:
		err = b.readChunked()
	case length >= 0:
		b.body = growTo(b.body, length)
		_, err = io.ReadFull(b.br, b.body)
	default:
		b.body, err = readAllInto(b.br, b.body)
		closing = true
	}
	if err != nil {
		return rawAnswer{}, fmt.Errorf("reading the answer: %w", err)
	}
	if closing {
		b.Close()
	}
	ans.Body = b.body
	return ans, nil
}

// line reads one CRLF-ended line without it (valid until the next read).
func (b *rawBrowser) line() ([]byte, error) {
	line, err := b.br.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	return bytes.TrimRight(line, "\r\n"), nil
}

func (b *rawBrowser) readChunked() error {
	for {
		line, err := b.line()
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 32)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: chunk size %q", errRawAnswer, line)
		}
		if n == 0 {
			for { // trailers, then the empty line
				if line, err = b.line(); err != nil || len(line) == 0 {
					return err
				}
			}
		}
		start := len(b.body)
		b.body = growTo(b.body, start+int(n))
		if _, err := io.ReadFull(b.br, b.body[start:]); err != nil {
			return err
		}
		if line, err = b.line(); err != nil || len(line) != 0 {
			return cmpErr(err, fmt.Errorf("%w: no CRLF after a chunk", errRawAnswer))
		}
	}
}

// setCookie keeps a Set-Cookie's name and value; an empty value or a
// Max-Age of 0 or less removes it, as a browser does.
func (b *rawBrowser) setCookie(v []byte) {
	pair, attrs, _ := bytes.Cut(v, []byte(";"))
	name, value, ok := bytes.Cut(pair, []byte("="))
	if !ok {
		return
	}
	n := string(bytes.TrimSpace(name))
	remove := len(bytes.TrimSpace(value)) == 0
	for _, a := range bytes.Split(attrs, []byte(";")) {
		k, val, _ := bytes.Cut(bytes.TrimSpace(a), []byte("="))
		if headerIs(k, "max-age") {
			if age, err := strconv.Atoi(string(val)); err == nil && age <= 0 {
				remove = true
			}
		}
	}
	for i, c := range b.cookies {
		if c.name == n {
			b.cookies = append(b.cookies[:i], b.cookies[i+1:]...)
			break
		}
	}
	if !remove {
		b.cookies = append(b.cookies, rawCookie{name: n, value: string(bytes.TrimSpace(value))})
	}
}

func headerIs(name []byte, lower string) bool { return bytes.EqualFold(name, []byte(lower)) }

func growTo(b []byte, n int) []byte {
	if cap(b) < n {
		nb := make([]byte, n, max(n, 2*cap(b)))
		copy(nb, b)
		return nb
	}
	return b[:n]
}

func readAllInto(r io.Reader, b []byte) ([]byte, error) {
	buf := bytes.NewBuffer(b)
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// csrfOf is the forms' CSRF token in a page.
func csrfOf(page []byte) (string, bool) {
	const mark = `name="csrf_token" value="`
	i := bytes.Index(page, []byte(mark))
	if i < 0 {
		return "", false
	}
	rest := page[i+len(mark):]
	j := bytes.IndexByte(rest, '"')
	if j <= 0 {
		return "", false
	}
	return string(rest[:j]), true
}

// login runs both steps with the right password and opens the home page,
// checking each answer as benchBrowser.login does. Each login is a new
// browser session: it starts with no cookies (the connection is kept).
func (b *rawBrowser) login(ctx context.Context, ic, password string) error {
	b.cookies = b.cookies[:0]
	tok, err := b.csrf(ctx, "/")
	if err != nil {
		return err
	}
	ans, err := b.do(ctx, "POST", "/login", []byte("user_id="+url.QueryEscape(ic)+"&csrf_token="+url.QueryEscape(tok)))
	if err != nil {
		return err
	}
	if ans.Status != 303 || ans.Location != "/login/kata-laluan" {
		return fmt.Errorf("POST /login: %d → %q", ans.Status, ans.Location)
	}
	if tok, err = b.csrf(ctx, "/login/kata-laluan"); err != nil {
		return err
	}
	ans, err = b.do(ctx, "POST", "/login/kata-laluan", []byte("password="+url.QueryEscape(password)+"&csrf_token="+url.QueryEscape(tok)))
	if err != nil {
		return err
	}
	if ans.Status != 303 || ans.Location != "/utama" {
		return fmt.Errorf("POST /login/kata-laluan: %d → %q", ans.Status, ans.Location)
	}
	if ans, err = b.do(ctx, "GET", "/utama", nil); err != nil {
		return err
	}
	if ans.Status != 200 {
		return fmt.Errorf("GET /utama: %d", ans.Status)
	}
	return nil
}

// csrf fetches a page (200 wanted) and returns its forms' CSRF token.
func (b *rawBrowser) csrf(ctx context.Context, path string) (string, error) {
	ans, err := b.do(ctx, "GET", path, nil)
	if err != nil {
		return "", err
	}
	if ans.Status == 303 && restartsLogin(ans.Location) {
		return "", fmt.Errorf("GET %s: %w", path, errLoginRestarted)
	}
	if ans.Status != 200 {
		return "", fmt.Errorf("GET %s: %d", path, ans.Status)
	}
	tok, ok := csrfOf(ans.Body)
	if !ok {
		return "", fmt.Errorf("GET %s: no CSRF token", path)
	}
	return tok, nil
}
