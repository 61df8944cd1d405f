package ui

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"github.com/studio-operator/studio-operator/internal/store/auth"
)

// Cookie names. The session cookie is scoped to the pages' path, so the JSON API and
// the invitation pages never receive it.
const (
	sessionCookie = "studio_session"
	signInCookie  = "studio_signin"
	cookiePath    = "/ui/"
)

// Session limits.
const (
	// DefaultIdleTimeout ends a session nobody used for that long.
	DefaultIdleTimeout = 30 * time.Minute
	// DefaultMaxAge ends every session that long after sign-in.
	DefaultMaxAge = 12 * time.Hour
	// maxSessions bounds the memory the sessions take; past it the oldest is dropped.
	maxSessions = 10000
	// signInFormAge is how long a sign-in form may be submitted after it was served.
	signInFormAge = 15 * time.Minute
)

// session is one signed-in browser. Its id is known only to the browser's cookie: the
// store keeps its SHA-256, so a memory dump or a log line cannot replay it.
type session struct {
	principal auth.Principal
	// csrf is the value every form of this session must send back.
	csrf    string
	created time.Time
	seen    time.Time
}

// sessionStore keeps the sessions of one studio-store process in memory. Several
// replicas behind one Service need session affinity for the pages (docs/ui.md).
type sessionStore struct {
	mu      sync.Mutex
	byHash  map[[sha256.Size]byte]*session
	idle    time.Duration
	maxAge  time.Duration
	now     func() time.Time
	maxSize int
}

func newSessionStore(idle, maxAge time.Duration, now func() time.Time) *sessionStore {
	return &sessionStore{byHash: map[[sha256.Size]byte]*session{}, idle: idle, maxAge: maxAge, now: now, maxSize: maxSessions}
}

// randomToken returns 32 random bytes, base64url-encoded.
func randomToken() string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(32))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	// crypto/rand.Read never fails (it panics on a broken system source).
	_, _ = rand.Read(b)
	return b
}

// create starts a session for p and returns its id (for the cookie only).
func (s *sessionStore) create(p auth.Principal) (string, *session) {
	id := randomToken()
	now := s.now()
	sess := &session{principal: p, csrf: randomToken(), created: now, seen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(now)
	if len(s.byHash) >= s.maxSize {
		s.dropOldestLocked()
	}
	s.byHash[sha256.Sum256([]byte(id))] = sess
	return id, sess
}

// lookup returns the live session of id and marks it used.
func (s *sessionStore) lookup(id string) (*session, bool) {
	if id == "" {
		return nil, false
	}
	h := sha256.Sum256([]byte(id))
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.byHash[h]
	if !ok {
		return nil, false
	}
	if s.expired(sess, now) {
		delete(s.byHash, h)
		return nil, false
	}
	sess.seen = now
	return sess, true
}

// end forgets the session of id.
func (s *sessionStore) end(id string) {
	h := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byHash, h)
}

func (s *sessionStore) expired(sess *session, now time.Time) bool {
	return now.Sub(sess.seen) > s.idle || now.Sub(sess.created) > s.maxAge
}

func (s *sessionStore) pruneLocked(now time.Time) {
	for h, sess := range s.byHash {
		if s.expired(sess, now) {
			delete(s.byHash, h)
		}
	}
}

func (s *sessionStore) dropOldestLocked() {
	var oldest [sha256.Size]byte
	var at time.Time
	for h, sess := range s.byHash {
		if at.IsZero() || sess.seen.Before(at) {
			oldest, at = h, sess.seen
		}
	}
	delete(s.byHash, oldest)
}

// sameSecret compares two secrets in constant time.
func sameSecret(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// cookie builds one of the pages' cookies: HttpOnly, SameSite=Strict, scoped to /ui/,
// Secure when the store is served over https.
func (h *Handler) cookie(r *http.Request, name, value string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{
		Name: name, Value: value, Path: cookiePath,
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: h.secureCookies || r.TLS != nil,
	}
	switch {
	case maxAge > 0:
		c.MaxAge = int(maxAge / time.Second)
	case maxAge < 0:
		c.MaxAge = -1
	}
	return c
}
