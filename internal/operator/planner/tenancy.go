package planner

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// EnvironmentResolution is the verdict on an Environment's place in its agency.
type EnvironmentResolution struct {
	// Agency is the resolved agency's name; empty unless Reason is empty.
	Agency string
	// Reason is empty when the environment is valid, else AgencyNotFound or
	// NamespaceNotAllowed (api/v1alpha1 reasons).
	Reason string
	// Message explains Reason for people.
	Message string
}

// Valid reports whether the environment may carry roles.
func (r EnvironmentResolution) Valid() bool { return r.Reason == "" }

// ResolveEnvironment checks that the environment's agency exists and allows the
// environment's namespace (spec.environmentNamespaces). It reads the agency and, for
// Selector agencies, the namespace's labels from s.
func ResolveEnvironment(env *iamv1.Environment, s Snapshot) EnvironmentResolution {
	name := env.Spec.AgencyRef.Name
	a, ok := s.agency(name)
	if !ok {
		return EnvironmentResolution{
			Reason:  iamv1.ReasonAgencyNotFound,
			Message: s.agencyGone(name),
		}
	}
	if holder := HomeNamespaceHolder(a, s); holder != a.Name {
		return EnvironmentResolution{Reason: iamv1.ReasonHomeNamespaceTaken, Message: homeTakenMessage(a, holder)}
	}
	nsLabels, nsExists := s.NamespaceLabels[env.Namespace]
	if allowed, why := NamespaceAllowed(a, env.Namespace, nsLabels, nsExists); !allowed {
		return EnvironmentResolution{Reason: iamv1.ReasonNamespaceNotAllowed, Message: why}
	}
	return EnvironmentResolution{Agency: name}
}

// resolveEnvironmentKey is ResolveEnvironment for an environment named by key; a
// missing environment is EnvironmentNotFound.
func resolveEnvironmentKey(key types.NamespacedName, s Snapshot) EnvironmentResolution {
	env, ok := s.environment(key)
	if !ok {
		return EnvironmentResolution{
			Reason:  iamv1.ReasonEnvironmentNotFound,
			Message: fmt.Sprintf("Environment %q does not exist in namespace %q", key.Name, key.Namespace),
		}
	}
	return ResolveEnvironment(env, s)
}

// NamespaceAllowed reports whether agency a lets Environments in namespace ns attach
// to it, and if not, why. nsLabels and nsExists describe the namespace; they only
// matter for from: Selector, where the homeNamespace is always allowed and any other
// namespace must exist and match the selector.
func NamespaceAllowed(a *iamv1.Agency, ns string, nsLabels map[string]string, nsExists bool) (bool, string) {
	if ns == a.Spec.HomeNamespace {
		return true, ""
	}
	from := iamv1.NamespacesSame
	var selector *metav1.LabelSelector
	if en := a.Spec.EnvironmentNamespaces; en != nil {
		from, selector = en.From, en.Selector
	}
	switch from {
	case iamv1.NamespacesAll:
		return true, ""
	case iamv1.NamespacesSelector:
		sel, err := metav1.LabelSelectorAsSelector(selector)
		if err != nil {
			return false, fmt.Sprintf("Agency %q has an invalid environmentNamespaces.selector: %v", a.Name, err)
		}
		if nsExists && sel.Matches(labels.Set(nsLabels)) {
			return true, ""
		}
		return false, fmt.Sprintf("namespace %q does not match the environmentNamespaces.selector of Agency %q", ns, a.Name)
	default:
		return false, fmt.Sprintf("Agency %q only allows Environments in its homeNamespace %q", a.Name, a.Spec.HomeNamespace)
	}
}

// HomeNamespaceHolder is the Agency whose home a's homeNamespace is: of the live
// agencies in s that name it, the one created first (by name when created in the same
// second). A namespace is the home of one agency only; otherwise the admins of one,
// who write RoleBindings there, could grant agency-wide roles on the other. s must
// hold every agency naming that homeNamespace.
func HomeNamespaceHolder(a *iamv1.Agency, s Snapshot) string {
	holder := a
	for _, other := range s.Agencies {
		if other == nil || !other.DeletionTimestamp.IsZero() || other.Spec.HomeNamespace != a.Spec.HomeNamespace {
			continue
		}
		if earlier(other, holder) {
			holder = other
		}
	}
	return holder.Name
}

func earlier(a, b *iamv1.Agency) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return a.Name < b.Name
}

func homeTakenMessage(a *iamv1.Agency, holder string) string {
	return fmt.Sprintf("homeNamespace %q is the home of Agency %q, created first; Agency %q grants nothing until it has a namespace of its own",
		a.Spec.HomeNamespace, holder, a.Name)
}

// HomeNamespaceTaken says why agency a may not use its homeNamespace, or "".
func HomeNamespaceTaken(a *iamv1.Agency, s Snapshot) string {
	if holder := HomeNamespaceHolder(a, s); holder != a.Name {
		return homeTakenMessage(a, holder)
	}
	return ""
}
