package httpapi

import (
	"fmt"
	"net/http"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	q, err := queryStrings(r, "email", "agency", "environment", "cursor", "order")
	if err != nil {
		return err
	}
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	desc, err := queryDesc(r)
	if err != nil {
		return err
	}
	page, err := s.svc.ListUsers(r.Context(), store.UserFilter{
		Email: q["email"], Agency: q["agency"], Environment: q["environment"], Cursor: q["cursor"], Limit: limit,
		Order: store.UserOrder(q["order"]), Desc: desc,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, normUserPage(page))
}

func (s *Server) putUser(w http.ResponseWriter, r *http.Request) error {
	c, err := callerOf(r)
	if err != nil {
		return err
	}
	var spec store.UserSpec
	if err := decodeJSON(r, &spec); err != nil {
		return err
	}
	u, outcome, err := s.svc.PutUser(r.Context(), c, r.PathValue("user"), spec)
	if err != nil {
		return err
	}
	return writePut(w, u, outcome)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.svc.GetUser(r.Context(), r.PathValue("user"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

func (s *Server) removeUser(w http.ResponseWriter, r *http.Request) error {
	c, err := callerOf(r)
	if err != nil {
		return err
	}
	u, err := s.svc.RemoveUser(r.Context(), c, r.PathValue("user"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

// grantsBody is the PUT grants body. Members are pointers so that a missing "grants",
// "scope" or "roles" is refused instead of read as "none": an empty list is a
// meaningful value here (no grants; block inherited roles).
type grantsBody struct {
	Grants *[]grantBody `json:"grants"`
}

type grantBody struct {
	Scope *store.Scope    `json:"scope"`
	Roles *[]cascade.Role `json:"roles"`
}

func (b grantsBody) grants() ([]store.Grant, error) {
	if b.Grants == nil {
		return nil, requireField("grants")
	}
	out := make([]store.Grant, len(*b.Grants))
	for i, g := range *b.Grants {
		if g.Scope == nil {
			return nil, requireField(fmt.Sprintf("grants[%d].scope", i))
		}
		if g.Roles == nil {
			return nil, requireField(fmt.Sprintf("grants[%d].roles", i))
		}
		out[i] = store.Grant{Scope: *g.Scope, Roles: *g.Roles}
	}
	return out, nil
}

func (s *Server) putGrants(w http.ResponseWriter, r *http.Request) error {
	c, err := callerOf(r)
	if err != nil {
		return err
	}
	var body grantsBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	grants, err := body.grants()
	if err != nil {
		return err
	}
	set, err := s.svc.PutGrants(r.Context(), c, r.PathValue("user"), grants)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, normGrantSet(set))
}

func (s *Server) getGrants(w http.ResponseWriter, r *http.Request) error {
	set, err := s.svc.GetGrants(r.Context(), r.PathValue("user"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, normGrantSet(set))
}

func (s *Server) listGrants(w http.ResponseWriter, r *http.Request) error {
	q, err := queryStrings(r, "cursor")
	if err != nil {
		return err
	}
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	page, err := s.svc.ListGrants(r.Context(), store.GrantFilter{Cursor: q["cursor"], Limit: limit})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, normGrantPage(page))
}

func (s *Server) getAccess(w http.ResponseWriter, r *http.Request) error {
	a, err := s.svc.GetAccess(r.Context(), r.PathValue("user"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, normAccess(a))
}

func (s *Server) sendInvitation(w http.ResponseWriter, r *http.Request) error {
	c, err := callerOf(r)
	if err != nil {
		return err
	}
	key, err := header(r, HeaderIdempotencyKey)
	if err != nil {
		return err
	}
	inv, err := s.svc.SendInvitation(r.Context(), c, r.PathValue("user"), key)
	if err != nil {
		return err
	}
	// The answer holds the link, a secret: no cache may keep it.
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, inv)
}

func (s *Server) getInvitation(w http.ResponseWriter, r *http.Request) error {
	inv, err := s.svc.GetInvitation(r.Context(), r.PathValue("user"))
	if err != nil {
		return err
	}
	inv.Link = "" // only SendInvitation answers carry the link
	return writeJSON(w, http.StatusOK, inv)
}

func (s *Server) listUndeliverable(w http.ResponseWriter, r *http.Request) error {
	q, err := queryStrings(r, "cursor")
	if err != nil {
		return err
	}
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	page, err := s.svc.ListUndeliverable(r.Context(), store.UndeliverableFilter{Cursor: q["cursor"], Limit: limit})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, normUndeliverablePage(page))
}

func (s *Server) recordActivity(w http.ResponseWriter, r *http.Request) error {
	c, err := callerOf(r)
	if err != nil {
		return err
	}
	u, err := s.svc.RecordActivity(r.Context(), c, r.PathValue("user"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}
