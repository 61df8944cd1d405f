package mail

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/studio-operator/studio-operator/internal/store"
)

// Limits of RFC 5322 §2.1.1: a line must not exceed 998 characters (without CRLF)
// and should not exceed 78; headers are folded to the latter.
const (
	maxLineLength   = 998
	foldLineLength  = 78
	maxSubjectRunes = 250
)

// Compose errors. They name the field, never its value: values are addresses.
// The worker dead-letters a message that fails with one of them.
var (
	ErrBadFrom      = errors.New("compose: --mail-from is not a valid address")
	ErrBadTo        = errors.New("compose: recipient is not a valid address")
	ErrNoMessageID  = errors.New("compose: outbox message has no Message-ID")
	ErrBadMessageID = errors.New("compose: Message-ID is not of the form <left@right>")
	ErrNoBody       = errors.New("compose: outbox message has no text body")
	errBadOutput    = errors.New("compose: composed message breaks RFC 5322 line rules")
)

// Compose turns an outbox message into an RFC 5322 message: From and To with their
// domains in ASCII (IDNA) and display names RFC 2047 encoded when not ASCII, Subject
// (RFC 2047 encoded when not ASCII), Date (now), the message's stable Message-ID,
// MIME-Version, and a multipart/alternative body with the text part first and the
// HTML part last (the one clients prefer), both quoted-printable. Without HTML the body
// is a single text/plain part. Lines end in CRLF and stay within 998 characters. The
// message is 7-bit ASCII unless an address's local part is not ASCII: that one stays
// UTF-8 (NFC) as RFC 6532 allows, and is delivered only over SMTPUTF8.
//
// Compose is pure and deterministic: the MIME boundary is derived from the content, so
// the same message composed twice is the same bytes.
func Compose(from string, m store.OutboxMessage, now time.Time) ([]byte, error) {
	fromAddr, err := parseAddress(from)
	if err != nil {
		return nil, ErrBadFrom
	}
	toAddr, err := parseAddress(m.To)
	if err != nil {
		return nil, ErrBadTo
	}
	msgID, err := messageID(m.MessageID)
	if err != nil {
		return nil, err
	}
	if m.Text == "" {
		return nil, ErrNoBody
	}

	var b bytes.Buffer
	writeHeader(&b, "From", fromAddr.String())
	writeHeader(&b, "To", toAddr.String())
	writeHeader(&b, "Subject", encodeSubject(m.Subject))
	writeHeader(&b, "Date", now.Format(time.RFC1123Z))
	writeHeader(&b, "Message-ID", msgID)
	writeHeader(&b, "MIME-Version", "1.0")
	// Tells auto-responders (out-of-office) not to answer (RFC 3834).
	writeHeader(&b, "Auto-Submitted", "auto-generated")

	if m.HTML == "" {
		writeHeader(&b, "Content-Type", `text/plain; charset="utf-8"`)
		writeHeader(&b, "Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQuotedPrintable(&b, m.Text); err != nil {
			return nil, err
		}
	} else if err := writeAlternative(&b, m); err != nil {
		return nil, err
	}
	out := b.Bytes()
	if !wellFormedLines(out) {
		return nil, errBadOutput
	}
	return out, nil
}

// writeAlternative writes the multipart/alternative header and body.
func writeAlternative(b *bytes.Buffer, m store.OutboxMessage) error {
	boundary := boundaryFor(m)
	writeHeader(b, "Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": boundary}))
	b.WriteString("\r\n")
	mw := multipart.NewWriter(b)
	if err := mw.SetBoundary(boundary); err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	for _, part := range []struct{ contentType, body string }{
		{`text/plain; charset="utf-8"`, m.Text},
		{`text/html; charset="utf-8"`, m.HTML},
	} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.contentType},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return fmt.Errorf("compose: %w", err)
		}
		var qp bytes.Buffer
		if err := writeQuotedPrintable(&qp, part.body); err != nil {
			return err
		}
		if _, err := w.Write(qp.Bytes()); err != nil {
			return fmt.Errorf("compose: %w", err)
		}
	}
	if err := mw.Close(); err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	return nil
}

// boundaryFor derives the MIME boundary from the message. It starts with "=_", which
// quoted-printable never produces ("=" is always followed by two hex digits or a line
// break), so the boundary cannot occur inside an encoded part.
func boundaryFor(m store.OutboxMessage) string {
	h := sha256.New()
	for _, s := range []string{m.MessageID, m.Text, m.HTML} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "=_studio_" + hex.EncodeToString(h.Sum(nil))[:32]
}

// writeQuotedPrintable encodes body as quoted-printable text: line breaks (LF or
// CRLF) become CRLF, encoded lines stay within 76 characters.
func writeQuotedPrintable(b *bytes.Buffer, body string) error {
	body = strings.ReplaceAll(body, "\r\n", "\n")
	body = strings.ReplaceAll(body, "\r", "\n")
	if !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	qw := quotedprintable.NewWriter(b)
	if _, err := qw.Write([]byte(body)); err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	if err := qw.Close(); err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	return nil
}

// messageID checks a Message-ID and puts it in angle brackets: the outbox stores it
// with or without them.
func messageID(id string) (string, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return "", ErrNoMessageID
	}
	id = strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
	left, right, ok := strings.Cut(id, "@")
	if !ok || left == "" || right == "" || strings.ContainsAny(id, "<>\r\n\t ()[]\\,;:\"") || !isPrintableASCII(id) {
		return "", ErrBadMessageID
	}
	return "<" + id + ">", nil
}

// encodeSubject cleans the subject of control characters (no header injection),
// caps it, and encodes it as RFC 2047 Q words when it is not printable ASCII or holds
// a word too long to fold.
func encodeSubject(s string) string {
	s = strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)), " ")
	if utf8.RuneCountInString(s) > maxSubjectRunes {
		s = string([]rune(s)[:maxSubjectRunes-1]) + "…"
	}
	if !isPrintableASCII(s) || hasLongWord(s, foldLineLength-len("Subject: ")) {
		// The encoder splits its output into words of at most 75 characters,
		// separated by spaces, which writeHeader folds at.
		return mime.QEncoding.Encode("utf-8", s)
	}
	return s
}

// writeHeader writes "name: value" folded at spaces so lines stay near 78 characters.
// Folding inserts CRLF before an existing space, which unfolding removes again.
func writeHeader(b *bytes.Buffer, name, value string) {
	line := name + ":"
	for i, word := range strings.Split(value, " ") {
		if i > 0 && len(line)+1+len(word) > foldLineLength {
			b.WriteString(line + "\r\n")
			line = ""
		}
		line += " " + word
	}
	b.WriteString(line + "\r\n")
}

func hasLongWord(s string, n int) bool {
	for _, w := range strings.Fields(s) {
		if len(w) > n {
			return true
		}
	}
	return false
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// wellFormedLines reports whether every line of msg ends in CRLF (no bare CR or LF)
// and is at most maxLineLength long.
func wellFormedLines(msg []byte) bool {
	for len(msg) > 0 {
		i := bytes.IndexByte(msg, '\n')
		if i < 0 || i == 0 || msg[i-1] != '\r' {
			return false
		}
		line := msg[:i-1]
		if len(line) > maxLineLength || bytes.IndexByte(line, '\r') >= 0 {
			return false
		}
		msg = msg[i+1:]
	}
	return true
}
