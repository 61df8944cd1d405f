package e2e

import (
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// sentMail is an invitation mail the sandbox's store wrote to DIR/mail.
type sentMail struct {
	file string
	body string
}

// mailsTo returns the .eml files addressed to address, oldest first (the file names
// start with the time they were written). Their content is never printed: it holds
// invitation links.
func mailsTo(t *testing.T, address string) []sentMail {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(shared.dir, "mail", "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	var out []sentMail
	for _, f := range files {
		raw, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(raw)
		if err != nil {
			raw.Close()
			t.Fatalf("%s is not a mail: %v", filepath.Base(f), err)
		}
		to, err := mail.ParseAddressList(msg.Header.Get("To"))
		if err != nil {
			raw.Close()
			t.Fatalf("%s: bad To header: %v", filepath.Base(f), err)
		}
		body, err := decodeBody(msg)
		raw.Close()
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		for _, a := range to {
			if strings.EqualFold(a.Address, address) {
				out = append(out, sentMail{file: f, body: string(body)})
				break
			}
		}
	}
	return out
}

// decodeBody returns the decoded text of all parts of msg (quoted-printable undone),
// so links split by soft line breaks are whole again.
func decodeBody(msg *mail.Message) (string, error) {
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mediaType, "multipart/") {
		return decodePart(msg.Body, msg.Header.Get("Content-Transfer-Encoding"))
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var b strings.Builder
	for {
		part, err := mr.NextPart() // decodes quoted-printable parts itself
		if err == io.EOF {
			return b.String(), nil
		}
		if err != nil {
			return "", err
		}
		raw, err := io.ReadAll(part)
		if err != nil {
			return "", err
		}
		b.Write(raw)
		b.WriteByte('\n')
	}
}

func decodePart(r io.Reader, encoding string) (string, error) {
	if strings.EqualFold(encoding, "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	raw, err := io.ReadAll(r)
	return string(raw), err
}
