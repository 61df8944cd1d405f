package ui

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/studio-operator/studio-operator/internal/store"
)

// The chain check re-walks the whole log (seconds for hundreds of thousands of
// entries), so it never holds up a page: pages show the last check and start a new one
// in the background when that is older than verificationTTL. Only the first page
// after start waits, up to verificationWait, for the first check.
const (
	verificationTTL     = 30 * time.Second
	verificationWait    = time.Second
	verificationTimeout = 5 * time.Minute
)

type auditPage struct {
	User, Agency, Environment string
	Filtering                 bool
	Verification              verification
	List                      auditList
}

// verification is the badge: the result of the store's chain check and when it ran.
type verification struct {
	store.AuditVerification
	CheckedAt time.Time
	// Pending: no check has finished yet.
	Pending bool
	// Err: the last check could not be made.
	Err bool
}

func (h *Handler) auditPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	q := r.URL.Query()
	get := func(name string) string {
		s := strings.TrimSpace(q.Get(name))
		if len(s) > maxSearchLen {
			return ""
		}
		return s
	}
	page := auditPage{User: get("user"), Agency: get("agency"), Environment: get("environment")}
	page.Filtering = page.User != "" || page.Agency != "" || page.Environment != ""
	base := url.Values{}
	for name, val := range map[string]string{"user": page.User, "agency": page.Agency, "environment": page.Environment} {
		if val != "" {
			base.Set(name, val)
		}
	}
	baseURL := "/ui/audit"
	if len(base) > 0 {
		baseURL += "?" + base.Encode()
	}
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	list, err := h.auditList(r, store.AuditFilter{User: page.User, Agency: page.Agency, Environment: page.Environment}, before, baseURL)
	if err != nil {
		return err
	}
	page.List = list
	page.Verification = h.verified.get(r.Context(), h.api)
	h.render(w, r, v, http.StatusOK, tmplAudit, "audit", "Audit log", page)
	return nil
}

// verificationCache keeps the last chain check and runs at most one at a time.
type verificationCache struct {
	mu      sync.Mutex
	last    verification
	running chan struct{} // closed when the check under way ends; nil when none runs
	now     func() time.Time
	log     func(error)
}

func newVerificationCache(now func() time.Time, log func(error)) *verificationCache {
	return &verificationCache{now: now, log: log}
}

// get returns the last check, starting a new one when it is stale; before the first
// check has finished it waits for it a little.
func (c *verificationCache) get(ctx context.Context, api store.API) verification {
	c.mu.Lock()
	stale := c.last.CheckedAt.IsZero() || c.now().Sub(c.last.CheckedAt) >= verificationTTL
	if stale && c.running == nil {
		c.running = make(chan struct{})
		go c.check(api, c.running)
	}
	running, last := c.running, c.last
	c.mu.Unlock()
	if !last.CheckedAt.IsZero() || running == nil {
		return last
	}
	select {
	case <-running:
	case <-time.After(verificationWait):
	case <-ctx.Done():
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last.CheckedAt.IsZero() {
		return verification{Pending: true}
	}
	return c.last
}

// check runs one chain check; it outlives the request that started it.
func (c *verificationCache) check(api store.API, done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), verificationTimeout)
	defer cancel()
	res, err := api.VerifyAudit(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.log(err)
		c.last = verification{CheckedAt: c.now(), Err: true}
	} else {
		c.last = verification{AuditVerification: res, CheckedAt: c.now()}
	}
	c.running = nil
	close(done)
}
