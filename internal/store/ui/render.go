package ui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/auth"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// fieldCSRF is the name of every form's CSRF field.
const fieldCSRF = "csrf"

// Page templates: each is parsed together with layout.html, which renders its
// "content" block inside the page frame, and partials.html, the pieces pages share.
const (
	tmplSignIn        = "signin.html"
	tmplUsers         = "users.html"
	tmplEnvironments  = "environments.html"
	tmplEnvironment   = "environment.html"
	tmplAudit         = "audit.html"
	tmplInvite        = "invite.html"
	tmplConfirm       = "confirm.html"
	tmplLinkIssued    = "link.html"
	tmplError         = "error.html"
	templatesPattern  = "templates/*.html"
	templateLayout    = "layout.html"
	templatePartials  = "partials.html"
	templateRendering = "page"
)

var pages = parsePages()

func parsePages() map[string]*template.Template {
	names, err := fs.Glob(templateFS, templatesPattern)
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := path.Base(n)
		if base == templateLayout || base == templatePartials {
			continue
		}
		out[base] = template.Must(template.New(base).Funcs(templateFuncs).ParseFS(templateFS,
			"templates/"+templateLayout, "templates/"+templatePartials, n))
	}
	return out
}

var templateFuncs = template.FuncMap{
	"when":     formatTime,
	"whenISO":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"whenPtr":  formatTimePtr,
	"join":     func(sep string, items []string) string { return strings.Join(items, sep) },
	"userURL":  userURL,
	"envURL":   func(key string) string { return "/ui/environments/" + url.PathEscape(key) },
	"plural":   plural,
	"thousand": func(n any) string { return thousands(toInt64(n)) },
	"lower":    strings.ToLower,
	// copyField is the data of the "copyField" template: a read-only field with a
	// copy button.
	"copyField": func(id, value, what string) map[string]string {
		return map[string]string{"ID": id, "Value": value, "What": what}
	},
}

func toInt64(n any) int64 {
	switch v := n.(type) {
	case int:
		return int64(v)
	case int64:
		return v
	}
	return 0
}

// frame is what layout.html needs besides the page's own data.
type frame struct {
	Title string
	// Section is the navigation entry marked current: users, environments or audit.
	Section   string
	Principal *auth.Principal
	CSRF      string
	Data      any
}

// CanWrite reports whether the signed-in token may act.
func (f frame) CanWrite() bool { return f.Principal != nil && f.Principal.CanWrite() }

// render writes a page with status.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, v *visit, status int, name, section, title string, data any) {
	f := frame{Title: title, Section: section, Data: data}
	if v != nil && v.sess != nil {
		p := v.sess.principal
		f.Principal, f.CSRF = &p, v.sess.csrf
	}
	t, ok := pages[name]
	if !ok {
		panic("ui: no template " + name)
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, templateRendering, f); err != nil {
		h.logFailure(r.Context(), r, err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// errorPage is the data of error.html.
type errorPage struct {
	Status int
	Title  string
	Text   string
}

var errorTexts = map[int]errorPage{
	http.StatusBadRequest:          {Title: "The request could not be read", Text: "Go back and submit the form again."},
	http.StatusForbidden:           {Title: "Not allowed", Text: "Your sign-in cannot do this. Actions need an admin token; forms must be sent from these pages (reload the page and try again)."},
	http.StatusNotFound:            {Title: "Not found", Text: "There is no such page or record."},
	http.StatusMethodNotAllowed:    {Title: "Not allowed here", Text: "This address does not take that kind of request."},
	http.StatusConflict:            {Title: "That cannot be done now", Text: "The record changed or is managed elsewhere."},
	http.StatusUnprocessableEntity: {Title: "The request was refused", Text: "Check what you entered."},
	http.StatusServiceUnavailable:  {Title: "The store is unavailable", Text: "The database did not answer. Try again in a moment."},
	http.StatusInternalServerError: {Title: "Something went wrong", Text: "The page could not be served. Try again in a moment."},
}

func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, v *visit, status int) {
	h.renderErrorText(w, r, v, status, "")
}

func (h *Handler) renderErrorText(w http.ResponseWriter, r *http.Request, v *visit, status int, text string) {
	p, ok := errorTexts[status]
	if !ok {
		p = errorTexts[http.StatusInternalServerError]
	}
	p.Status = status
	if text != "" {
		p.Text = text
	}
	h.render(w, r, v, status, tmplError, "", p.Title, p)
}

// renderStoreError answers a failed store call with the page its code calls for.
// Unexpected failures are logged; refusals are the reader's to fix.
func (h *Handler) renderStoreError(w http.ResponseWriter, r *http.Request, v *visit, err error) {
	code := store.CodeOf(err)
	status := code.HTTPStatus()
	if code.Transient() {
		h.logFailure(r.Context(), r, err)
	}
	text := ""
	if e, ok := err.(*store.Error); ok && !code.Transient() && e.Message != "" {
		text = e.Message
		if e.Field != "" {
			text = e.Field + ": " + text
		}
		text = strings.ToUpper(text[:1]) + text[1:] + "."
	}
	h.renderErrorText(w, r, v, status, text)
}

func serveStatic(w http.ResponseWriter, r *http.Request, _ *visit) error {
	name := r.PathValue("file")
	b, err := staticFS.ReadFile("static/" + name)
	if err != nil || strings.Contains(name, "/") {
		return store.Errorf(store.CodeNotFound, "", "no such file")
	}
	switch path.Ext(name) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case ".svg":
		w.Header().Set("Content-Type", "image/svg+xml")
	}
	// The assets hold nothing private and change only with the binary.
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(b)
	return nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func formatTimePtr(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return formatTime(*t)
}

func userURL(key string) string { return "/ui/users/" + url.PathEscape(key) }

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%s %s", thousands(int64(n)), many)
}

// thousands writes n with thin separators: 100,000.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
