package mail

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"syscall"
	"testing"

	"github.com/emersion/go-smtp"
)

func TestClassify(t *testing.T) {
	cases := map[string]struct {
		err  error
		want ErrorClass
	}{
		"smtp 421":           {err: &smtp.SMTPError{Code: 421, Message: "try later"}, want: ClassTemporary},
		"smtp 451 wrapped":   {err: fmt.Errorf("smtp send: %w", &smtp.SMTPError{Code: 451}), want: ClassTemporary},
		"smtp 550":           {err: &smtp.SMTPError{Code: 550}, want: ClassPermanent},
		"smtp 535 auth":      {err: smtp.ErrAuthFailed, want: ClassPermanent},
		"textproto 554":      {err: &textproto.Error{Code: 554, Msg: "no"}, want: ClassPermanent},
		"connection refused": {err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, want: ClassTemporary},
		"eof":                {err: fmt.Errorf("smtp greeting: %w", io.EOF), want: ClassTemporary},
		"deadline":           {err: context.DeadlineExceeded, want: ClassTemporary},
		"unknown authority":  {err: fmt.Errorf("smtp tls: %w", x509.UnknownAuthorityError{}), want: ClassPermanent},
		"explicit class":     {err: withClass(ClassInvalid, ErrBadTo), want: ClassInvalid},
		"auth without tls":   {err: withClass(ClassPermanent, errAuthWithoutTLS), want: ClassPermanent},
		"unknown":            {err: errors.New("something odd"), want: ClassTemporary},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := Classify(tc.err); got != tc.want {
				t.Errorf("Classify(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}

func TestReason(t *testing.T) {
	cases := map[string]struct {
		err     error
		want    []string
		wantNot []string
	}{
		"smtp reply echoing the recipient": {
			err:     fmt.Errorf("smtp send: %w", &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<bob@example.com>: Recipient address rejected"}),
			want:    []string{"permanent (smtp 550)", "<redacted>", "Recipient address rejected"},
			wantNot: []string{"bob", "example.com"},
		},
		"a link in an error": {
			err:     errors.New("cannot render https://studio.example/invite/tok_secret"),
			want:    []string{"<redacted-url>"},
			wantNot: []string{"tok_secret", "studio.example"},
		},
		"network": {
			err:  &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED},
			want: []string{"temporary (network)", "connection refused"},
		},
		"long text is capped": {
			err:  errors.New(strings.Repeat("é", 400)),
			want: []string{"temporary (error)", "…"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := Reason(tc.err)
			for _, s := range tc.want {
				if !strings.Contains(got, s) {
					t.Errorf("Reason = %q, lacks %q", got, s)
				}
			}
			for _, s := range tc.wantNot {
				if strings.Contains(got, s) {
					t.Errorf("Reason = %q, has %q", got, s)
				}
			}
			if len(got) > maxReasonLength || !utf8Valid(got) {
				t.Errorf("Reason has %d bytes or is not UTF-8", len(got))
			}
		})
	}
	if Reason(nil) != "" {
		t.Errorf("Reason(nil) is not empty")
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestReplyClass(t *testing.T) {
	cases := map[string]struct {
		reason string
		want   string
	}{
		"smtp 550":             {reason: "permanent (smtp 550): 5.1.1 <redacted>: Recipient address rejected", want: "5xx permanent"},
		"smtp 554":             {reason: "permanent (smtp 554): no", want: "5xx permanent"},
		"smtp 421":             {reason: "temporary (smtp 421): try later", want: "4xx temporary"},
		"class and code apart": {reason: "permanent (smtp 451): told permanent", want: "4xx permanent"},
		"network":              {reason: "temporary (network): dial tcp: connection refused", want: "network temporary"},
		"invalid":              {reason: "invalid (error): mail: no valid recipient", want: "invalid"},
		"invalid smtp":         {reason: "invalid (smtp 550): x", want: "invalid"},
		"certificate":          {reason: "permanent (error): smtp tls: x509: certificate signed by unknown authority", want: "permanent"},
		"other temporary":      {reason: "temporary (error): something odd", want: "temporary"},
		"bare 5xx":             {reason: "550 5.1.1 <[email]> unknown; see [url]", want: "5xx permanent"},
		"bare 4xx":             {reason: "421 try later", want: "4xx temporary"},
		"bare code not alone":  {reason: "5500 bytes", want: "unknown"},
		"empty":                {reason: "", want: "unknown"},
		"free text":            {reason: "alice@example.com said no", want: "unknown"},
		"class not at start":   {reason: "x permanent (smtp 550): no", want: "unknown"},
		"unknown class":        {reason: "fatal (smtp 550): no", want: "unknown"},
		"unknown kind":         {reason: "permanent (bob@example.com): no", want: "unknown"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := ReplyClass(tc.reason); got != tc.want {
				t.Errorf("ReplyClass(%q) = %q, want %q", tc.reason, got, tc.want)
			}
		})
	}
}

// TestReplyClassOfReasons reads the class back from what Reason writes: the two
// functions agree on the format, and no address or reply text gets through.
func TestReplyClassOfReasons(t *testing.T) {
	cases := map[string]struct {
		err  error
		want string
	}{
		"smtp reply echoing the recipient": {
			err:  fmt.Errorf("smtp send: %w", &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<bob@example.com>: Recipient address rejected"}),
			want: "5xx permanent",
		},
		"textproto 452":      {err: &textproto.Error{Code: 452, Msg: "mailbox of bob@example.com full"}, want: "4xx temporary"},
		"connection refused": {err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, want: "network temporary"},
		"no recipient":       {err: withClass(ClassInvalid, ErrBadTo), want: "invalid"},
		"unknown authority":  {err: fmt.Errorf("smtp tls: %w", x509.UnknownAuthorityError{}), want: "permanent"},
		"a link":             {err: errors.New("cannot render https://studio.example/invite/tok_secret"), want: "temporary"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := ReplyClass(Reason(tc.err))
			if got != tc.want {
				t.Errorf("ReplyClass(Reason(%v)) = %q, want %q", tc.err, got, tc.want)
			}
			for _, secret := range []string{"@", "bob", "example", "tok_secret", "Recipient"} {
				if strings.Contains(got, secret) {
					t.Errorf("ReplyClass = %q holds %q", got, secret)
				}
			}
		})
	}
}
