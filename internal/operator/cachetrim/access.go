package cachetrim

import (
	"hash/fnv"
	"strconv"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// AccessAnnotation is where the cache keeps the fingerprint of a StudioUser's
// status.access in place of the list. It exists only on the cache's copies of the
// object and never reaches the API server: the operator writes objects with merge
// patches computed between two copies that both carry it.
//
// status.access is the largest part of a cached user (an entry per environment it
// can reach, 96 bytes each before its strings), and only the user's own reconcile
// reads it, to tell what changed. With the fingerprint it knows without the list
// whether anything did; when something did, it reads the object from the API
// server (AccessBefore).
const AccessAnnotation = "cache.iam.studio-operator.io/status-access"

// AccessFingerprint is the fingerprint of access as AccessAnnotation holds it.
func AccessFingerprint(access []iamv1.EnvironmentAccess) string {
	h := fnv.New64a()
	field := func(s string) {
		_, _ = h.Write([]byte(s))
		_, _ = h.Write([]byte{0})
	}
	for _, a := range access {
		field(a.Environment)
		field(a.Agency)
		field(string(a.Source))
		field(strconv.Itoa(len(a.Roles)))
		for _, r := range a.Roles {
			field(string(r))
		}
		field(strconv.Itoa(len(a.Bindings)))
		for _, b := range a.Bindings {
			field(b)
		}
		_, _ = h.Write([]byte{1})
	}
	return strconv.FormatUint(h.Sum64(), 16) + "/" + strconv.Itoa(len(access))
}

// CachedAccess reports, for a StudioUser read from the cache, the fingerprint of
// the status.access the cache left out; ok is false when the object carries its
// list (it was not read from the cache).
func CachedAccess(u *iamv1.StudioUser) (fingerprint string, ok bool) {
	fingerprint, ok = u.GetAnnotations()[AccessAnnotation]
	return fingerprint, ok
}

// stripAccess replaces u's status.access by its fingerprint.
func stripAccess(u *iamv1.StudioUser) {
	a := u.GetAnnotations()
	if a == nil {
		a = make(map[string]string, 1)
	}
	a[AccessAnnotation] = AccessFingerprint(u.Status.Access)
	u.SetAnnotations(a)
	u.Status.Access = nil
}
