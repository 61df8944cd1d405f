package ui_test

import (
	"net/http"
	"os"
	"strings"
	"testing"
)

// TestEveryPageRenders opens each read-only page signed in as admin and as reader.
func TestEveryPageRenders(t *testing.T) {
	s := startStudio(t)
	seed(t, s)
	for _, token := range []string{adminToken, readerToken} {
		b := newBrowserless(t, s.URL)
		b.mustSignIn(token)
		for _, path := range []string{
			"/ui/users", "/ui/users?q=an", "/ui/users?dir=desc&sort=created&state=Invited", "/ui/users?agency=acme",
			"/ui/users?environment=team-support.webchat", "/ui/users/diego", "/ui/users/diego/access",
			"/ui/users/diego/invitation", "/ui/users/diego/audit", "/ui/environments",
			"/ui/environments/team-support.webchat", "/ui/audit", "/ui/audit?user=diego",
		} {
			p := b.get(path)
			if p.status != http.StatusOK {
				t.Errorf("GET %s: %d\n%s", path, p.status, p.body)
			}
			if os.Getenv("UI_DUMP") != "" && token == adminToken {
				_ = os.WriteFile("/tmp/ui-dump"+strings.ReplaceAll(strings.ReplaceAll(path, "/", "_"), "?", "_")+".html", []byte(p.body), 0o644)
			}
		}
	}
}
