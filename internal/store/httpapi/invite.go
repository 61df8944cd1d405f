package httpapi

import (
	"embed"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/studio-operator/studio-operator/internal/store"
)

// The invitation link target: a small HTML page for people, JSON for programs that
// ask for it with "Accept: application/json".

//go:embed invite_templates/*.html
var inviteFS embed.FS

var inviteTemplates = template.Must(template.ParseFS(inviteFS, "invite_templates/*.html"))

// Template names.
const (
	tmplInvite   = "invite.html"
	tmplAccepted = "accepted.html"
	tmplProblem  = "problem.html"
)

// Page texts for the refusals.
const (
	pageGoneTitle     = "This invitation can no longer be used"
	pageGoneText      = "The link was already used, replaced by a newer invitation, withdrawn or it expired. Ask the person who invited you for a new invitation."
	pageNotFoundTitle = "This invitation link is not valid"
	pageNotFoundText  = "Check that you opened the whole link from the invitation email."
	pageErrorTitle    = "Something went wrong"
	pageErrorText     = "The invitation could not be loaded. Please try again in a moment."
)

type invitePage struct {
	DisplayName string
	Agencies    []string
	ExpiresAt   time.Time
	// Action is the form target relative to the page ("./<token>/accept"), so the page
	// also works behind a proxy that serves the store under a path prefix.
	Action string
}

type acceptedPage struct {
	DisplayName string
}

type problemPage struct {
	Title string
	Text  string
}

// acceptedUser is the JSON answer to an accepted invitation. It leaves out the email
// and other details the link holder does not need.
type acceptedUser struct {
	Key         string          `json:"key"`
	DisplayName string          `json:"displayName"`
	State       store.UserState `json:"state"`
}

func (s *Server) invitePage(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	view, err := s.svc.LookupInvitation(r.Context(), token)
	if err == nil && view.State != store.InvitationPending {
		err = store.Errorf(store.CodeInvitationGone, "", "invitation is %s", view.State)
	}
	if wantsJSON(r) {
		if err != nil {
			return err
		}
		setPageHeaders(w)
		return writeJSON(w, http.StatusOK, normInvitationView(view))
	}
	if err != nil {
		s.writeProblemPage(w, r, err)
		return nil
	}
	s.renderPage(w, r, http.StatusOK, tmplInvite, invitePage{
		DisplayName: view.DisplayName,
		Agencies:    view.Agencies,
		ExpiresAt:   view.ExpiresAt.UTC(),
		Action:      "./" + url.PathEscape(token) + "/accept",
	})
	return nil
}

func (s *Server) acceptInvitation(w http.ResponseWriter, r *http.Request) error {
	u, err := s.svc.AcceptInvitation(r.Context(), r.PathValue("token"))
	if wantsJSON(r) {
		if err != nil {
			return err
		}
		setPageHeaders(w)
		return writeJSON(w, http.StatusOK, acceptedUser{Key: u.Key, DisplayName: u.DisplayName, State: u.State})
	}
	if err != nil {
		s.writeProblemPage(w, r, err)
		return nil
	}
	s.renderPage(w, r, http.StatusOK, tmplAccepted, acceptedPage{DisplayName: u.DisplayName})
	return nil
}

// writeProblemPage answers a refused link with a page whose status is the problem's.
func (s *Server) writeProblemPage(w http.ResponseWriter, r *http.Request, err error) {
	p := problemFor(err)
	page := problemPage{Title: pageErrorTitle, Text: pageErrorText}
	switch p.Code {
	case store.CodeInvitationGone:
		page = problemPage{Title: pageGoneTitle, Text: pageGoneText}
	case store.CodeNotFound, store.CodeInvalid:
		page = problemPage{Title: pageNotFoundTitle, Text: pageNotFoundText}
	default:
		s.logFailure(r, err)
	}
	s.renderPage(w, r, p.Status, tmplProblem, page)
}

func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var b strings.Builder
	if err := inviteTemplates.ExecuteTemplate(&b, name, data); err != nil {
		s.writeError(w, r, err)
		return
	}
	setPageHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// setPageHeaders keeps the token in the URL from leaking: no Referer to other sites,
// no caching, no framing, nothing loaded from elsewhere.
func setPageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
}

// wantsJSON reports whether the client asked for JSON rather than a page: it lists
// application/json (or problem+json) and not text/html.
func wantsJSON(r *http.Request) bool {
	json, html := false, false
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "application/json", contentTypeProblem:
			json = true
		case "text/html":
			html = true
		}
	}
	return json && !html
}
