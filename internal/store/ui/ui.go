package ui

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/auditcheck"
	"github.com/studio-operator/studio-operator/internal/store/auth"
	"github.com/studio-operator/studio-operator/internal/store/httpapi"
)

// Prefix is the path the pages are served under; mount the Handler there.
const Prefix = "/ui/"

// maxFormBytes bounds a form body: the largest form (invite) is a few hundred bytes.
const maxFormBytes = 64 << 10

// Authenticator resolves a store token to its principal. *auth.Tokens is one.
type Authenticator interface {
	Authenticate(token string) (auth.Principal, bool)
}

// Options tune the pages. The zero value is usable.
type Options struct {
	// Logger receives one line per request (route pattern, status, duration: pages
	// read at debug level, forms and failures at info) and failures. Nil discards.
	Logger *slog.Logger
	// SecureCookies marks the cookies Secure even on plain-HTTP requests: set it when
	// a TLS-terminating proxy serves the store over https.
	SecureCookies bool
	// IdleTimeout and MaxAge bound a session; 0 means DefaultIdleTimeout and
	// DefaultMaxAge.
	IdleTimeout time.Duration
	MaxAge      time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Audit is the audit chain checker behind the audit page's badge, shared with
	// the store's monitoring; nil means one of the pages' own.
	Audit *auditcheck.Checker
}

// Handler serves the pages under Prefix.
type Handler struct {
	api           store.API
	auth          Authenticator
	log           *slog.Logger
	now           func() time.Time
	mux           *http.ServeMux
	sessions      *sessionStore
	attempts      *attemptLimiter
	crossOrigin   *http.CrossOriginProtection
	audit         *auditcheck.Checker
	secureCookies bool
}

// access says who may open a page.
type access int

const (
	// public: anyone (the sign-in form, the assets).
	public access = iota
	// signedIn: any signed-in token, reader or admin.
	signedIn
	// admin: a signed-in admin token (the actions).
	admin
)

// pageFunc handles one page. A returned error is rendered as an error page whose
// status follows the store's error code.
type pageFunc func(w http.ResponseWriter, r *http.Request, v *visit) error

// visit is what a handler knows of the request beyond net/http: the session (nil on
// public pages).
type visit struct {
	sess *session
}

// New returns the pages' handler. api is what the pages read and write (in
// studio-store, the same service the JSON API serves); authn checks the tokens people
// sign in with.
func New(api store.API, authn Authenticator, opts Options) (*Handler, error) {
	if api == nil || authn == nil {
		return nil, errors.New("ui: a store and an authenticator are required")
	}
	h := &Handler{
		api: api, auth: authn, log: opts.Logger, now: opts.Now,
		mux: http.NewServeMux(), crossOrigin: http.NewCrossOriginProtection(),
		secureCookies: opts.SecureCookies,
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	idle, maxAge := opts.IdleTimeout, opts.MaxAge
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	h.sessions = newSessionStore(idle, maxAge, h.now)
	h.attempts = newAttemptLimiter(h.now)
	h.audit = opts.Audit
	if h.audit == nil {
		h.audit = auditcheck.New(api, auditcheck.Options{Now: h.now, Logger: h.log})
	}
	for _, rt := range h.routes() {
		h.mux.Handle(rt.pattern, h.wrap(rt.access, rt.handle))
	}
	return h, nil
}

type pageRoute struct {
	pattern string
	access  access
	handle  pageFunc
}

func (h *Handler) routes() []pageRoute {
	return []pageRoute{
		{"GET /ui/{$}", signedIn, h.home},
		{"GET /ui/static/{file}", public, serveStatic},
		{"GET /ui/sign-in", public, h.signInForm},
		{"POST /ui/sign-in", public, h.signIn},
		{"POST /ui/sign-out", signedIn, h.signOut},

		{"GET /ui/users", signedIn, h.usersPage},
		{"GET /ui/users/{user}", signedIn, h.userPanel(tabDetails)},
		{"GET /ui/users/{user}/access", signedIn, h.userPanel(tabAccess)},
		{"GET /ui/users/{user}/invitation", signedIn, h.userPanel(tabInvitation)},
		{"GET /ui/users/{user}/audit", signedIn, h.userPanel(tabAudit)},

		{"GET /ui/invite", admin, h.inviteForm},
		{"POST /ui/invite", admin, h.invite},
		{"GET /ui/users/{user}/invitation-link", admin, h.confirmInvitationLink},
		{"POST /ui/users/{user}/invitation-link", admin, h.invitationLink},
		{"GET /ui/users/{user}/remove", admin, h.confirmRemove},
		{"POST /ui/users/{user}/remove", admin, h.remove},

		{"GET /ui/environments", signedIn, h.environmentsPage},
		{"GET /ui/environments/{env}", signedIn, h.environmentPage},
		{"GET /ui/audit", signedIn, h.auditPage},
	}
}

// ServeHTTP serves a page and logs it by route pattern.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.now()
	setPageHeaders(w)
	_, pattern := h.mux.Handler(r)
	sw := httpapi.NewStatusWriter(w)
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.LogAttrs(r.Context(), slog.LevelError, "ui handler panicked", slog.String("route", pattern), slog.Any("panic", v))
			if !sw.WroteHeader() {
				h.renderError(sw, r, nil, http.StatusInternalServerError)
			}
		}
		if pattern == "" {
			pattern = "unmatched"
		}
		h.log.LogAttrs(r.Context(), httpapi.RequestLevel(r.Method, pattern, sw.Status), "request",
			slog.String("method", r.Method), slog.String("route", pattern),
			slog.Int("status", sw.Status), slog.Duration("duration", h.now().Sub(start)))
	}()
	if pattern == "" {
		status := http.StatusNotFound
		if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodPost {
			status = http.StatusMethodNotAllowed
		}
		h.renderError(sw, r, h.visitOf(r), status)
		return
	}
	h.mux.ServeHTTP(sw, r)
}

// wrap adds what every page needs: the session, the access check, and for forms the
// cross-origin check and the CSRF token.
func (h *Handler) wrap(a access, fn pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := &visit{}
		if a != public {
			v = h.visitOf(r)
			if v.sess == nil {
				h.redirectToSignIn(w, r)
				return
			}
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := h.crossOrigin.Check(r); err != nil {
				h.renderError(w, r, v, http.StatusForbidden)
				return
			}
			if err := r.ParseForm(); err != nil {
				h.renderError(w, r, v, http.StatusBadRequest)
				return
			}
			if v.sess != nil && !sameSecret(r.PostForm.Get(fieldCSRF), v.sess.csrf) {
				h.renderError(w, r, v, http.StatusForbidden)
				return
			}
		}
		if a == admin && !v.sess.principal.CanWrite() {
			h.renderError(w, r, v, http.StatusForbidden)
			return
		}
		if err := fn(w, r, v); err != nil {
			h.renderStoreError(w, r, v, err)
		}
	})
}

// visitOf returns the request's visit, with its session when the cookie names a live
// one.
func (h *Handler) visitOf(r *http.Request) *visit {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return &visit{}
	}
	sess, ok := h.sessions.lookup(c.Value)
	if !ok {
		return &visit{}
	}
	return &visit{sess: sess}
}

func (h *Handler) redirectToSignIn(w http.ResponseWriter, r *http.Request) {
	target := "/ui/sign-in"
	if r.Method == http.MethodGet && r.URL.Path != "/ui/" {
		// Only the path: the query may hold a search term, and it stays out of the
		// sign-in page's URL.
		target += "?next=" + urlQueryEscape(r.URL.Path)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request, _ *visit) error {
	http.Redirect(w, r, "/ui/users", http.StatusSeeOther)
	return nil
}

// caller is who an action is recorded as in the audit log: the token's subject, as a
// person working in the Studio (no manager), from the pages.
func (v *visit) caller() store.Caller {
	return store.Caller{Actor: v.sess.principal.Subject, Source: auditSource}
}

// auditSource is the audit entries' source of the pages' actions.
const auditSource = "studio-ui"

// setPageHeaders: nothing loaded from elsewhere, no inline script or style, no
// framing, no Referer, nothing cached (the pages hold emails and, once, links).
func setPageHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// logFailure logs an unexpected error by route, without the request's path or query.
func (h *Handler) logFailure(ctx context.Context, r *http.Request, err error) {
	_, pattern := h.mux.Handler(r)
	h.log.LogAttrs(ctx, slog.LevelError, "ui request failed", slog.String("route", pattern), slog.String("code", string(store.CodeOf(err))), slog.Any("error", err))
}
