package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// UserType distinguishes ordinary users from agents.
// +kubebuilder:validation:Enum=User;Agent
type UserType string

const (
	// UserTypeUser is an ordinary Studio user.
	UserTypeUser UserType = "User"
	// UserTypeAgent is invited only to answer incoming messages: only the Agent and
	// Operator roles apply to it.
	UserTypeAgent UserType = "Agent"
)

// Invitation says whether and when the operator invites the user.
type Invitation struct {
	// send: invite the user by email once it has at least one role. Unset means true;
	// set false for users who sign in through SSO.
	// +optional
	Send *bool `json:"send,omitempty"`

	// resend: increase this number to send the invitation again (a new link; the old one
	// stops working). The operator records the value it acted on in
	// status.invitation.resendObserved. It can only increase: lowering it or removing
	// it is refused.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Resend int32 `json:"resend,omitempty"`

	// autoRenew re-sends an invitation that expired without being accepted, up to
	// maxRenewals times (counted in status.invitation.renewals). Unset means never.
	// +optional
	AutoRenew *AutoRenew `json:"autoRenew,omitempty"`
}

// AutoRenew limits the automatic re-sends of an expired invitation.
type AutoRenew struct {
	// maxRenewals is how many times an expired, never accepted invitation is sent
	// again on its own; 0 (the default) turns renewal off.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	MaxRenewals int32 `json:"maxRenewals,omitempty"`
}

// StudioUserSpec is the desired state of a StudioUser.
// spec.invitation.resend counts requests to send again, so it never goes down: a lower
// value (a revert, or leaving the field out) would otherwise make every later bump
// below the old value send nothing.
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.invitation) || !has(oldSelf.invitation.resend) || (has(self.invitation) && has(self.invitation.resend) && self.invitation.resend >= oldSelf.invitation.resend)",message="invitation.resend can only increase: it counts the requests to send the invitation again; to send again, set it above its current value",fieldPath=".invitation.resend"
type StudioUserSpec struct {
	// email identifies the person; invitations are sent to it. It is a bare address
	// such as alice@example.com (no display name). It cannot be changed: a different
	// address is a different user.
	// +required
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=254
	// +kubebuilder:validation:Format=email
	// +kubebuilder:validation:XValidation:rule=`!self.matches('[\\s<>()\\[\\],;:"]')`,message="email must be a bare address such as alice@example.com, without a display name, comment or quotes"
	// +kubebuilder:validation:XValidation:rule=`self.matches('^[^@]+@[^@]+\\.[^@.]+$')`,message="email must have a dotted domain such as example.com (the Studio refuses addresses like alice@localhost)"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="email is immutable"
	Email string `json:"email"`

	// displayName is the person's name as shown in the Studio.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	DisplayName string `json:"displayName,omitempty"`

	// type is User (the default) or Agent: a user invited only to answer incoming
	// messages, to whom only the Agent and Operator roles apply.
	// +optional
	// +kubebuilder:default=User
	Type UserType `json:"type,omitempty"`

	// locale is the user's language for the Studio and its invitation email, as a
	// BCP 47 tag such as en, nl or en-GB.
	// +optional
	// +kubebuilder:validation:MaxLength=35
	// +kubebuilder:validation:Pattern=`^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$`
	Locale string `json:"locale,omitempty"`

	// invitation controls the invitation email.
	// +optional
	Invitation Invitation `json:"invitation,omitempty"`

	// suspended revokes all of the user's access while keeping the user; set it back to
	// false to restore the access its RoleBindings give.
	// +optional
	Suspended bool `json:"suspended,omitempty"`

	// deletionPolicy says what deleting this object does in the Studio: Delete (the
	// default) removes the user, revoking all access and withdrawing a pending
	// invitation; Orphan leaves the user and its access as they are.
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`
}

// UserState is the user's state in the Studio. Invited means created in the Studio and
// not signed in yet — whether an invitation exists is status.invitation.state (NotSent
// for an SSO user or a user with no role yet), shown next to it as INVITATION.
// +kubebuilder:validation:Enum=Invited;Active;Suspended;Removed
type UserState string

const (
	UserStateInvited   UserState = "Invited"
	UserStateActive    UserState = "Active"
	UserStateSuspended UserState = "Suspended"
	UserStateRemoved   UserState = "Removed"
)

// InvitationState is the state of the user's latest invitation.
// +kubebuilder:validation:Enum=NotSent;Pending;Accepted;Expired;Withdrawn
type InvitationState string

const (
	InvitationNotSent   InvitationState = "NotSent"
	InvitationPending   InvitationState = "Pending"
	InvitationAccepted  InvitationState = "Accepted"
	InvitationExpired   InvitationState = "Expired"
	InvitationWithdrawn InvitationState = "Withdrawn"
)

// SecretReference names a Secret.
type SecretReference struct {
	// name of the Secret.
	Name string `json:"name"`
	// namespace of the Secret.
	Namespace string `json:"namespace"`
}

// InvitationStatus is the observed state of the user's invitation. The link itself is
// only in the Secret named by linkSecretRef.
type InvitationStatus struct {
	// state of the latest invitation.
	// +optional
	State InvitationState `json:"state,omitempty"`
	// sentAt is when the latest invitation was sent.
	// +optional
	SentAt *metav1.Time `json:"sentAt,omitempty"`
	// expiresAt is when the latest invitation link stops working.
	// +optional
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`
	// sendCount is how many invitations were sent to the user.
	// +optional
	SendCount int32 `json:"sendCount,omitempty"`
	// resendObserved is the spec.invitation.resend value last acted on.
	// +optional
	ResendObserved int32 `json:"resendObserved,omitempty"`
	// renewals is how many times the operator re-sent an expired invitation on its
	// own (spec.invitation.autoRenew) since the last requested send.
	// +optional
	Renewals int32 `json:"renewals,omitempty"`
	// linkSecretRef names the Secret that holds the invitation link (key "link"), so it
	// can be copied and sent through another channel.
	// +optional
	LinkSecretRef *SecretReference `json:"linkSecretRef,omitempty"`
}

// AccessSource says where effective roles come from.
// +kubebuilder:validation:Enum=Agency;Environment
type AccessSource string

const (
	// AccessSourceAgency: the roles ripple down from agency-scoped RoleBindings.
	AccessSourceAgency AccessSource = "Agency"
	// AccessSourceEnvironment: environment-scoped RoleBindings overwrite the agency's.
	AccessSourceEnvironment AccessSource = "Environment"
)

// EnvironmentAccess is the user's effective access to one environment.
type EnvironmentAccess struct {
	// environment is <namespace>/<name> of the Environment.
	Environment string `json:"environment"`
	// agency is the environment's Agency.
	Agency string `json:"agency"`
	// roles are the effective roles, sorted.
	Roles []Role `json:"roles"`
	// source says whether the roles come from the Agency or the Environment.
	Source AccessSource `json:"source"`
	// bindings are the RoleBindings (<namespace>/<name>) that give these roles.
	// +optional
	Bindings []string `json:"bindings,omitempty"`
}

// PlannedRecord is what Full would do with the user's record in the Studio.
// +kubebuilder:validation:Enum=Create;Adopt;Update
type PlannedRecord string

const (
	// PlannedCreate: the Studio has no such user.
	PlannedCreate PlannedRecord = "Create"
	// PlannedAdopt: the Studio has the user, managed by no operator.
	PlannedAdopt PlannedRecord = "Adopt"
	// PlannedUpdate: the Studio's profile differs from the spec.
	PlannedUpdate PlannedRecord = "Update"
)

// FieldChange is one profile field Full would change.
type FieldChange struct {
	// field is the spec field: email, displayName, type, locale or suspended.
	Field string `json:"field"`
	// from is the Studio's value (empty when the user is created).
	// +optional
	From string `json:"from,omitempty"`
	// to is the spec's value.
	// +optional
	To string `json:"to,omitempty"`
}

// GrantChange is the change Full would make to the user's roles at one scope: an
// agency (all its environments) or one environment.
type GrantChange struct {
	// agency is the scope's agency (for an environment scope, the environment's).
	Agency string `json:"agency"`
	// environment is <namespace>/<name> of an environment scope; empty for agency scope.
	// +optional
	Environment string `json:"environment,omitempty"`
	// add are the roles Full would grant there, sorted.
	// +optional
	// +listType=atomic
	Add []Role `json:"add,omitempty"`
	// remove are the roles Full would revoke there, sorted.
	// +optional
	// +listType=atomic
	Remove []Role `json:"remove,omitempty"`
	// block is set when Full would write an environment grant with no roles, which
	// stops the agency's roles from rippling down to that environment.
	// +optional
	Block bool `json:"block,omitempty"`
	// unblock is set when Full would delete such a grant, letting the agency's roles
	// ripple down to the environment again.
	// +optional
	Unblock bool `json:"unblock,omitempty"`
}

// PlannedChanges is what Full would change for a user whose access is in agencies under
// Observe: deterministic and sorted, so that an unchanged plan is an unchanged status.
type PlannedChanges struct {
	// agencies under Observe this plan covers, sorted.
	// +listType=atomic
	Agencies []string `json:"agencies"`
	// record is Create, Adopt or Update when Full would write the user's record;
	// empty when the record is as wanted or not this plan's to write (the user also
	// has access in an agency under Full).
	// +optional
	Record PlannedRecord `json:"record,omitempty"`
	// profile lists the fields Full would change, sorted by field.
	// +optional
	// +listType=atomic
	Profile []FieldChange `json:"profile,omitempty"`
	// grants lists the role changes, sorted by agency then environment.
	// +optional
	// +listType=atomic
	Grants []GrantChange `json:"grants,omitempty"`
	// invitation is true when Full would send an invitation email.
	// +optional
	Invitation bool `json:"invitation,omitempty"`
}

// StudioUserStatus is the observed state of a StudioUser.
type StudioUserStatus struct {
	CommonStatus `json:",inline"`

	// studioID is the user's key in the Studio user store.
	// +optional
	StudioID string `json:"studioID,omitempty"`
	// state is the user's state in the Studio.
	// +optional
	State UserState `json:"state,omitempty"`
	// createdAt is when the Studio created the user.
	// +optional
	CreatedAt *metav1.Time `json:"createdAt,omitempty"`
	// lastActiveAt is when the user was last active in the Studio.
	// +optional
	LastActiveAt *metav1.Time `json:"lastActiveAt,omitempty"`
	// invitation is the state of the user's invitation.
	// +optional
	Invitation *InvitationStatus `json:"invitation,omitempty"`
	// access is the user's effective access per environment, sorted by environment.
	// +optional
	// +listType=atomic
	Access []EnvironmentAccess `json:"access,omitempty"`
	// environments is the number of environments the user can access (0 until the
	// operator has looked, so that the overview never shows a blank).
	// +optional
	// +kubebuilder:default=0
	Environments int32 `json:"environments"`
	// plan is what Full would change, while some of the user's access is in an
	// agency under Observe (condition Planned).
	// +optional
	Plan *PlannedChanges `json:"plan,omitempty"`
}

// StudioUser is a person with access to the Studio, identified by email.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=su,categories=studio
// +kubebuilder:printcolumn:name="Email",type=string,JSONPath=`.spec.email`
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`
// +kubebuilder:printcolumn:name="Environments",type=integer,JSONPath=`.status.environments`
// +kubebuilder:printcolumn:name="Last Active",type=date,JSONPath=`.status.lastActiveAt`
// +kubebuilder:printcolumn:name="Created",type=date,JSONPath=`.status.createdAt`
// +kubebuilder:printcolumn:name="Invitation",type=string,JSONPath=`.status.invitation.state`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type StudioUser struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec StudioUserSpec `json:"spec"`
	// +optional
	// +kubebuilder:default={}
	Status StudioUserStatus `json:"status,omitempty"`
}

// StudioUserList contains a list of StudioUser.
// +kubebuilder:object:root=true
type StudioUserList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []StudioUser `json:"items"`
}

func init() {
	SchemeBuilder.Register(&StudioUser{}, &StudioUserList{})
}
