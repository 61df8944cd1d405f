package mail

import (
	"context"
	"errors"
	"net/mail"

	"github.com/studio-operator/studio-operator/internal/store"
)

// Sender delivers one composed message (RFC 5322 bytes, CRLF) to one recipient.
//
// Contract: a nil error means the message was handed over for good (accepted by the
// mail server, or written to disk); an error means it was not, and Classify tells
// whether trying again may help. Errors never contain the message or credentials.
type Sender interface {
	// Send delivers msg with envelope sender from (the sender's own --mail-from when
	// empty) to the envelope recipient to.
	Send(ctx context.Context, from, to string, msg []byte) error
}

var (
	errBadMailFrom = errors.New(`invalid --mail-from: want an address such as "Studio <noreply@studio.example>"`)
	errNoMailDir   = errors.New("--mail-dir is required when --smtp-url is not set")
)

// NewSender returns the sender the store's flags ask for: SMTP when smtpURL is set
// (see smtpURLForm), otherwise a DirSender writing .eml files to mailDir.
func NewSender(smtpURL, mailFrom, mailDir string) (Sender, error) {
	if _, err := envelopeAddress(mailFrom); err != nil {
		return nil, err
	}
	if smtpURL != "" {
		return NewSMTPSender(smtpURL, mailFrom)
	}
	if mailDir == "" {
		return nil, errNoMailDir
	}
	return NewDirSender(mailDir)
}

// envelopeAddress is the bare address of a From header value such as
// "Studio <noreply@studio.example>", for MAIL FROM, in its delivery form (see
// parseAddress).
func envelopeAddress(from string) (string, error) {
	a, err := parseAddress(from)
	if err != nil {
		return "", errBadMailFrom
	}
	return a.Address, nil
}

// parseAddress parses an address with or without a display name and puts the
// address in the form it travels in, in the envelope and in headers alike: the domain
// in ASCII (IDNA A-labels) and the local part in NFC. The address is then ASCII
// unless its local part is not, which only SMTPUTF8 (RFC 6531) and UTF-8 headers
// (RFC 6532) can carry.
func parseAddress(s string) (*mail.Address, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, err
	}
	e, err := store.ParseAddress(a.Address)
	if err != nil {
		return nil, err
	}
	a.Address = e.String()
	return a, nil
}
