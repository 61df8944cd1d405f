package httpapi

import (
	"context"
	_ "embed"
	"log/slog"
	"net/http"

	"github.com/studio-operator/studio-operator/internal/store"
)

// OpenAPI is the OpenAPI 3 document of the API, served at /openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(OpenAPI)
	return nil
}

// healthz says the process serves HTTP; it does not look at the database, so a
// database outage does not get the store restarted.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) error {
	writeText(w, "ok\n")
	return nil
}

// readyz says the store can serve requests: the database answers in time.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), s.readyTimeout)
	defer cancel()
	if err := s.svc.Ping(ctx); err != nil {
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "not ready", slog.Any("error", err))
		return &store.Error{Code: store.CodeUnavailable, Message: detailNotReady, Err: err}
	}
	writeText(w, "ok\n")
	return nil
}

func writeText(w http.ResponseWriter, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(text))
}
