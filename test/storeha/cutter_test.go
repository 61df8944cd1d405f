package storeha

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// cutTimeout bounds how long a kept-back answer waits for the kill.
const cutTimeout = 20 * time.Second

// cutAnswer is an answer to SendInvitation that the client never got.
type cutAnswer struct {
	user   string
	status int
	link   string // a secret: never printed
}

// answerCutter is the HTTP transport of one replica's client. Armed, it lets the next
// SendInvitation reach the replica and be answered, keeps the answer back until the
// replica has been killed, and then fails the request as a connection cut by the
// crash would: the invitation is committed, but the client does not know it and
// retries elsewhere with the same Idempotency-Key.
type answerCutter struct {
	base   http.RoundTripper
	armed  atomic.Bool
	cut    chan cutAnswer // receives the kept-back answer, once
	killed <-chan struct{}
}

func newAnswerCutter(killed <-chan struct{}) *answerCutter {
	return &answerCutter{
		base:   http.DefaultTransport.(*http.Transport).Clone(),
		cut:    make(chan cutAnswer, 1),
		killed: killed,
	}
}

func (a *answerCutter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := a.base.RoundTrip(req)
	user, isInvite := invitedUser(req)
	if err != nil || !isInvite || resp.StatusCode/100 != 2 || !a.armed.CompareAndSwap(true, false) {
		return resp, err
	}
	var answer struct {
		Link string `json:"link"`
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	_ = json.Unmarshal(body, &answer)
	a.cut <- cutAnswer{user: user, status: resp.StatusCode, link: answer.Link}
	select {
	case <-a.killed:
	case <-time.After(cutTimeout):
	}
	return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
}

// invitedUser returns the user of a SendInvitation request
// (POST /api/v1/users/{user}/invitations).
func invitedUser(req *http.Request) (string, bool) {
	if req.Method != http.MethodPost {
		return "", false
	}
	rest, ok := strings.CutPrefix(req.URL.EscapedPath(), "/api/v1/users/")
	if !ok {
		return "", false
	}
	escaped, ok := strings.CutSuffix(rest, "/invitations")
	if !ok || strings.Contains(escaped, "/") {
		return "", false
	}
	user, err := url.PathUnescape(escaped)
	return user, err == nil
}
