package planner

import (
	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/cascade"
)

// The API's roles mirror the cascade's by name: api/v1alpha1 may import nothing of
// this module, so it cannot use cascade.Role itself. These are the one conversion
// between the two; TestRolesMirrorTheCascade keeps the two lists equal.

// CascadeRole is the cascade's role for the API role r.
func CascadeRole(r iamv1.Role) cascade.Role { return cascade.Role(r) }

// APIRole is the API role for the cascade's role r.
func APIRole(r cascade.Role) iamv1.Role { return iamv1.Role(r) }

// APIRoles converts roles to the API's; never nil (an empty list of roles is a
// block, and the API's roles fields are required).
func APIRoles(roles []cascade.Role) []iamv1.Role {
	out := make([]iamv1.Role, len(roles))
	for i, r := range roles {
		out[i] = APIRole(r)
	}
	return out
}

// CascadeRoles converts roles to the cascade's; never nil.
func CascadeRoles(roles []iamv1.Role) []cascade.Role {
	out := make([]cascade.Role, len(roles))
	for i, r := range roles {
		out[i] = CascadeRole(r)
	}
	return out
}
