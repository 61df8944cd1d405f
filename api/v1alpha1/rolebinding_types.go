package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BindingScope is where a RoleBinding's roles apply: exactly one of environment or
// agency.
// +kubebuilder:validation:XValidation:rule="has(self.environment) != has(self.agency)",message="exactly one of scope.environment or scope.agency must be set"
type BindingScope struct {
	// environment names an Environment in this RoleBinding's namespace; the roles
	// apply to it and overwrite roles inherited from the agency.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Environment string `json:"environment,omitempty"`

	// agency names an Agency whose homeNamespace is this RoleBinding's namespace; the
	// roles ripple down to every environment of the agency unless overwritten there.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Agency string `json:"agency,omitempty"`
}

// Subject names a StudioUser.
type Subject struct {
	// name of the StudioUser.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}

// RoleBindingSpec is the desired state of a RoleBinding.
// +kubebuilder:validation:XValidation:rule="!has(self.scope.agency) || size(self.roles) > 0",message="roles must not be empty at agency scope (an empty list only blocks inherited roles at environment scope)",fieldPath=".roles"
// +kubebuilder:validation:XValidation:rule="!has(self.scope.environment) || !self.roles.exists(r, r == 'OrganisationManager')",message="OrganisationManager can only be granted at agency scope",fieldPath=".roles"
type RoleBindingSpec struct {
	// scope is where the roles apply: exactly one of environment or agency.
	// +required
	Scope BindingScope `json:"scope"`

	// subjects are the StudioUsers that get the roles.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=1000
	// +listType=map
	// +listMapKey=name
	Subjects []Subject `json:"subjects"`

	// roles to grant, each at most once. At environment scope an empty list blocks the
	// roles the subjects would inherit from the agency. Supervisor is not assignable.
	// +required
	// +listType=set
	// +kubebuilder:validation:MaxItems=11
	// +kubebuilder:validation:XValidation:rule="!self.exists(r, r == 'Supervisor')",message="Supervisor exists in the Studio but is not assignable"
	Roles []Role `json:"roles"`
}

// SubjectStatus says whether the binding applies to one subject.
type SubjectStatus struct {
	// name of the StudioUser.
	Name string `json:"name"`
	// applied is true when the roles apply to this subject.
	Applied bool `json:"applied"`
	// reason is a CamelCase reason when the roles do not (all) apply.
	// +optional
	Reason string `json:"reason,omitempty"`
	// message explains reason.
	// +optional
	Message string `json:"message,omitempty"`
}

// RoleBindingStatus is the observed state of a RoleBinding.
type RoleBindingStatus struct {
	CommonStatus `json:",inline"`

	// agency is the resolved agency the roles belong to.
	// +optional
	Agency string `json:"agency,omitempty"`
	// environment is the resolved environment (<namespace>/<name>) at environment scope.
	// +optional
	Environment string `json:"environment,omitempty"`
	// subjects reports, per subject, whether the binding applies.
	// +optional
	// +listType=map
	// +listMapKey=name
	Subjects []SubjectStatus `json:"subjects,omitempty"`
}

// RoleBinding grants Studio roles to StudioUsers in one Environment or across an Agency.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=srb,categories=studio
// +kubebuilder:printcolumn:name="Environment",type=string,JSONPath=`.spec.scope.environment`
// +kubebuilder:printcolumn:name="Agency",type=string,JSONPath=`.spec.scope.agency`
// +kubebuilder:printcolumn:name="Roles",type=string,JSONPath=`.spec.roles`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type RoleBinding struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec RoleBindingSpec `json:"spec"`
	// +optional
	// +kubebuilder:default={}
	Status RoleBindingStatus `json:"status,omitempty"`
}

// RoleBindingList contains a list of RoleBinding.
// +kubebuilder:object:root=true
type RoleBindingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []RoleBinding `json:"items"`
}

func init() {
	SchemeBuilder.Register(&RoleBinding{}, &RoleBindingList{})
}
