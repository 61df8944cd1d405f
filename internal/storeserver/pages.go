package storeserver

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/auditcheck"
	"github.com/studio-operator/studio-operator/internal/store/ui"
)

// withPages serves the Studio's admin pages (internal/store/ui) under /ui/ next to
// api, which serves everything else. The pages use the same service and tokens as the
// API, and the audit page's badge the server's chain checker; over an https public URL
// their cookies are Secure.
func withPages(api http.Handler, svc store.API, tokens ui.Authenticator, audit *auditcheck.Checker, publicURL string, log *slog.Logger) (http.Handler, error) {
	pages, err := ui.New(svc, tokens, ui.Options{Logger: log, Audit: audit, SecureCookies: strings.HasPrefix(publicURL, "https://")})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/", api)
	mux.Handle(ui.Prefix, pages)
	return mux, nil
}
