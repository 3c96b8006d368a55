// Package faultproxy is a reverse proxy for tests that sits between an HTTP
// client and a server on loopback and breaks the exchange on purpose: it
// refuses connections, resets them before or during the answer, answers
// with an error status, holds the answer back, or mangles a 2xx answer.
//
// A fault applies to the next Count attempts and then disarms itself, so a
// client that retries meets the real server on its next attempt. Each fault
// says whether the request is forwarded to the server before the exchange
// is broken: a reset after the server processed the request is a different
// event for the client than a 503 sent by a gateway that never reached it,
// and a test of retries must be able to tell them apart by what the server
// holds afterwards.
//
// Connection refusals cannot be staged by a listening proxy; they apply to
// connections made through [Proxy.DialContext], which a test installs as
// the DialContext of its client's [http.Transport].
package faultproxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// Kind is what a fault does to the exchange.
type Kind int

const (
	// None passes the exchange through unchanged.
	None Kind = iota
	// Refuse makes the dial of a new connection fail with "connection
	// refused", as when nothing listens on the port. It applies only to
	// connections made through [Proxy.DialContext]; the request never
	// reaches the proxy.
	Refuse
	// ResetBeforeResponse reads the request, then resets the TCP connection
	// (SO_LINGER 0) without answering.
	ResetBeforeResponse
	// ResetMidBody sends the answer's status line, its headers (with the
	// full Content-Length) and the first half of its body, then resets the
	// connection.
	ResetMidBody
	// Respond answers with [Fault.Status], [Fault.Header] and [Fault.Body].
	// With [Fault.Forward], the server's answer supplies whatever of the
	// three the fault leaves unset.
	Respond
	// Slow holds the answer back for [Fault.Delay], or until the client
	// goes away, then sends it.
	Slow
	// Truncate sends the answer cut to the first half of its body, with a
	// Content-Length that matches the cut body: a well-formed HTTP answer
	// whose content ends early.
	Truncate
)

var kindNames = [...]string{"none", "refuse", "reset-before-response", "reset-mid-body", "respond", "slow", "truncate"}

// String names the kind, such as "reset-mid-body".
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Fault describes one way to break an exchange.
type Fault struct {
	// Kind is what the fault does.
	Kind Kind
	// Forward sends the request to the server, and reads its whole answer,
	// before the fault is applied, so the server has processed the request
	// when the client sees the fault. Slow, Truncate and ResetMidBody need
	// an answer to work on and always forward.
	Forward bool
	// Status, for Respond, is the status to answer with; 0 means the
	// server's (or 502 when the request is not forwarded).
	Status int
	// Header, for Respond, holds headers set on the answer, over the
	// server's.
	Header http.Header
	// Body, for Respond, is the answer's body; nil means the server's (and
	// an empty body when the request is not forwarded). A non-nil empty
	// slice sends an empty body.
	Body []byte
	// Delay, for Slow, is how long the answer is held back.
	Delay time.Duration
	// Count is how many attempts the fault applies to; 0 means 1.
	Count int
}

// Stats counts what the proxy has seen since it started.
type Stats struct {
	// Attempts counts every attempt: each request that reached the proxy
	// and each dial that was refused.
	Attempts int
	// Faulted counts the attempts a fault was applied to.
	Faulted int
	// Forwarded counts the requests sent on to the server.
	Forwarded int
	// Panics counts handler panics, which the proxy recovers; a test
	// expects none.
	Panics int
}

// Proxy is a fault-injecting reverse proxy listening on a loopback port.
// Its methods are safe for concurrent use.
type Proxy struct {
	// URL is the proxy's address, such as http://127.0.0.1:4242, followed by
	// the upstream's path, so that it replaces the upstream's URL as it is.
	URL string
	// Addr is the proxy's host:port.
	Addr string

	upstream *url.URL
	ln       net.Listener
	srv      *http.Server
	up       *http.Transport
	dialer   net.Dialer

	mu        sync.Mutex
	idle      *sync.Cond // signalled when handlers or conns change
	handlers  int
	conns     map[net.Conn]http.ConnState
	fault     Fault
	remaining int
	stats     Stats
}

// New starts a proxy in front of upstream, an absolute http:// URL whose
// path is kept as it is: a request for <proxy URL>/x goes to <upstream>/x.
// Call Close when done.
func New(upstream string) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: upstream: %w", err)
	}
	if u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("faultproxy: upstream %q: want an absolute http:// URL", upstream)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p := &Proxy{
		Addr:     ln.Addr().String(),
		upstream: &url.URL{Scheme: u.Scheme, Host: u.Host},
		ln:       ln,
		up:       &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 16},
	}
	p.idle = sync.NewCond(&p.mu)
	p.URL = "http://" + p.Addr + u.EscapedPath()
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serve), ReadHeaderTimeout: 10 * time.Second, ConnState: p.connState}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// Set arms f for the next f.Count attempts (one when Count is 0), replacing
// any fault still armed.
func (p *Proxy) Set(f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault, p.remaining = f, max(f.Count, 1)
}

// Clear disarms any fault.
func (p *Proxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault, p.remaining = Fault{}, 0
}

// Stats returns the counts so far.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// take returns the fault to apply to this attempt, counting it, and
// disarms the fault when its count is used up. Refuse faults are taken only
// by dials (dial true), every other kind only by requests.
func (p *Proxy) take(dial bool) (Fault, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	armed := p.remaining > 0 && p.fault.Kind != None && (p.fault.Kind == Refuse) == dial
	if !dial || armed {
		p.stats.Attempts++
	}
	if !armed {
		return Fault{}, false
	}
	p.remaining--
	p.stats.Faulted++
	return p.fault, true
}

// DialContext dials addr, except while a Refuse fault is armed: then it
// dials a loopback port nothing listens on, and returns the operating
// system's "connection refused". Install it as the DialContext of a
// client's [http.Transport].
func (p *Proxy) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if _, ok := p.take(true); ok {
		closed, err := closedPort()
		if err != nil {
			return nil, err
		}
		addr = closed
	}
	return p.dialer.DialContext(ctx, network, addr)
}

// closedPort returns a loopback address nothing listens on: a port just
// taken from the system and released again.
func closedPort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("faultproxy: reserve a port: %w", err)
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// Wait blocks until the proxy is at rest: no handler runs and no
// connection is new or carries a request. Every request the proxy received
// has then been forwarded and answered, or failed, so a test may count what
// the server holds. A client should close its idle connections first: a
// connection it opened but has not used yet counts as new.
func (p *Proxy) Wait() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.busy() {
		p.idle.Wait()
	}
}

func (p *Proxy) busy() bool {
	if p.handlers > 0 {
		return true
	}
	for _, st := range p.conns {
		if st == http.StateNew || st == http.StateActive {
			return true
		}
	}
	return false
}

// connState tracks the state of every connection, for Wait.
func (p *Proxy) connState(c net.Conn, st http.ConnState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		p.conns = map[net.Conn]http.ConnState{}
	}
	if st == http.StateClosed || st == http.StateHijacked {
		delete(p.conns, c)
	} else {
		p.conns[c] = st
	}
	p.idle.Broadcast()
}

// Close stops the proxy: it closes the listener and every connection, waits
// for the handlers to end, and closes its idle connections to the server.
func (p *Proxy) Close() error {
	err := p.srv.Close()
	p.mu.Lock()
	for p.handlers > 0 {
		p.idle.Wait()
	}
	p.mu.Unlock()
	p.up.CloseIdleConnections()
	return err
}

// answer is the server's answer, read whole, or the one a fault makes up.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.handlers++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.handlers--
		p.idle.Broadcast()
		p.mu.Unlock()
	}()
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			p.mu.Lock()
			p.stats.Panics++
			p.mu.Unlock()
			http.Error(w, fmt.Sprint("faultproxy: panic: ", v), http.StatusInternalServerError)
		}
	}()

	// The server reads the whole request in every case, as a real one
	// would before it answers.
	reqBody, err := io.ReadAll(r.Body)
	if err != nil {
		return // the client went away
	}
	f, faulted := p.take(false)
	forward := !faulted || f.Forward || f.Kind == Slow || f.Kind == Truncate || f.Kind == ResetMidBody
	var a answer
	if forward {
		a, err = p.forward(r, reqBody)
		if err != nil {
			http.Error(w, "faultproxy: upstream: "+err.Error(), http.StatusBadGateway)
			return
		}
	}
	if !faulted {
		a.write(w)
		return
	}
	switch f.Kind {
	case ResetBeforeResponse:
		reset(w, nil)
	case ResetMidBody:
		var head bytes.Buffer
		fmt.Fprintf(&head, "HTTP/1.1 %d %s\r\n", a.status, http.StatusText(a.status))
		h := a.header.Clone()
		h.Set("Content-Length", strconv.Itoa(len(a.body)))
		_ = h.Write(&head)
		head.WriteString("\r\n")
		head.Write(a.body[:len(a.body)/2])
		reset(w, head.Bytes())
	case Respond:
		if f.Status != 0 {
			a.status = f.Status
		} else if !forward {
			a.status = http.StatusBadGateway
		}
		if a.header == nil {
			a.header = http.Header{}
		}
		for k, v := range f.Header {
			a.header[k] = v
		}
		if f.Body != nil {
			a.body = f.Body
		}
		a.write(w)
	case Slow:
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
		}
		a.write(w)
	case Truncate:
		a.body = a.body[:len(a.body)/2]
		a.write(w)
	default:
		a.write(w)
	}
}

// forward sends the request on to the server and reads its whole answer.
// It does not give up when the client does: a request that reached the
// server is processed to the end, as on a real one.
func (p *Proxy) forward(r *http.Request, body []byte) (answer, error) {
	u := *p.upstream
	u.Path, u.RawPath, u.RawQuery = r.URL.Path, r.URL.RawPath, r.URL.RawQuery
	out, err := http.NewRequestWithContext(context.WithoutCancel(r.Context()), r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	out.Header = r.Header.Clone()
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	p.mu.Lock()
	p.stats.Forwarded++
	p.mu.Unlock()
	resp, err := p.up.RoundTrip(out)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	h := resp.Header.Clone()
	for _, k := range hopHeaders {
		h.Del(k)
	}
	h.Del("Content-Length")
	return answer{status: resp.StatusCode, header: h, body: rb}, nil
}

// hopHeaders are the hop-by-hop headers a proxy does not pass on.
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func (a answer) write(w http.ResponseWriter) {
	for k, v := range a.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
	status := a.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(a.body)
}

// reset takes the connection over, writes head (which may be nil) and
// resets the connection: SO_LINGER 0 makes Close send a TCP RST instead of
// a FIN, so the client reads "connection reset by peer".
func reset(w http.ResponseWriter, head []byte) {
	rc := http.NewResponseController(w)
	conn, buf, err := rc.Hijack()
	if err != nil {
		panic(fmt.Sprintf("faultproxy: hijack: %v", err))
	}
	if len(head) > 0 {
		_, _ = buf.Write(head)
		_ = buf.Flush()
		// Give the client a moment to read the head before the reset, which
		// may discard what it has not read yet.
		time.Sleep(20 * time.Millisecond)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}
