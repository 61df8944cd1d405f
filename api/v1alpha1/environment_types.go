package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// EnvironmentSpec is the desired state of an Environment.
type EnvironmentSpec struct {
	// agencyRef names the Agency this environment belongs to. It cannot be changed:
	// moving an environment to another agency is a delete and a create.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="agencyRef is immutable"
	AgencyRef LocalObjectReference `json:"agencyRef"`

	// displayName is the environment's (bot's) name as people see it in the Studio.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	DisplayName string `json:"displayName,omitempty"`

	// deletionPolicy says what deleting this object does in the Studio: Orphan (the
	// default) keeps the environment; Delete deletes it.
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`
}

// EnvironmentStatus is the observed state of an Environment.
type EnvironmentStatus struct {
	CommonStatus `json:",inline"`

	// studioKey is the environment's key in the Studio user store: <namespace>.<name>.
	// +optional
	StudioKey string `json:"studioKey,omitempty"`

	// agency is the resolved agency's name, once it exists and allows this namespace.
	// +optional
	Agency string `json:"agency,omitempty"`
}

// Environment is one bot/workspace of an Agency; roles apply per environment.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=senv,categories=studio
// The Studio keys an environment "<namespace>.<name>", at most 253 characters; with a
// namespace of up to 63, a name of up to 189 always fits.
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 189",message="metadata.name must be at most 189 characters: the Studio keys an environment <namespace>.<name>, at most 253 characters"
// +kubebuilder:printcolumn:name="Agency",type=string,JSONPath=`.spec.agencyRef.name`
// +kubebuilder:printcolumn:name="Display Name",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Environment struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec EnvironmentSpec `json:"spec"`
	// +optional
	// +kubebuilder:default={}
	Status EnvironmentStatus `json:"status,omitempty"`
}

// EnvironmentList contains a list of Environment.
// +kubebuilder:object:root=true
type EnvironmentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Environment `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Environment{}, &EnvironmentList{})
}
