package failover

import (
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// errAnswerLost is what the proxy makes of the answer it holds back.
var errAnswerLost = errors.New("answer held back: the manager was killed")

// killSwitch is a reverse proxy between the managers and the store. Once armed, it
// runs kill when the store has answered the nth write of one kind, before that
// answer is relayed: the store has applied the write and the manager that made it
// never learns so, the case idempotent writes exist for. It can also hold writes of
// one kind back until released, a store that is slow for a while. It logs nothing;
// answers may hold invitation links.
type killSwitch struct {
	url   string
	proxy *httputil.ReverseProxy

	mu    sync.Mutex // the armed kill
	armed route
	at    int
	seen  int
	kill  func() error
	fired chan killed

	holdMu sync.Mutex // the held writes
	held   route
	open   chan struct{}
}

// route is one kind of write: "method /api/v1/users/{user}<suffix>".
type route struct{ method, suffix string }

// user is the user r writes to when r is of this kind.
func (rt route) user(r *http.Request) (string, bool) {
	path, ok := strings.CutPrefix(r.URL.Path, "/api/v1/users/")
	if !ok || rt.method == "" || r.Method != rt.method {
		return "", false
	}
	user, ok := strings.CutSuffix(path, rt.suffix)
	return user, ok && user != "" && !strings.Contains(user, "/")
}

// killed says when kill ran, whose answer was lost and how the kill went.
type killed struct {
	at   time.Time
	user string
	err  error
}

// startKillSwitch serves the proxy to storeURL on 127.0.0.1.
func startKillSwitch(t *testing.T, storeURL string) *killSwitch {
	t.Helper()
	target, err := url.Parse(storeURL)
	if err != nil {
		t.Fatal(err)
	}
	k := &killSwitch{fired: make(chan killed, 1)}
	k.proxy = &httputil.ReverseProxy{
		Rewrite:        func(r *httputil.ProxyRequest) { r.SetURL(target) },
		ModifyResponse: k.observe,
		ErrorLog:       log.New(io.Discard, "", 0),
	}
	srv := httptest.NewServer(k)
	t.Cleanup(func() {
		k.release()
		srv.Close()
	})
	k.url = srv.URL
	return k
}

// ServeHTTP forwards r to the store, once no hold applies to it.
func (k *killSwitch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k.holdMu.Lock()
	open := k.open
	_, held := k.held.user(r)
	k.holdMu.Unlock()
	if held && open != nil {
		select {
		case <-open:
		case <-r.Context().Done():
			return
		}
	}
	k.proxy.ServeHTTP(w, r)
}

// hold makes writes of kind (method, suffix) wait until release.
func (k *killSwitch) hold(method, suffix string) {
	k.holdMu.Lock()
	defer k.holdMu.Unlock()
	if k.open == nil {
		k.held, k.open = route{method, suffix}, make(chan struct{})
	}
}

// release lets the held writes through.
func (k *killSwitch) release() {
	k.holdMu.Lock()
	defer k.holdMu.Unlock()
	if k.open != nil {
		close(k.open)
		k.held, k.open = route{}, nil
	}
}

// arm makes the nth successful write of kind (method, suffix) from now on run
// kill, e.g. (PUT, "/grants") for grant writes.
func (k *killSwitch) arm(method, suffix string, n int, kill func() error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.armed, k.at, k.seen, k.kill = route{method, suffix}, n, 0, kill
}

// observe counts the armed kind of write and fires on the nth. Answers that arrive
// while kill runs wait for it, so none reaches the dying manager.
func (k *killSwitch) observe(resp *http.Response) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	user, ok := k.armed.user(resp.Request)
	if k.kill == nil || !ok || resp.StatusCode/100 != 2 {
		return nil
	}
	if k.seen++; k.seen < k.at {
		return nil
	}
	at := time.Now()
	err := k.kill()
	k.kill = nil
	k.fired <- killed{at: at, user: user, err: err}
	return errAnswerLost
}
