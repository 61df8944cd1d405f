package httpapi

import (
	"log/slog"
	"net/http"
	"testing"
)

// An idle operator's resyncs are successful reads: they must not fill the log at
// info level, while every write and every failure stays visible there.
func TestRequestLevel(t *testing.T) {
	cases := []struct {
		method, pattern string
		status          int
		want            slog.Level
	}{
		{http.MethodGet, "GET /api/v1/users", http.StatusOK, slog.LevelDebug},
		{http.MethodGet, "GET /api/v1/grants", http.StatusOK, slog.LevelDebug},
		{http.MethodGet, "GET /healthz", http.StatusOK, slog.LevelDebug},
		{http.MethodGet, "GET /api/v1/users/{user}", http.StatusNotFound, slog.LevelInfo},
		{http.MethodGet, "GET /api/v1/users", http.StatusUnauthorized, slog.LevelInfo},
		{http.MethodPut, "PUT /api/v1/users/{user}/grants", http.StatusOK, slog.LevelInfo},
		{http.MethodPost, "POST /api/v1/users/{user}/invitations", http.StatusCreated, slog.LevelInfo},
		{http.MethodDelete, "DELETE /api/v1/users/{user}", http.StatusNoContent, slog.LevelInfo},
		{http.MethodGet, "GET /api/v1/users", http.StatusServiceUnavailable, slog.LevelWarn},
	}
	for _, c := range cases {
		if got := RequestLevel(c.method, c.pattern, c.status); got != c.want {
			t.Errorf("%s %s → %d logged at %v, want %v", c.method, c.pattern, c.status, got, c.want)
		}
	}
}
