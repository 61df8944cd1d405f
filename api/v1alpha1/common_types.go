package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DeletionPolicy says what happens to the Studio record when the Kubernetes object is
// deleted.
// +kubebuilder:validation:Enum=Orphan;Delete
type DeletionPolicy string

const (
	// DeletionPolicyOrphan leaves the record in the Studio untouched.
	DeletionPolicyOrphan DeletionPolicy = "Orphan"
	// DeletionPolicyDelete deletes (for users: removes, revoking all access) the record.
	DeletionPolicyDelete DeletionPolicy = "Delete"
)

// Role is a Studio role. Supervisor exists in the Studio but is not assignable; it is
// listed so that the refusal can say so clearly.
// +kubebuilder:validation:Enum=Agent;Operator;ContentManager;Analyst;Developer;Producer;Planner;EnvironmentManager;OrganisationManager;Administrator;Supervisor
type Role string

// The Studio roles. See internal/cascade for what each one gives.
const (
	RoleAgent               Role = "Agent"
	RoleOperator            Role = "Operator"
	RoleContentManager      Role = "ContentManager"
	RoleAnalyst             Role = "Analyst"
	RoleDeveloper           Role = "Developer"
	RoleProducer            Role = "Producer"
	RolePlanner             Role = "Planner"
	RoleEnvironmentManager  Role = "EnvironmentManager"
	RoleOrganisationManager Role = "OrganisationManager"
	RoleAdministrator       Role = "Administrator"
	RoleSupervisor          Role = "Supervisor"
)

// LocalObjectReference names an object of a known kind.
type LocalObjectReference struct {
	// name of the referenced object.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}

// CommonStatus is embedded in the status of every kind: kstatus-compatible conditions
// and the generation they describe.
type CommonStatus struct {
	// observedGeneration is the metadata.generation that the status describes; -1 until
	// the operator has looked at the object.
	// +optional
	// +kubebuilder:default=-1
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready (summary, always present), Reconciling (work under way) and
	// Stalled (cannot progress without a change), following kstatus.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`
}
