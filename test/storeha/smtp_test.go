package storeha

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// SMTP server bounds.
const (
	smtpTimeout     = 10 * time.Second
	maxMessageBytes = 1 << 20
	// holdTimeout bounds how long a held session waits for the test to release it;
	// it is shorter than the store's 30s SMTP command timeout.
	holdTimeout = 20 * time.Second
)

// delivery is one message the SMTP server accepted (answered 250 to its DATA).
type delivery struct {
	replica   int    // index of the replica whose listener took it
	rcpt      string // the envelope recipient, in lower case
	messageID string
	at        time.Time
}

// heldMail is the accepted mail whose sender the server holds.
type heldMail struct {
	replica   int
	messageID string
}

// mailServer is a real SMTP server (go-smtp) on 127.0.0.1 with one listener per
// replica, so that every accepted message is known together with the replica that
// sent it. It records each message by envelope recipient and Message-ID.
//
// It can hold one sender: the first replica to have holdAfter messages accepted is
// kept waiting right after the 250 answer to its DATA, before the answer to its QUIT.
// The mail is then accepted, but the store has not recorded it as delivered: the
// window in which a crash makes delivery at least once.
type mailServer struct {
	srv   *smtp.Server
	ports []int // listener port per replica

	holdAfter int
	held      chan heldMail // receives the held mail, once
	release   chan struct{} // closed to let the held sender go on
	releaseMu sync.Once

	mu         sync.Mutex
	deliveries []delivery
	perReplica []int
	holding    bool
}

// startMailServer starts the server with one listener per replica.
func startMailServer(t *testing.T, replicas, holdAfter int) (*mailServer, error) {
	m := &mailServer{
		holdAfter:  holdAfter,
		held:       make(chan heldMail, 1),
		release:    make(chan struct{}),
		perReplica: make([]int, replicas),
	}
	m.srv = smtp.NewServer(smtp.BackendFunc(m.newSession))
	m.srv.Domain = "storeha.test"
	m.srv.ReadTimeout, m.srv.WriteTimeout = smtpTimeout, smtpTimeout
	m.srv.MaxMessageBytes = maxMessageBytes
	m.srv.MaxRecipients = 1
	m.srv.ErrorLog = log.New(io.Discard, "", 0)
	var listeners []net.Listener
	for range replicas {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			for _, l := range listeners {
				_ = l.Close()
			}
			return nil, err
		}
		listeners = append(listeners, l)
		m.ports = append(m.ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range listeners {
		go func() { _ = m.srv.Serve(l) }()
	}
	t.Cleanup(func() {
		m.releaseHeld()
		_ = m.srv.Close()
	})
	return m, nil
}

// url is the --smtp-url of replica i.
func (m *mailServer) url(i int) string { return fmt.Sprintf("smtp://127.0.0.1:%d", m.ports[i]) }

// releaseHeld lets the held sender (if any) go on.
func (m *mailServer) releaseHeld() { m.releaseMu.Do(func() { close(m.release) }) }

// snapshot returns the deliveries so far.
func (m *mailServer) snapshot() []delivery {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]delivery(nil), m.deliveries...)
}

func (m *mailServer) newSession(c *smtp.Conn) (smtp.Session, error) {
	local, ok := c.Conn().LocalAddr().(*net.TCPAddr)
	if ok {
		for i, p := range m.ports {
			if p == local.Port {
				return &session{server: m, replica: i}, nil
			}
		}
	}
	return nil, errors.New("connection on an unknown listener")
}

// accept records an accepted message and reports whether its sender is the one to
// hold.
func (m *mailServer) accept(d delivery) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deliveries = append(m.deliveries, d)
	m.perReplica[d.replica]++
	if m.holding || m.holdAfter <= 0 || m.perReplica[d.replica] != m.holdAfter {
		return false
	}
	m.holding = true
	return true
}

// session is one SMTP connection from a replica.
type session struct {
	server  *mailServer
	replica int
	rcpt    string
	// hold is set when the message just accepted is the one whose sender is held.
	hold *heldMail
}

func (s *session) Mail(string, *smtp.MailOptions) error { return nil }

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpt = strings.ToLower(to)
	return nil
}

// Data reads and records the message. The server answers 250 when it returns nil.
func (s *session) Data(r io.Reader) error {
	body, err := io.ReadAll(io.LimitReader(r, maxMessageBytes+1))
	if err != nil {
		return err
	}
	msg, err := mail.ReadMessage(bytes.NewReader(body))
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "not a message"}
	}
	id := msg.Header.Get("Message-ID")
	if id == "" || s.rcpt == "" {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "no Message-ID or recipient"}
	}
	if s.server.accept(delivery{replica: s.replica, rcpt: s.rcpt, messageID: id, at: time.Now()}) {
		s.hold = &heldMail{replica: s.replica, messageID: id}
	}
	return nil
}

// Reset runs after the answer to DATA has been written (and on RSET and EHLO). For
// the held message it waits there, so the sender never gets the answer to its QUIT.
func (s *session) Reset() {
	s.rcpt = ""
	if h := s.hold; h != nil {
		s.hold = nil
		s.server.held <- *h
		select {
		case <-s.server.release:
		case <-time.After(holdTimeout):
		}
	}
}

func (s *session) Logout() error { return nil }
