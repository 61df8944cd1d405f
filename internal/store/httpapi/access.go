package httpapi

import (
	"log/slog"
	"net/http"
)

// The access log of the store's HTTP handlers: the API's and the pages' (internal/store/ui).

// StatusWriter remembers the status a handler wrote, for metrics and the access log.
type StatusWriter struct {
	http.ResponseWriter
	// Status is the status written (200 until a handler writes another).
	Status      int
	wroteHeader bool
}

// NewStatusWriter wraps w.
func NewStatusWriter(w http.ResponseWriter) *StatusWriter {
	return &StatusWriter{ResponseWriter: w, Status: http.StatusOK}
}

// WroteHeader reports whether the handler has started its answer.
func (w *StatusWriter) WroteHeader() bool { return w.wroteHeader }

func (w *StatusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.Status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *StatusWriter) Write(b []byte) (int, error) {
	w.wroteHeader = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flush, deadlines).
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// RequestLevel is the level a request is logged at. Reads that succeed change
// nothing and are the bulk of an idle operator's traffic (its resyncs list users and
// grants), so they and the probes are debug; writes, and every request that failed,
// are info, and server errors are warnings (probes, which report failure by
// design, stay debug).
func RequestLevel(method, pattern string, status int) slog.Level {
	switch {
	case isProbe(pattern):
		return slog.LevelDebug
	case status >= http.StatusInternalServerError:
		return slog.LevelWarn
	case (method == http.MethodGet || method == http.MethodHead) && status < http.StatusBadRequest:
		return slog.LevelDebug
	default:
		return slog.LevelInfo
	}
}
