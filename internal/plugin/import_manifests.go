package plugin

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

const (
	// importedPrefix starts the name of every RoleBinding unmanaged -o yaml writes.
	importedPrefix = "imported-"
	// maxSubjects is how many subjects a RoleBinding may have (its CRD's MaxItems);
	// larger groups are split into bindings suffixed -2, -3, ...
	maxSubjects = 1000
	// maxObjectName is the longest name a StudioUser or RoleBinding may have.
	maxObjectName = validation.DNS1123SubdomainMaxLength
)

// ImportSource is one Studio user no StudioUser names, with its whole grant set.
type ImportSource struct {
	User   store.User
	Grants []store.Grant
}

// ImportCluster is what placing grants in RoleBindings needs from the cluster.
type ImportCluster struct {
	// HomeNamespaces of the Agencies, by name: agency-scope bindings go there.
	HomeNamespaces map[string]string
	// Environments by store key (status.studioKey, else <namespace>.<name>).
	Environments map[string]types.NamespacedName
}

// ImportManifests are the objects that reproduce the users' access, sorted: users
// by name, bindings by namespace and name.
type ImportManifests struct {
	Users    []iamv1.StudioUser
	Bindings []iamv1.RoleBinding
	// Notes are comments to print above a user's StudioUser, by user name.
	Notes map[string][]string
	// Warnings say what could not be reproduced (those users are left out) and
	// what will not apply as the store has it, one line each, for stderr.
	Warnings []string
}

// bindingKey groups the users who hold the same roles at the same scope.
type bindingKey struct {
	namespace string
	// agency or environment (a name in namespace): the binding's scope.
	agency, environment string
	roles               string // sorted, comma-separated; "" is a block
}

// BuildImport makes the StudioUsers and RoleBindings that would give each source
// user exactly its grant set once applied: one StudioUser per user and one RoleBinding
// per (scope, roles) held by some of them. Because the operator manages the whole
// grant set of every user a StudioUser names, a user with a grant the manifests
// cannot express (an agency or environment the cluster does not have, or roles no
// RoleBinding may hold) is left out entirely, with a warning: applying it would make
// the operator revoke that grant.
//
// Each StudioUser has invitation.send false: these people exist in the Studio
// already, so adopting them must not send an email (for an Invited user, a new
// invitation would also invalidate the link it has). A note says so above Invited
// users, with how to let the operator invite them again.
func BuildImport(sources []ImportSource, cl ImportCluster) ImportManifests {
	out := ImportManifests{Notes: map[string][]string{}}
	sources = slices.Clone(sources)
	slices.SortFunc(sources, func(a, b ImportSource) int { return cmp.Compare(a.User.Key, b.User.Key) })
	groups := map[bindingKey][]string{}
	for _, src := range sources {
		u := src.User
		if errs := validation.IsDNS1123Subdomain(u.Key); len(errs) > 0 {
			out.Warnings = append(out.Warnings, fmt.Sprintf("Studio user %q is left out: its key is not a valid StudioUser name (%s)", u.Key, strings.Join(errs, "; ")))
			continue
		}
		keys, problems, notes := placeGrants(u, src.Grants, cl)
		if len(problems) > 0 {
			for _, p := range problems {
				out.Warnings = append(out.Warnings, fmt.Sprintf("user %s is left out: %s; a StudioUser for it would make the operator revoke that grant", u.Key, p))
			}
			continue
		}
		out.Warnings = append(out.Warnings, notes...)
		for _, k := range keys {
			groups[k] = append(groups[k], u.Key)
		}
		out.Users = append(out.Users, importedUser(u))
		if n := userNotes(u); len(n) > 0 {
			out.Notes[u.Key] = n
		}
	}
	for k, subjects := range groups {
		out.Bindings = append(out.Bindings, importedBindings(k, subjects)...)
	}
	slices.SortFunc(out.Bindings, func(a, b iamv1.RoleBinding) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// placeGrants finds where each of u's grants goes. problems are the grants no
// RoleBinding can reproduce; notes what will not apply as in the store either way.
func placeGrants(u store.User, grants []store.Grant, cl ImportCluster) (keys []bindingKey, problems, notes []string) {
	for _, g := range grants {
		roles := slices.Sorted(slices.Values(g.Roles))
		kind, where := cascade.ScopeAgency, fmt.Sprintf("agency %q", g.Scope.Agency)
		if g.Scope.Environment != "" {
			kind, where = cascade.ScopeEnvironment, fmt.Sprintf("environment %q (store key)", g.Scope.Environment)
		}
		what := fmt.Sprintf("its grant at %s (%s)", where, rolesOrBlock(roles))
		if err := cascade.ValidateRoles(kind, roles); err != nil {
			problems = append(problems, fmt.Sprintf("%s breaks a RoleBinding rule: %v", what, err))
			continue
		}
		k := bindingKey{roles: joinRoles(roles)}
		if kind == cascade.ScopeAgency {
			ns, ok := cl.HomeNamespaces[g.Scope.Agency]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s has no Agency %q in the cluster", what, g.Scope.Agency))
				continue
			}
			k.namespace, k.agency = ns, g.Scope.Agency
		} else {
			env, ok := cl.Environments[g.Scope.Environment]
			if !ok {
				problems = append(problems, what+" has no Environment with that studioKey in the cluster")
				continue
			}
			k.namespace, k.environment = env.Namespace, env.Name
		}
		keys = append(keys, k)
		if u.Type == cascade.UserTypeAgent {
			var off []string
			for _, r := range roles {
				if !r.AgentRole() {
					off = append(off, string(r))
				}
			}
			if len(off) > 0 {
				notes = append(notes, fmt.Sprintf("user %s is an Agent: roles %s at %s never apply to it; the RoleBinding will say so (RolesNotAllowedForAgent)", u.Key, strings.Join(off, ","), where))
			}
		}
	}
	return keys, problems, notes
}

// rolesOrBlock names a grant's roles for people.
func rolesOrBlock(roles []cascade.Role) string {
	if len(roles) == 0 {
		return "no roles: a block of the agency's roles"
	}
	return "roles " + joinRoles(roles)
}

func joinRoles(roles []cascade.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

// importedUser is the StudioUser that names u as the Studio has it.
func importedUser(u store.User) iamv1.StudioUser {
	return iamv1.StudioUser{
		TypeMeta:   metav1.TypeMeta{APIVersion: iamv1.GroupVersion.String(), Kind: "StudioUser"},
		ObjectMeta: metav1.ObjectMeta{Name: u.Key},
		Spec: iamv1.StudioUserSpec{
			Email:       u.Email,
			DisplayName: u.DisplayName,
			Type:        iamv1.UserType(u.Type),
			Locale:      u.Locale,
			Suspended:   u.Suspended,
			Invitation:  iamv1.Invitation{Send: ptr.To(false)},
		},
	}
}

// userNotes are the comments above u's StudioUser.
func userNotes(u store.User) []string {
	var notes []string
	if u.State == store.UserInvited {
		notes = append(notes,
			u.Key+" is Invited in the Studio: it has not signed in yet. invitation.send is false so that",
			"applying this sends no email and leaves a pending invitation working; remove it to have",
			"the operator send a new invitation (a new link: the previous one stops working).")
	}
	if u.ManagedBy != "" {
		notes = append(notes, fmt.Sprintf("The Studio records %s as managed by operator instance %q: only that instance can adopt it.", u.Key, u.ManagedBy))
	}
	return notes
}

// importedBindings are the RoleBindings for one group, split at maxSubjects.
func importedBindings(k bindingKey, subjects []string) []iamv1.RoleBinding {
	slices.Sort(subjects)
	roles := []iamv1.Role{} // never nil: an empty list is a block, and roles is required
	if k.roles != "" {
		for _, r := range strings.Split(k.roles, ",") {
			roles = append(roles, iamv1.Role(r))
		}
	}
	name := bindingName(k)
	var out []iamv1.RoleBinding
	for i := 0; i < len(subjects); i += maxSubjects {
		chunk := subjects[i:min(i+maxSubjects, len(subjects))]
		rb := iamv1.RoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: iamv1.GroupVersion.String(), Kind: "RoleBinding"},
			ObjectMeta: metav1.ObjectMeta{Namespace: k.namespace, Name: name},
			Spec: iamv1.RoleBindingSpec{
				Scope: iamv1.BindingScope{Agency: k.agency, Environment: k.environment},
				Roles: slices.Clone(roles),
			},
		}
		if i > 0 {
			rb.Name += "-" + strconv.Itoa(i/maxSubjects+1)
		}
		for _, s := range chunk {
			rb.Spec.Subjects = append(rb.Spec.Subjects, iamv1.Subject{Name: s})
		}
		out = append(out, rb)
	}
	return out
}

// bindingName is imported-<agency or environment>-<hash>: deterministic, and
// different for every scope and role set in a namespace (the hash covers the scope's
// kind, so an agency and an environment of the same name do not collide). A long
// scope name is cut so that the name, with a -N split suffix, stays valid.
func bindingName(k bindingKey) string {
	scope, kind := k.agency, "agency"
	if k.environment != "" {
		scope, kind = k.environment, "environment"
	}
	sum := sha256.Sum256([]byte(kind + "/" + scope + "\n" + k.roles))
	hash := hex.EncodeToString(sum[:4])
	room := maxObjectName - len(importedPrefix) - len(hash) - 1 - len("-1000")
	if len(scope) > room {
		scope = strings.TrimRight(scope[:room], "-.")
	}
	return importedPrefix + scope + "-" + hash
}
