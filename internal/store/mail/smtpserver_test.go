package mail_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// tlsMode is how the test SMTP server offers TLS.
type tlsMode int

const (
	tlsNone     tlsMode = iota // plain text only
	tlsStartTLS                // STARTTLS offered
	tlsImplicit                // TLS from the first byte (smtps)
)

// smtpServerOptions configure a real go-smtp server on 127.0.0.1 for a test.
type smtpServerOptions struct {
	tls tlsMode
	// user and pass, when set, make the server offer AUTH PLAIN and require it.
	user, pass string
	// insecureAuth lets the server offer AUTH without TLS (loopback submission).
	insecureAuth bool
	// smtpUTF8 makes the server offer SMTPUTF8 (RFC 6531).
	smtpUTF8 bool
	// addr listens on a given address (to bring a "down" server up); 127.0.0.1:0 if empty.
	addr string
	// dataReplies are returned, in order, by the first DATA commands; nil entries
	// accept. After they run out, every message is accepted.
	dataReplies []error
	// sessionReplies are returned, in order, when the first sessions start (EHLO).
	sessionReplies []error
	// dataStarted, if set, receives a value when a DATA body has been read; the
	// server then waits for dataGate (if set) before answering.
	dataStarted chan<- struct{}
	dataGate    <-chan struct{}
}

// receivedMail is one message the test server accepted.
type receivedMail struct {
	From, To string
	Data     []byte
	TLS      bool
	AuthUser string
}

// testSMTPServer is a real SMTP server (emersion/go-smtp) that records what it
// accepts.
type testSMTPServer struct {
	Addr   string
	Host   string
	Port   string
	RootCA *x509.CertPool // trusts the server's self-signed certificate

	mu             sync.Mutex
	received       []receivedMail
	dataReplies    []error
	sessionReplies []error
	dataCommands   int
}

// startSMTPServer starts the server and stops it at the end of the test.
func startSMTPServer(t *testing.T, o smtpServerOptions) *testSMTPServer {
	t.Helper()
	s := &testSMTPServer{dataReplies: o.dataReplies, sessionReplies: o.sessionReplies}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.sessionReplies) > 0 {
			err := s.sessionReplies[0]
			s.sessionReplies = s.sessionReplies[1:]
			if err != nil {
				return nil, err
			}
		}
		_, isTLS := c.TLSConnectionState()
		return &testSession{srv: s, opts: o, tls: isTLS}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.AllowInsecureAuth = o.insecureAuth
	srv.EnableSMTPUTF8 = o.smtpUTF8
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if o.tls != tlsNone {
		cert, pool := selfSignedCert(t)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.RootCA = pool
	}
	addr := o.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var l net.Listener
	var err error
	if o.tls == tlsImplicit {
		l, err = tls.Listen("tcp", addr, srv.TLSConfig)
	} else {
		l, err = net.Listen("tcp", addr)
	}
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s.Addr = l.Addr().String()
	s.Host, s.Port, _ = net.SplitHostPort(s.Addr)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		// Close the listener too: go-smtp's Close only closes listeners Serve has
		// already registered, so a Close racing with Serve's start would leave it
		// accepting forever.
		_ = l.Close()
		_ = srv.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("SMTP test server did not stop within 10s")
		}
	})
	return s
}

// Received returns a copy of the accepted messages.
func (s *testSMTPServer) Received() []receivedMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]receivedMail(nil), s.received...)
}

// DataCommands counts DATA transactions, accepted or not.
func (s *testSMTPServer) DataCommands() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dataCommands
}

type testSession struct {
	srv      *testSMTPServer
	opts     smtpServerOptions
	tls      bool
	authUser string
	from     string
	to       []string
}

var _ smtp.AuthSession = (*testSession)(nil)

func (s *testSession) AuthMechanisms() []string {
	if s.opts.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *testSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.opts.user || pass != s.opts.pass {
			return smtp.ErrAuthFailed
		}
		s.authUser = user
		return nil
	}), nil
}

func (s *testSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.opts.user != "" && s.authUser == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *testSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *testSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.opts.dataStarted != nil {
		s.opts.dataStarted <- struct{}{}
	}
	if s.opts.dataGate != nil {
		<-s.opts.dataGate
	}
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	s.srv.dataCommands++
	if len(s.srv.dataReplies) > 0 {
		reply := s.srv.dataReplies[0]
		s.srv.dataReplies = s.srv.dataReplies[1:]
		if reply != nil {
			return reply
		}
	}
	if len(s.to) != 1 {
		return errors.New("test server expects exactly one recipient")
	}
	s.srv.received = append(s.srv.received, receivedMail{From: s.from, To: s.to[0], Data: data, TLS: s.tls, AuthUser: s.authUser})
	return nil
}

func (s *testSession) Reset()        { s.from, s.to = "", nil }
func (s *testSession) Logout() error { return nil }

// selfSignedCert makes a certificate for 127.0.0.1 and localhost, and a pool that
// trusts it.
func selfSignedCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "studio test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// freeAddr returns a 127.0.0.1 address where nothing listens (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
