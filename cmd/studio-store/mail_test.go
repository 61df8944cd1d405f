package main

import (
	"bytes"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// mailText returns the decoded text of every text part of an RFC 5322 message.
func mailText(t *testing.T, raw []byte) string {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse mail: %v", err)
	}
	var out strings.Builder
	collectText(t, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, &out)
	return out.String()
}

func collectText(t *testing.T, contentType, encoding string, body io.Reader, out *strings.Builder) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextRawPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatalf("mail part: %v", err)
			}
			collectText(t, part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part, out)
		}
	}
	if strings.EqualFold(encoding, "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("mail body: %v", err)
	}
	out.Write(b)
	out.WriteString("\n")
}

// smtpMessage is one message a test SMTP server accepted.
type smtpMessage struct {
	to   string
	data []byte
}

// smtpRecorder is a real SMTP server (emersion/go-smtp) on 127.0.0.1 that records
// what it accepts.
type smtpRecorder struct {
	mu   sync.Mutex
	msgs []smtpMessage
}

func (r *smtpRecorder) received() []smtpMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]smtpMessage(nil), r.msgs...)
}

// startSMTP serves SMTP on addr until the end of the test.
func startSMTP(t *testing.T, addr string) *smtpRecorder {
	t.Helper()
	rec := &smtpRecorder{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &smtpSession{rec: rec}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen smtp: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return rec
}

type smtpSession struct {
	rec *smtpRecorder
	to  string
}

func (s *smtpSession) Mail(string, *smtp.MailOptions) error { return nil }

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = to
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	s.rec.msgs = append(s.rec.msgs, smtpMessage{to: s.to, data: b})
	return nil
}

func (s *smtpSession) Reset()        {}
func (s *smtpSession) Logout() error { return nil }
