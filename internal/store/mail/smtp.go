package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// DefaultSMTPTimeout bounds connecting and each SMTP command.
const DefaultSMTPTimeout = 30 * time.Second

// SMTP delivery errors that are about our configuration, not the message.
var (
	errAuthWithoutTLS = errors.New("smtp: refusing to send credentials without TLS to a host that is not loopback; " +
		"use smtps:// or a server that offers STARTTLS")
	errNoAuthPlain = errors.New("smtp: server does not offer AUTH PLAIN")
	errNoSMTPUTF8  = errors.New("smtp: the address has a local part that is not ASCII and the server does not offer SMTPUTF8")
)

// SMTPSender delivers messages to one SMTP server, one connection per message.
type SMTPSender struct {
	cfg  smtpConfig
	from string // envelope sender when Send gets none

	// Timeout bounds the connection and every command; DefaultSMTPTimeout if zero.
	Timeout time.Duration
	// LocalName is the name given in EHLO; "localhost" if empty.
	LocalName string
	// RootCAs verifies the server's certificate; the system pool if nil.
	RootCAs *x509.CertPool
}

// NewSMTPSender parses smtpURL (see smtpURLForm) and returns a sender whose envelope
// sender is the address of mailFrom.
func NewSMTPSender(smtpURL, mailFrom string) (*SMTPSender, error) {
	cfg, err := parseSMTPURL(smtpURL)
	if err != nil {
		return nil, err
	}
	from, err := envelopeAddress(mailFrom)
	if err != nil {
		return nil, err
	}
	return &SMTPSender{cfg: cfg, from: from}, nil
}

// Send delivers msg to one recipient in one SMTP transaction. STARTTLS is used when
// the server offers it (smtp://) and TLS from the start with smtps://; credentials
// are sent only over TLS, or in plain text to a loopback host. Once the server has
// accepted the message, later failures (QUIT) are ignored: reporting them would make
// the worker send it twice.
func (s *SMTPSender) Send(ctx context.Context, from, to string, msg []byte) error {
	if from == "" {
		from = s.from
	}
	d := net.Dialer{Timeout: s.timeout()}
	conn, err := d.DialContext(ctx, "tcp", s.cfg.addr())
	if err != nil {
		return fmt.Errorf("smtp connect: %w", err)
	}
	defer conn.Close()
	// Closing the connection when ctx ends interrupts whatever command is waiting.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	c, secure, err := s.open(ctx, conn)
	if err != nil {
		return err
	}
	defer c.Close()
	if s.cfg.auth() {
		if !credentialsSafe(secure, s.cfg.host) {
			return withClass(ClassPermanent, errAuthWithoutTLS)
		}
		if !c.SupportsAuth(sasl.Plain) {
			return withClass(ClassPermanent, errNoAuthPlain)
		}
		if err := c.Auth(sasl.NewPlainClient("", s.cfg.username, s.cfg.password)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	if !isASCII(from) || !isASCII(to) {
		if ok, _ := c.Extension("SMTPUTF8"); !ok {
			return withClass(ClassPermanent, errNoSMTPUTF8)
		}
	}
	if err := c.SendMail(from, []string{to}, bytes.NewReader(msg)); err != nil {
		return fmt.Errorf("smtp send: %w", err)
	}
	_ = c.Quit() // the message is accepted; see above
	return nil
}

// open starts the SMTP session on conn: TLS first for smtps://, STARTTLS when offered
// for smtp://. It reports whether the session is encrypted.
func (s *SMTPSender) open(ctx context.Context, conn net.Conn) (*smtp.Client, bool, error) {
	timeout := s.timeout()
	var secure bool
	if s.cfg.implicitTLS {
		tc := tls.Client(conn, s.tlsConfig())
		hctx, cancel := context.WithTimeout(ctx, timeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			return nil, false, fmt.Errorf("smtp tls: %w", err)
		}
		conn, secure = tc, true
	} else {
		upgraded, tlsOn, err := s.startTLSIfOffered(conn)
		if err != nil {
			return nil, false, err
		}
		conn, secure = upgraded, tlsOn
	}
	c := smtp.NewClient(conn)
	c.CommandTimeout, c.SubmissionTimeout = timeout, timeout
	if s.LocalName != "" {
		if err := c.Hello(s.LocalName); err != nil {
			c.Close()
			return nil, false, fmt.Errorf("smtp hello: %w", err)
		}
	}
	return c, secure, nil
}

// startTLSIfOffered reads the greeting, says EHLO and, if the server offers
// STARTTLS, upgrades the connection. go-smtp's client can only demand STARTTLS (and
// fail without it), so this first exchange is ours; the returned connection replays a
// greeting so that the go-smtp client starts afresh on it with its own EHLO, which
// RFC 3207 requires after STARTTLS anyway.
func (s *SMTPSender) startTLSIfOffered(conn net.Conn) (net.Conn, bool, error) {
	_ = conn.SetDeadline(time.Now().Add(s.timeout()))
	tp := textproto.NewConn(conn)
	if _, _, err := tp.ReadResponse(220); err != nil {
		return nil, false, fmt.Errorf("smtp greeting: %w", err)
	}
	id, err := tp.Cmd("EHLO %s", s.localName())
	if err != nil {
		return nil, false, fmt.Errorf("smtp ehlo: %w", err)
	}
	tp.StartResponse(id)
	_, ext, err := tp.ReadResponse(250)
	tp.EndResponse(id)
	if err != nil {
		// A server without EHLO cannot offer STARTTLS either: let the
		// go-smtp client fall back to HELO.
		if code := smtpCode(err); code == 500 || code == 502 {
			_ = conn.SetDeadline(time.Time{})
			return &greetedConn{Conn: conn}, false, nil
		}
		return nil, false, fmt.Errorf("smtp ehlo: %w", err)
	}
	if !offers(ext, "STARTTLS") {
		_ = conn.SetDeadline(time.Time{})
		return &greetedConn{Conn: conn}, false, nil
	}
	id, err = tp.Cmd("STARTTLS")
	if err != nil {
		return nil, false, fmt.Errorf("smtp starttls: %w", err)
	}
	tp.StartResponse(id)
	_, _, err = tp.ReadResponse(220)
	tp.EndResponse(id)
	if err != nil {
		return nil, false, fmt.Errorf("smtp starttls: %w", err)
	}
	tc := tls.Client(conn, s.tlsConfig())
	if err := tc.Handshake(); err != nil {
		return nil, false, fmt.Errorf("smtp starttls: %w", err)
	}
	_ = conn.SetDeadline(time.Time{})
	return &greetedConn{Conn: tc}, true, nil
}

// credentialsSafe reports whether AUTH PLAIN may be used: only over TLS, or in plain
// text to this machine, where the password crosses no network.
func credentialsSafe(secure bool, host string) bool { return secure || isLoopback(host) }

// offers reports whether an EHLO reply lists the extension ext.
func offers(ehloReply, ext string) bool {
	lines := strings.Split(ehloReply, "\n")
	for _, line := range lines[1:] { // the first line is the server's greeting
		if f := strings.Fields(line); len(f) > 0 && strings.EqualFold(f[0], ext) {
			return true
		}
	}
	return false
}

// greetedConn replays an SMTP greeting before the connection's own data, for a
// go-smtp client that starts on a connection whose real greeting we already read.
type greetedConn struct {
	net.Conn
	replayed int
}

const replayedGreeting = "220 studio-store resumed\r\n"

func (g *greetedConn) Read(p []byte) (int, error) {
	if g.replayed < len(replayedGreeting) {
		n := copy(p, replayedGreeting[g.replayed:])
		g.replayed += n
		return n, nil
	}
	return g.Conn.Read(p)
}

func (s *SMTPSender) tlsConfig() *tls.Config {
	return &tls.Config{
		ServerName:         s.cfg.host,
		RootCAs:            s.RootCAs,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: s.cfg.insecureSkipVerify, //nolint:gosec // opt-in via ?insecure-skip-verify=true, for tests and development
	}
}

func (s *SMTPSender) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return DefaultSMTPTimeout
}

func (s *SMTPSender) localName() string {
	if s.LocalName != "" {
		return s.LocalName
	}
	return "localhost"
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
