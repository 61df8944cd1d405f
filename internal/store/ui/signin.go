package ui

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Sign-in form fields.
const (
	fieldToken = "token"
	fieldNext  = "next"
)

// Sign-in messages.
const (
	msgWrongToken = "That token is not valid for this store. Paste the whole token, as given to you for studio-store (reader or admin)."
	msgNoToken    = "Enter a store token."
	msgTooMany    = "Too many failed sign-ins. Wait %s and try again."
	msgFormAged   = "The sign-in form expired. Enter your token again."
	msgSignedOut  = "You are signed out."
)

type signInPage struct {
	// FormToken is the sign-in form's CSRF value, also set as a cookie.
	FormToken string
	Next      string
	Error     string
	Notice    string
}

func (h *Handler) signInForm(w http.ResponseWriter, r *http.Request, v *visit) error {
	if h.visitOf(r).sess != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get(fieldNext)), http.StatusSeeOther)
		return nil
	}
	page := signInPage{Next: safeNext(r.URL.Query().Get(fieldNext))}
	if r.URL.Query().Get("signed-out") == "1" {
		page.Notice = msgSignedOut
	}
	h.renderSignIn(w, r, http.StatusOK, page)
	return nil
}

// renderSignIn serves the form with a fresh form token: a double-submit value in a
// cookie and a hidden field, so a sign-in cannot be forced from another site.
func (h *Handler) renderSignIn(w http.ResponseWriter, r *http.Request, status int, page signInPage) {
	page.FormToken = randomToken()
	http.SetCookie(w, h.cookie(r, signInCookie, page.FormToken, signInFormAge))
	h.render(w, r, nil, status, tmplSignIn, "", "Sign in", page)
}

func (h *Handler) signIn(w http.ResponseWriter, r *http.Request, _ *visit) error {
	next := safeNext(r.PostForm.Get(fieldNext))
	page := signInPage{Next: next}
	formCookie, err := r.Cookie(signInCookie)
	if err != nil || !sameSecret(r.PostForm.Get(fieldCSRF), formCookie.Value) {
		page.Error = msgFormAged
		h.renderSignIn(w, r, http.StatusForbidden, page)
		return nil
	}
	client := clientAddress(r)
	if ok, wait := h.attempts.allowed(client); !ok {
		w.Header().Set("Retry-After", fmt.Sprint(int(wait/time.Second)))
		page.Error = fmt.Sprintf(msgTooMany, wait)
		h.renderSignIn(w, r, http.StatusTooManyRequests, page)
		return nil
	}
	token := strings.TrimSpace(r.PostForm.Get(fieldToken))
	if token == "" {
		page.Error = msgNoToken
		h.renderSignIn(w, r, http.StatusUnprocessableEntity, page)
		return nil
	}
	p, ok := h.auth.Authenticate(token)
	if !ok {
		h.attempts.failed(client)
		page.Error = msgWrongToken
		h.renderSignIn(w, r, http.StatusUnauthorized, page)
		return nil
	}
	if old, err := r.Cookie(sessionCookie); err == nil {
		h.sessions.end(old.Value) // a sign-in always starts a new session
	}
	id, _ := h.sessions.create(p)
	http.SetCookie(w, h.cookie(r, sessionCookie, id, 0))
	http.SetCookie(w, h.cookie(r, signInCookie, "", -1))
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func (h *Handler) signOut(w http.ResponseWriter, r *http.Request, _ *visit) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		h.sessions.end(c.Value)
	}
	http.SetCookie(w, h.cookie(r, sessionCookie, "", -1))
	http.Redirect(w, r, "/ui/sign-in?signed-out=1", http.StatusSeeOther)
	return nil
}

// safeNext is where to go after signing in: a page of these pages, never another
// site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\?#") ||
		strings.Contains(next, "/sign-") || strings.Contains(next, "..") {
		return "/ui/users"
	}
	return next
}
