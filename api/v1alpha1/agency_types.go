package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NamespaceSelection says which namespaces may attach Environments to an Agency.
// +kubebuilder:validation:Enum=Same;All;Selector
type NamespaceSelection string

const (
	// NamespacesSame allows only the agency's homeNamespace.
	NamespacesSame NamespaceSelection = "Same"
	// NamespacesAll allows every namespace.
	NamespacesAll NamespaceSelection = "All"
	// NamespacesSelector allows the namespaces matched by a label selector.
	NamespacesSelector NamespaceSelection = "Selector"
)

// EnvironmentNamespaces says which namespaces may hold Environments of an Agency.
// +kubebuilder:validation:XValidation:rule="self.from != 'Selector' || has(self.selector)",message="selector is required when from is Selector",fieldPath=".selector"
// +kubebuilder:validation:XValidation:rule="self.from == 'Selector' || !has(self.selector)",message="selector is only allowed when from is Selector",fieldPath=".selector"
type EnvironmentNamespaces struct {
	// from selects the namespaces: Same (only homeNamespace; the default), All, or
	// Selector (namespaces matching selector, plus homeNamespace).
	// +required
	From NamespaceSelection `json:"from"`

	// selector matches namespace labels when from is Selector.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
}

// ManagementPolicy says whether the operator writes to the Studio for an Agency.
// +kubebuilder:validation:Enum=Full;Observe
type ManagementPolicy string

const (
	// ManagementFull: the operator makes the Studio match the manifests.
	ManagementFull ManagementPolicy = "Full"
	// ManagementObserve: the operator reads the Studio and reports what it would
	// change (status.plan), writing nothing: no record, grant, invitation, mail or
	// Secret. The step before taking over an existing Studio.
	ManagementObserve ManagementPolicy = "Observe"
)

// AgencySpec is the desired state of an Agency.
type AgencySpec struct {
	// displayName is the agency's name as people see it in the Studio.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	DisplayName string `json:"displayName,omitempty"`

	// homeNamespace is the namespace that holds the agency's agency-scoped RoleBindings
	// (and, unless environmentNamespaces says more, its Environments). RoleBindings that
	// grant agency-wide roles anywhere else are not applied.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	HomeNamespace string `json:"homeNamespace"`

	// environmentNamespaces says which namespaces may attach Environments to this
	// agency. Unset means Same: the homeNamespace only.
	// +optional
	EnvironmentNamespaces *EnvironmentNamespaces `json:"environmentNamespaces,omitempty"`

	// deletionPolicy says what deleting this object does in the Studio: Orphan (the
	// default) keeps the agency; Delete deletes it once its Environments are gone.
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// managementPolicy is Full (the default: the operator makes the Studio match the
	// manifests) or Observe: for this agency, its Environments, the grants of every
	// user on them and the profiles of users whose only access is here, the operator
	// reads the Studio and writes nothing; each StudioUser reports status.plan (what
	// Full would change) and the Agency the totals. Switching to Full applies exactly
	// that plan.
	// +optional
	// +kubebuilder:default=Full
	ManagementPolicy ManagementPolicy `json:"managementPolicy,omitempty"`

	// revocationGuard limits how many users may lose all their access in this agency
	// within the operator's --revocation-window (default 10m); further revocations are
	// held until approved (annotation iam.studio-operator.io/approve-revocations). Unset
	// means maxPercent 20, minUsers 5.
	// +optional
	RevocationGuard *RevocationGuard `json:"revocationGuard,omitempty"`
}

// RevocationGuard is the mass-revocation limit of an Agency: within the revocation
// window at most max(minUsers, maxPercent% of the agency's users with access) users
// lose all their access in it; beyond that revocations are held.
type RevocationGuard struct {
	// maxPercent of the agency's users with access that may lose it all within the
	// window; 100 turns the guard off (the last OrganisationManager or Administrator is
	// still never removed by the operator alone). Default 20.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	MaxPercent *int32 `json:"maxPercent,omitempty"`
	// minUsers may always lose their access within the window, however small the
	// agency. Default 5.
	// +optional
	// +kubebuilder:validation:Minimum=0
	MinUsers *int32 `json:"minUsers,omitempty"`
}

// HeldRevocations summarises the revocations the guard holds in an agency.
type HeldRevocations struct {
	// users is how many users keep access that their manifests no longer give them.
	Users int32 `json:"users"`
	// planHash identifies exactly this set of held revocations ("sha256:…"); set it as
	// the annotation iam.studio-operator.io/approve-revocations to let it through.
	PlanHash string `json:"planHash"`
}

// AnnotationApproveRevocations on an Agency, set to status.heldRevocations.planHash,
// lets exactly those held revocations through; a different plan ignores it.
const AnnotationApproveRevocations = "iam.studio-operator.io/approve-revocations"

// AgencyPlan totals what switching an Agency under Observe to Full would change.
type AgencyPlan struct {
	// usersToCreate have no record in the Studio yet.
	UsersToCreate int32 `json:"usersToCreate"`
	// recordsToAdopt are Studio users no operator manages yet that a StudioUser names.
	RecordsToAdopt int32 `json:"recordsToAdopt"`
	// usersToUpdate would have their profile changed or roles added.
	UsersToUpdate int32 `json:"usersToUpdate"`
	// usersToRevoke would lose roles in this agency.
	UsersToRevoke int32 `json:"usersToRevoke"`
	// invitationsToSend is how many invitation emails Full would send.
	InvitationsToSend int32 `json:"invitationsToSend"`
	// environmentsToRecord are Environments the Studio has not recorded as wanted.
	EnvironmentsToRecord int32 `json:"environmentsToRecord"`
	// planHash identifies exactly this plan ("sha256:…"), so that a review can name
	// the plan it approved; it changes whenever a change is added or dropped.
	PlanHash string `json:"planHash"`
}

// MaxUnmanagedKeys is how many unmanaged users an Agency's status names.
const MaxUnmanagedKeys = 50

// UnmanagedUsers are the Studio users with access in an agency that no StudioUser
// names. The operator never changes them; kubectl studio unmanaged -o yaml writes
// manifests that reproduce their access, for adopting them.
type UnmanagedUsers struct {
	// count of such users.
	Count int32 `json:"count"`
	// keys of the first 50 of them (the Studio's user keys), sorted.
	// +optional
	// +listType=atomic
	Keys []string `json:"keys,omitempty"`
}

// AgencyStatus is the observed state of an Agency.
type AgencyStatus struct {
	CommonStatus `json:",inline"`

	// studioKey is the agency's key in the Studio user store.
	// +optional
	StudioKey string `json:"studioKey,omitempty"`

	// environments is the number of Environments attached to this agency.
	// +optional
	Environments int32 `json:"environments,omitempty"`

	// heldRevocations is set while the revocation guard holds revocations in this
	// agency (condition RevocationHeld).
	// +optional
	HeldRevocations *HeldRevocations `json:"heldRevocations,omitempty"`

	// plan totals what Full would change; set while managementPolicy is Observe.
	// +optional
	Plan *AgencyPlan `json:"plan,omitempty"`

	// unmanagedUsers are the Studio users with access in this agency that no
	// StudioUser names (under either policy).
	// +optional
	UnmanagedUsers *UnmanagedUsers `json:"unmanagedUsers,omitempty"`
}

// Agency is a Studio customer account (an "organisation") that owns Environments.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=sag,categories=studio
// +kubebuilder:printcolumn:name="Display Name",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="Home",type=string,JSONPath=`.spec.homeNamespace`
// +kubebuilder:printcolumn:name="Environments",type=integer,JSONPath=`.status.environments`
// +kubebuilder:printcolumn:name="Policy",type=string,JSONPath=`.spec.managementPolicy`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Agency struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec AgencySpec `json:"spec"`
	// +optional
	// +kubebuilder:default={}
	Status AgencyStatus `json:"status,omitempty"`
}

// AgencyList contains a list of Agency.
// +kubebuilder:object:root=true
type AgencyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Agency `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Agency{}, &AgencyList{})
}
