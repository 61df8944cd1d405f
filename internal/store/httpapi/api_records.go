package httpapi

import (
	"net/http"

	"github.com/studio-operator/studio-operator/internal/store"
)

// Agency and environment handlers: decode, call the store, encode.

func (s *Server) putAgency(w http.ResponseWriter, r *http.Request) error {
	c, err := callerOf(r)
	if err != nil {
		return err
	}
	var spec store.AgencySpec
	if err := decodeJSON(r, &spec); err != nil {
		return err
	}
	a, outcome, err := s.svc.PutAgency(r.Context(), c, r.PathValue("agency"), spec)
	if err != nil {
		return err
	}
	return writePut(w, a, outcome)
}

func (s *Server) getAgency(w http.ResponseWriter, r *http.Request) error {
	a, err := s.svc.GetAgency(r.Context(), r.PathValue("agency"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

func (s *Server) deleteAgency(w http.ResponseWriter, r *http.Request) error {
	c, err := callerOf(r)
	if err != nil {
		return err
	}
	if err := s.svc.DeleteAgency(r.Context(), c, r.PathValue("agency")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listEnvironments(w http.ResponseWriter, r *http.Request) error {
	q, err := queryStrings(r, "agency", "cursor")
	if err != nil {
		return err
	}
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	page, err := s.svc.ListEnvironments(r.Context(), store.EnvironmentFilter{Agency: q["agency"], Cursor: q["cursor"], Limit: limit})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, normEnvironmentPage(page))
}

func (s *Server) putEnvironment(w http.ResponseWriter, r *http.Request) error {
	c, err := callerOf(r)
	if err != nil {
		return err
	}
	var spec store.EnvironmentSpec
	if err := decodeJSON(r, &spec); err != nil {
		return err
	}
	e, outcome, err := s.svc.PutEnvironment(r.Context(), c, r.PathValue("env"), spec)
	if err != nil {
		return err
	}
	return writePut(w, e, outcome)
}

func (s *Server) getEnvironment(w http.ResponseWriter, r *http.Request) error {
	e, err := s.svc.GetEnvironment(r.Context(), r.PathValue("env"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

func (s *Server) deleteEnvironment(w http.ResponseWriter, r *http.Request) error {
	c, err := callerOf(r)
	if err != nil {
		return err
	}
	if err := s.svc.DeleteEnvironment(r.Context(), c, r.PathValue("env")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Audit handlers.

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	q, err := queryStrings(r, "user", "agency", "environment", "actor")
	if err != nil {
		return err
	}
	after, err := querySeq(r, "after")
	if err != nil {
		return err
	}
	before, err := querySeq(r, "before")
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
	page, err := s.svc.ListAudit(r.Context(), store.AuditFilter{
		User: q["user"], Agency: q["agency"], Environment: q["environment"], Actor: q["actor"],
		After: after, Before: before, Desc: desc, Limit: limit,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, normAuditPage(page))
}

func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	v, err := s.svc.VerifyAudit(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}
