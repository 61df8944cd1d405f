package auth

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
)

// Role is what a token may do.
type Role string

const (
	// RoleAdmin reads and writes.
	RoleAdmin Role = "admin"
	// RoleReader only reads (GET).
	RoleReader Role = "reader"
)

// AdminTokenEnv names the environment variable whose value is added as an admin token
// with subject AdminSubject (for development and the local sandbox).
const (
	AdminTokenEnv = "STUDIO_STORE_ADMIN_TOKEN"
	AdminSubject  = "admin"
)

// hashPrefix starts the digest column of a tokens file line.
const hashPrefix = "sha256:"

// maxSubjectLen bounds a subject: it lands in every audit entry as the actor.
const maxSubjectLen = 128

// Error messages of the tokens file parser (each is prefixed with "<file>:<line>: ").
const (
	errFieldCount  = "want \"<role> <subject> sha256:<hex>\", got %d fields"
	errUnknownRole = "unknown role %q (want admin or reader)"
	errBadSubject  = "subject must be 1 to %d printable characters without spaces"
	errBadHash     = "token digest must be \"sha256:\" followed by 64 hex digits"
	errDuplicate   = "the same token digest is already listed on line %d"
	errEmptyToken  = "token must not be empty"
	errTokenSpace  = "token must not contain spaces or control characters"
	errLineTooLong = "line too long"
)

// Principal is who presented a valid token.
type Principal struct {
	Subject string
	Role    Role
}

// CanWrite reports whether p may change the store (non-GET requests).
func (p Principal) CanWrite() bool { return p.Role == RoleAdmin }

type entry struct {
	digest    [sha256.Size]byte
	principal Principal
	line      int // 0 for tokens added from the environment
}

// Tokens is a set of token digests. The zero value knows no token. It is safe for
// concurrent Authenticate calls once built.
type Tokens struct {
	entries []entry
}

// Len is the number of known tokens.
func (t *Tokens) Len() int { return len(t.entries) }

// HashToken returns the digest of token as written in a tokens file: "sha256:<hex>".
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hashPrefix + hex.EncodeToString(sum[:])
}

// LoadFile reads a tokens file (see Parse).
func LoadFile(path string) (*Tokens, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tokens file: %w", err)
	}
	defer f.Close()
	return Parse(f, path)
}

// Parse reads tokens in the tokens file format: one token per line,
// "<role> <subject> sha256:<hex of the token>", where "#" starts a comment and blank
// lines are ignored. name prefixes error messages, with the line number.
func Parse(r io.Reader, name string) (*Tokens, error) {
	t := &Tokens{}
	sc := bufio.NewScanner(r)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		e, err := parseLine(fields)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, lineNo, err)
		}
		e.line = lineNo
		if err := t.add(e); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, lineNo, err)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%s:%d: %s", name, lineNo+1, errLineTooLong)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return t, nil
}

func parseLine(fields []string) (entry, error) {
	if len(fields) != 3 {
		return entry{}, fmt.Errorf(errFieldCount, len(fields))
	}
	role := Role(fields[0])
	if role != RoleAdmin && role != RoleReader {
		return entry{}, fmt.Errorf(errUnknownRole, fields[0])
	}
	if !validSubject(fields[1]) {
		return entry{}, fmt.Errorf(errBadSubject, maxSubjectLen)
	}
	digest, ok := parseDigest(fields[2])
	if !ok {
		return entry{}, errors.New(errBadHash)
	}
	return entry{digest: digest, principal: Principal{Subject: fields[1], Role: role}}, nil
}

func parseDigest(s string) ([sha256.Size]byte, bool) {
	var d [sha256.Size]byte
	hexPart, ok := strings.CutPrefix(s, hashPrefix)
	if !ok || len(hexPart) != hex.EncodedLen(sha256.Size) {
		return d, false
	}
	if _, err := hex.Decode(d[:], []byte(hexPart)); err != nil {
		return d, false
	}
	return d, true
}

func validSubject(s string) bool {
	if s == "" || len(s) > maxSubjectLen {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// Add adds a plain token (e.g. from AdminTokenEnv); only its digest is kept.
func (t *Tokens) Add(role Role, subject, token string) error {
	if token == "" {
		return errors.New(errEmptyToken)
	}
	if strings.ContainsFunc(token, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return errors.New(errTokenSpace)
	}
	if role != RoleAdmin && role != RoleReader {
		return fmt.Errorf(errUnknownRole, role)
	}
	if !validSubject(subject) {
		return fmt.Errorf(errBadSubject, maxSubjectLen)
	}
	return t.add(entry{digest: sha256.Sum256([]byte(token)), principal: Principal{Subject: subject, Role: role}})
}

func (t *Tokens) add(e entry) error {
	for _, o := range t.entries {
		if o.digest == e.digest {
			return fmt.Errorf(errDuplicate, o.line)
		}
	}
	t.entries = append(t.entries, e)
	return nil
}

// Authenticate returns the principal of token. It hashes the token and compares the
// digest with every known digest without stopping at a match, so the time taken says
// nothing about which token, or whether any, matched.
func (t *Tokens) Authenticate(token string) (Principal, bool) {
	if t == nil || token == "" {
		return Principal{}, false
	}
	digest := sha256.Sum256([]byte(token))
	found, index := 0, 0
	for i := range t.entries {
		match := subtle.ConstantTimeCompare(digest[:], t.entries[i].digest[:])
		index = subtle.ConstantTimeSelect(match, i, index)
		found |= match
	}
	if found != 1 {
		return Principal{}, false
	}
	return t.entries[index].principal, true
}
