package mail_test

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/studio-operator/studio-operator/internal/store"
	mailpkg "github.com/studio-operator/studio-operator/internal/store/mail"
)

const (
	testFrom = "Studio <noreply@studio.example>"
	testLink = "https://studio.example/invite/tok_Abc-123"
)

var testNow = time.Date(2026, time.January, 2, 10, 4, 5, 0, time.UTC)

// sortStrings compares string slices as sets.
var sortStrings = cmp.Transformer("sort", func(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return out
})

// testOutboxMessage is an invitation as the store puts it in the outbox.
func testOutboxMessage(t *testing.T) store.OutboxMessage {
	t.Helper()
	r, err := mailpkg.RenderInvitation(mailpkg.InvitationData{
		To:           "alice@example.com",
		DisplayName:  "Alice Jansen",
		Agencies:     []string{"Acme Support"},
		Environments: []mailpkg.EnvironmentRoles{{Environment: "Support bot", Roles: []string{"Agent"}}},
		Link:         testLink,
		ExpiresAt:    testNow.Add(168 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	return store.OutboxMessage{
		ID: 7, MessageID: "<inv-7.abc@studio.example>", To: "alice@example.com",
		Subject: r.Subject, Text: r.Text, HTML: r.HTML, CreatedAt: testNow,
	}
}

// parsedMessage is what a mail client sees of a message.
type parsedMessage struct {
	Header  mail.Header
	Subject string
	Parts   map[string]string // media type → decoded body
}

// parseMessage reads msg as a strict receiving client would, failing the test on
// bare line feeds, overlong lines, non-ASCII bytes or broken MIME.
func parseMessage(t *testing.T, msg []byte) parsedMessage {
	t.Helper()
	for i, line := range bytes.SplitAfter(msg, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if !bytes.HasSuffix(line, []byte("\r\n")) || bytes.Count(line, []byte("\r")) != 1 {
			t.Fatalf("line %d does not end in CRLF or has a bare CR: %q", i+1, line)
		}
		if len(line)-2 > 998 {
			t.Fatalf("line %d has %d characters, over 998", i+1, len(line)-2)
		}
	}
	if !is7bit(msg) {
		t.Fatalf("message is not 7-bit ASCII")
	}
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatalf("net/mail cannot read the message: %v", err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("subject: %v", err)
	}
	p := parsedMessage{Header: m.Header, Subject: subject, Parts: map[string]string{}}
	mediaType, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("content type: %v", err)
	}
	if mediaType != "multipart/alternative" {
		// Wrap the single part so that mime/multipart undoes its transfer encoding.
		var b bytes.Buffer
		b.WriteString("--b\r\nContent-Transfer-Encoding: " + m.Header.Get("Content-Transfer-Encoding") + "\r\n\r\n")
		if _, err := io.Copy(&b, m.Body); err != nil {
			t.Fatal(err)
		}
		b.WriteString("\r\n--b--\r\n")
		m.Body, params = &b, map[string]string{"boundary": "b"}
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextPart() // undoes quoted-printable
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		body, err := io.ReadAll(part)
		if err != nil {
			t.Fatalf("part: %v", err)
		}
		pt := mediaType
		if ct := part.Header.Get("Content-Type"); ct != "" {
			pt, _, _ = mime.ParseMediaType(ct)
		}
		p.Parts[pt] = string(body)
	}
	return p
}

func is7bit(msg []byte) bool {
	for _, c := range msg {
		if c > 0x7e || (c < ' ' && c != '\r' && c != '\n' && c != '\t') {
			return false
		}
	}
	return true
}

// wireBody is body as a receiver decodes it: every line break CRLF, a final one added.
func wireBody(body string) string {
	body = strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\r", "\n")
	if !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	return strings.ReplaceAll(body, "\n", "\r\n")
}
