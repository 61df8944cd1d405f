package planner

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/cascade"
)

// ScopeVerdict is the verdict on a RoleBinding's scope, which decides for all of its
// subjects at once: an invalid scope grants nothing to anyone.
type ScopeVerdict struct {
	// Agency is the resolved agency (the scope's, or the environment's).
	Agency string
	// Environment is the scope's environment at environment scope (zero at agency
	// scope).
	Environment types.NamespacedName
	// Reason is empty when the scope is valid, else a reason of api/v1alpha1.
	Reason string
	// Message explains Reason for people.
	Message string
}

// Valid reports whether the binding's scope resolves and is allowed.
func (v ScopeVerdict) Valid() bool { return v.Reason == "" }

// EnvironmentScoped reports whether the binding applies to one environment.
func (v ScopeVerdict) EnvironmentScoped() bool { return v.Environment.Name != "" }

// EvaluateScope resolves the binding's scope: at environment scope the Environment
// must exist in the binding's namespace and be valid in its agency (ResolveEnvironment);
// at agency scope the Agency must exist and have the binding's namespace as its
// homeNamespace. A binding that is being deleted is treated as invalid by the callers,
// not here.
func EvaluateScope(b *iamv1.RoleBinding, s Snapshot) ScopeVerdict {
	if envName := b.Spec.Scope.Environment; envName != "" {
		key := types.NamespacedName{Namespace: b.Namespace, Name: envName}
		res := resolveEnvironmentKey(key, s)
		if !res.Valid() {
			return ScopeVerdict{Environment: key, Reason: res.Reason, Message: res.Message}
		}
		return ScopeVerdict{Agency: res.Agency, Environment: key}
	}
	name := b.Spec.Scope.Agency
	a, ok := s.agency(name)
	if !ok {
		return ScopeVerdict{Reason: iamv1.ReasonAgencyNotFound, Message: s.agencyGone(name)}
	}
	if a.Spec.HomeNamespace != b.Namespace {
		return ScopeVerdict{
			Reason: iamv1.ReasonScopeNotAllowed,
			Message: fmt.Sprintf("agency-scoped RoleBindings of Agency %q must live in its homeNamespace %q, not %q",
				name, a.Spec.HomeNamespace, b.Namespace),
		}
	}
	if why := HomeNamespaceTaken(a, s); why != "" {
		return ScopeVerdict{Reason: iamv1.ReasonHomeNamespaceTaken, Message: why}
	}
	return ScopeVerdict{Agency: name}
}

// SubjectVerdict says what a binding gives one subject.
type SubjectVerdict struct {
	// Status is the subject's entry in the binding's status.
	Status iamv1.SubjectStatus
	// Contributes is true when the binding adds a grant to the subject's grant set:
	// Roles (possibly empty at environment scope, where that blocks the roles
	// inherited from the agency).
	Contributes bool
	// Roles are the roles that apply to the subject, in spec order.
	Roles []cascade.Role
}

// EvaluateSubject decides what binding b (whose scope verdict is scope) gives the
// StudioUser name. An Agent-type user keeps only Agent and Operator; the binding says
// which roles do not apply. At environment scope the binding still overrides the
// agency's roles even when none of its roles apply, exactly as internal/cascade does.
func EvaluateSubject(b *iamv1.RoleBinding, scope ScopeVerdict, name string, s Snapshot) SubjectVerdict {
	st := iamv1.SubjectStatus{Name: name}
	if !scope.Valid() {
		st.Reason, st.Message = scope.Reason, scope.Message
		return SubjectVerdict{Status: st}
	}
	u, ok := s.user(name)
	if !ok {
		st.Reason, st.Message = iamv1.ReasonUserNotFound, fmt.Sprintf("StudioUser %q does not exist", name)
		return SubjectVerdict{Status: st}
	}
	roles := make([]cascade.Role, 0, len(b.Spec.Roles))
	var dropped []string
	for _, r := range b.Spec.Roles {
		cr := CascadeRole(r)
		if u.Spec.Type == iamv1.UserTypeAgent && !cr.AgentRole() {
			dropped = append(dropped, string(r))
			continue
		}
		roles = append(roles, cr)
	}
	contributes := len(roles) > 0 || scope.EnvironmentScoped()
	st.Applied = len(roles) > 0 || len(b.Spec.Roles) == 0
	if len(dropped) > 0 {
		st.Reason = iamv1.ReasonRolesNotAllowedForAgent
		st.Message = fmt.Sprintf("%s %s not apply to Agent-type users; only Agent and Operator do",
			strings.Join(dropped, ", "), plural(len(dropped), "does", "do"))
		if !st.Applied && contributes {
			st.Message += "; the binding still overrides the roles inherited from the agency in this environment"
		}
	}
	return SubjectVerdict{Status: st, Contributes: contributes, Roles: roles}
}

// UnrecordedUserReason is the reason u is Stalled when that means the Studio holds no
// record of it as this operator's (another user has its email, or another instance
// manages the record), else "". A binding's roles then apply to it in the cluster
// only, and its status must not claim them.
func UnrecordedUserReason(u *iamv1.StudioUser) string {
	c := meta.FindStatusCondition(u.Status.Conditions, iamv1.ConditionStalled)
	if c == nil || c.Status != metav1.ConditionTrue {
		return ""
	}
	switch c.Reason {
	case iamv1.ReasonEmailInUse, iamv1.ReasonManagedByOther:
		return c.Reason
	}
	return ""
}

// BindingVerdict is the whole verdict on a RoleBinding, for its status.
type BindingVerdict struct {
	Scope    ScopeVerdict
	Subjects []iamv1.SubjectStatus
}

// EvaluateBinding evaluates the scope and every subject of b, subjects sorted by name.
func EvaluateBinding(b *iamv1.RoleBinding, s Snapshot) BindingVerdict {
	scope := EvaluateScope(b, s)
	subjects := make([]iamv1.SubjectStatus, 0, len(b.Spec.Subjects))
	for _, sub := range b.Spec.Subjects {
		st := EvaluateSubject(b, scope, sub.Name, s).Status
		if u, ok := s.user(sub.Name); ok && st.Applied {
			if reason := UnrecordedUserReason(u); reason != "" {
				st.Applied = false
				st.Reason = iamv1.ReasonUserNotRecorded
				st.Message = fmt.Sprintf("StudioUser %q is Stalled (%s): the Studio has no record of it, so it holds none of these roles", sub.Name, reason)
			}
		}
		subjects = append(subjects, st)
	}
	slices.SortFunc(subjects, func(a, b iamv1.SubjectStatus) int { return strings.Compare(a.Name, b.Name) })
	return BindingVerdict{Scope: scope, Subjects: subjects}
}

// Problem returns why the binding does not fully apply, or "" when it applies to every
// subject as written. With several problems it names the first (scope before
// subjects, subjects by name) and counts the rest.
func (v BindingVerdict) Problem() (reason, message string) {
	if !v.Scope.Valid() {
		return v.Scope.Reason, v.Scope.Message
	}
	var firstReason, firstMessage string
	n := 0
	for _, s := range v.Subjects {
		if s.Reason == "" {
			continue
		}
		if n == 0 {
			firstReason, firstMessage = s.Reason, s.Message
		}
		n++
	}
	if n > 1 {
		firstMessage = fmt.Sprintf("%s (and %d more %s)", firstMessage, n-1, plural(n-1, "subject", "subjects"))
	}
	return firstReason, firstMessage
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
