package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"regexp"
	"strings"
	"syscall"

	"github.com/emersion/go-smtp"
)

// ErrorClass says whether a failed delivery may succeed if tried again unchanged.
// It is what the worker logs and counts; error texts may hold addresses, classes
// never do.
type ErrorClass string

const (
	// ClassTemporary: the mail server or the network said "not now" (SMTP 4xx,
	// refused or dropped connections, timeouts, a full disk). Retried with backoff
	// until the message is older than WorkerOptions.MaxAge.
	ClassTemporary ErrorClass = "temporary"
	// ClassPermanent: the mail server refused the message or our credentials (SMTP
	// 5xx, TLS verification, a configuration that cannot work). Still retried, since
	// a person may fix the cause, but dead-lettered after WorkerOptions.MaxAttempts.
	ClassPermanent ErrorClass = "permanent"
	// ClassInvalid: the outbox message itself cannot be composed (no valid
	// recipient, no Message-ID). Retrying cannot help: dead-lettered at once.
	ClassInvalid ErrorClass = "invalid"
)

// classifiedError carries an explicit class for errors that Classify cannot tell from
// their type, such as our own configuration checks.
type classifiedError struct {
	class ErrorClass
	err   error
}

func (e *classifiedError) Error() string { return e.err.Error() }
func (e *classifiedError) Unwrap() error { return e.err }

func withClass(class ErrorClass, err error) error {
	return &classifiedError{class: class, err: err}
}

// Classify tells the class of a delivery error. SMTP replies decide by their first
// digit (RFC 5321 §4.2.1); network and file-system errors are temporary; certificate
// problems are permanent (they need a person). Unknown errors count as temporary:
// retrying costs little, losing an invitation costs more.
func Classify(err error) ErrorClass {
	var ce *classifiedError
	if errors.As(err, &ce) {
		return ce.class
	}
	if code := smtpCode(err); code != 0 {
		if code >= 500 {
			return ClassPermanent
		}
		return ClassTemporary
	}
	var (
		certErr    *tls.CertificateVerificationError
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		invalidErr x509.CertificateInvalidError
	)
	if errors.As(err, &certErr) || errors.As(err, &unknownCA) || errors.As(err, &hostErr) || errors.As(err, &invalidErr) {
		return ClassPermanent
	}
	return ClassTemporary
}

// smtpCode is the SMTP reply code in err, or 0.
func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

// isNetworkError reports errors of the connection rather than of the conversation.
func isNetworkError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// maxReasonLength caps the error kept with an outbox row and logged.
const maxReasonLength = 300

// addressPattern matches anything shaped like an email address, so that a mail
// server's reply that echoes the recipient ("550 5.1.1 <bob@x>: unknown user") never
// reaches the outbox row, the log or a metric.
var addressPattern = regexp.MustCompile(`[^\s<>()\[\]",;:]+@[^\s<>()\[\]",;:]+`)

// urlPattern matches URLs: an invitation link is a secret wherever it turns up.
var urlPattern = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.-]*://\S+`)

// Reason is the redacted, bounded text of a delivery error: what the outbox keeps as
// the message's last error and what the worker logs. It starts with the class and
// the kind (SMTP reply code, network), and keeps the error's text without addresses
// or URLs.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	class := Classify(err)
	kind := "error"
	switch {
	case smtpCode(err) != 0:
		kind = fmt.Sprintf("smtp %d", smtpCode(err))
	case isNetworkError(err):
		kind = "network"
	}
	text := urlPattern.ReplaceAllString(err.Error(), "<redacted-url>")
	text = addressPattern.ReplaceAllString(text, "<redacted>")
	s := fmt.Sprintf("%s (%s): %s", class, kind, text)
	if len(s) > maxReasonLength {
		s = strings.ToValidUTF8(s[:maxReasonLength-len("…")], "") + "…"
	}
	return s
}

// Reply classes that ReplyClass returns besides "<n>xx <class>" and "network <class>".
const (
	// ReplyClassInvalid: the message could not be composed (ClassInvalid).
	ReplyClassInvalid = string(ClassInvalid)
	// ReplyClassUnknown: a reason that does not say its class.
	ReplyClassUnknown = "unknown"
)

// reasonHead matches the start of a Reason, "<class> (<kind>)", with the first digit
// of an SMTP reply code as its third group.
var reasonHead = regexp.MustCompile(`^(temporary|permanent|invalid) \((smtp ([1-5])\d\d|network|error)\)`)

// bareReplyCode matches a reason that starts with an SMTP reply code but not as Reason
// words it ("550 5.1.1 unknown user"), e.g. one recorded by an older store.
var bareReplyCode = regexp.MustCompile(`^([45])\d\d\b`)

// ReplyClass is the short class of a delivery failure read from its Reason:
// "5xx permanent" or "4xx temporary" for an SMTP reply, "network temporary" for a
// connection that failed, "invalid" for a message that cannot be composed, the bare
// class ("permanent", "temporary") for other errors, and "unknown" when the reason
// says none of these. It is what the store reports about an undelivered invitation.
// Its words come from a fixed set and never from the reason's text, so it holds no
// address and nothing of a server's reply, whatever the reason says.
func ReplyClass(reason string) string {
	if m := reasonHead.FindStringSubmatch(reason); m != nil {
		class, kind, digit := m[1], m[2], m[3]
		switch {
		case class == string(ClassInvalid):
			return ReplyClassInvalid
		case digit != "":
			return digit + "xx " + class
		case kind == "network":
			return "network " + class
		}
		return class
	}
	if m := bareReplyCode.FindStringSubmatch(reason); m != nil {
		if m[1] == "5" {
			return "5xx " + string(ClassPermanent)
		}
		return "4xx " + string(ClassTemporary)
	}
	return ReplyClassUnknown
}
