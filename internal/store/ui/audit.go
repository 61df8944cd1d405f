package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/auditcheck"
)

// The chain check re-walks the whole log (seconds for hundreds of thousands of
// entries), so it never holds up a page: pages show the last check and start a new one
// in the background when that is older than verificationTTL or behind the entries the
// page shows (auditcheck.Checker.CatchUp bounds how often). Only the first page after
// start, or a page of a small log, waits up to verificationWait for a check.
const (
	verificationTTL  = 30 * time.Second
	verificationWait = time.Second
)

type auditPage struct {
	User, Agency, Environment, Actor string
	Filtering                        bool
	Verification                     auditcheck.Result
	List                             auditList
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
	page := auditPage{User: get("user"), Agency: get("agency"), Environment: get("environment"), Actor: get("actor")}
	page.Filtering = page.User != "" || page.Agency != "" || page.Environment != "" || page.Actor != ""
	base := url.Values{}
	for name, val := range map[string]string{"user": page.User, "agency": page.Agency, "environment": page.Environment, "actor": page.Actor} {
		if val != "" {
			base.Set(name, val)
		}
	}
	baseURL := "/ui/audit"
	if len(base) > 0 {
		baseURL += "?" + base.Encode()
	}
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	list, err := h.auditList(r, store.AuditFilter{User: page.User, Agency: page.Agency, Environment: page.Environment, Actor: page.Actor}, before, baseURL)
	if err != nil {
		return err
	}
	page.List = list
	page.Verification = h.audit.Get(r.Context(), verificationTTL, verificationWait)
	if newest := list.newestSeq(); newest > page.Verification.Entries {
		// The last check did not walk entries this page shows: check again (a small
		// log answers within the wait; a large one shows the last check, and its date).
		page.Verification = h.audit.CatchUp(r.Context(), newest, verificationWait)
	}
	h.render(w, r, v, http.StatusOK, tmplAudit, "audit", "Audit log", page)
	return nil
}

// newestSeq is the highest sequence number on the page, 0 when it is empty.
func (l auditList) newestSeq() int64 {
	var n int64
	for _, e := range l.Entries {
		n = max(n, e.Seq)
	}
	return n
}
