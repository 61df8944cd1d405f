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

// verificationTTL is how long a chain check is shown before it is made again. A check
// re-walks the whole log, so pages opened in quick succession share one.
const verificationTTL = 30 * time.Second

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
	Err       bool
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
	if page.Verification, err = h.verified.get(r.Context(), h.api); err != nil {
		h.logFailure(r.Context(), r, err)
	}
	h.render(w, r, v, http.StatusOK, tmplAudit, "audit", "Audit log", page)
	return nil
}

// verificationCache keeps the last chain check for verificationTTL.
type verificationCache struct {
	mu   sync.Mutex
	last verification
	now  func() time.Time
}

func newVerificationCache(now func() time.Time) *verificationCache {
	return &verificationCache{now: now}
}

// get returns a check at most verificationTTL old. A check that could not be made is
// shown as such (with its error) and not kept.
func (c *verificationCache) get(ctx context.Context, api store.API) (verification, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if !c.last.CheckedAt.IsZero() && now.Sub(c.last.CheckedAt) < verificationTTL {
		return c.last, nil
	}
	res, err := api.VerifyAudit(ctx)
	if err != nil {
		return verification{CheckedAt: now, Err: true}, err
	}
	c.last = verification{AuditVerification: res, CheckedAt: now}
	return c.last, nil
}
