package mail

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// smtpURLForm is the accepted --smtp-url syntax, quoted in every parse error.
const smtpURLForm = "smtp://[user[:pass]@]host[:port] (STARTTLS when offered, default port 25) or " +
	"smtps://[user[:pass]@]host[:port] (implicit TLS, default port 465), " +
	"optionally ?insecure-skip-verify=true (tests and development only)"

// Default ports of RFC 5321 relay and RFC 8314 implicit TLS submission.
const (
	defaultSMTPPort  = "25"
	defaultSMTPSPort = "465"
)

const queryInsecureSkipVerify = "insecure-skip-verify"

// smtpConfig is a parsed --smtp-url.
type smtpConfig struct {
	host        string
	port        string
	username    string
	password    string
	implicitTLS bool
	// insecureSkipVerify accepts any server certificate: for tests and development.
	insecureSkipVerify bool
}

func (c smtpConfig) addr() string { return net.JoinHostPort(c.host, c.port) }

// auth reports whether credentials were given.
func (c smtpConfig) auth() bool { return c.username != "" }

// smtpURLError is a --smtp-url that cannot be used. Its text names the flag, the
// problem and the accepted form, and never the URL itself: it may hold a password.
type smtpURLError struct{ problem string }

func (e *smtpURLError) Error() string {
	return fmt.Sprintf("invalid --smtp-url: %s; want %s", e.problem, smtpURLForm)
}

func badSMTPURL(format string, args ...any) error {
	return &smtpURLError{problem: fmt.Sprintf(format, args...)}
}

// parseSMTPURL parses --smtp-url.
func parseSMTPURL(raw string) (smtpConfig, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		// url.Error repeats the whole URL, password included: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return smtpConfig{}, badSMTPURL("cannot parse it (%v)", err)
	}
	var c smtpConfig
	switch u.Scheme {
	case "smtp":
		c.port = defaultSMTPPort
	case "smtps":
		c.port, c.implicitTLS = defaultSMTPSPort, true
	default:
		return smtpConfig{}, badSMTPURL("scheme must be smtp or smtps")
	}
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return smtpConfig{}, badSMTPURL("it must not have a path or fragment")
	}
	c.host = u.Hostname()
	if c.host == "" {
		return smtpConfig{}, badSMTPURL("host is missing")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return smtpConfig{}, badSMTPURL("port must be a number from 1 to 65535")
		}
		c.port = p
	}
	if u.User != nil {
		c.username = u.User.Username()
		pass, ok := u.User.Password()
		if c.username == "" || !ok || pass == "" {
			return smtpConfig{}, badSMTPURL("credentials need both a user and a password")
		}
		c.password = pass
	}
	for key, values := range u.Query() {
		if key != queryInsecureSkipVerify {
			return smtpConfig{}, badSMTPURL("unknown query parameter %q", key)
		}
		v, err := strconv.ParseBool(values[len(values)-1])
		if len(values) != 1 || err != nil {
			return smtpConfig{}, badSMTPURL("%s must be given once, as true or false", queryInsecureSkipVerify)
		}
		c.insecureSkipVerify = v
	}
	return c, nil
}

// isLoopback reports whether host is this machine, where credentials in plain text
// do not cross a network.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
