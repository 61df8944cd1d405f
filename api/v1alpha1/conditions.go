package v1alpha1

// Condition types, following kstatus: Ready is the summary and always present;
// Reconciling is True while work is under way; Stalled is True when the object cannot
// progress without a change.
const (
	ConditionReady       = "Ready"
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
	// ConditionRevocationHeld is True on an Agency while the revocation guard holds
	// revocations in it (status.heldRevocations says how many, and their plan hash).
	ConditionRevocationHeld = "RevocationHeld"
	// ConditionPlanned is True while some of the object is under an Agency with
	// managementPolicy Observe: status.plan says what Full would change, and nothing
	// is written.
	ConditionPlanned = "Planned"
	// ConditionInvitationExpired is True on a StudioUser whose latest invitation
	// expired without being accepted (and is not being renewed).
	ConditionInvitationExpired = "InvitationExpired"
	// ConditionInvitationUndeliverable is True on a StudioUser whose latest
	// invitation email the Studio gave up delivering; the message has the mail
	// server's reply class, never the address.
	ConditionInvitationUndeliverable = "InvitationUndeliverable"
)

// Condition reasons. They are part of the API: tools and alerts match on them.
const (
	// ReasonSucceeded: the object is reconciled into the Studio.
	ReasonSucceeded = "Succeeded"
	// ReasonProgressing: the operator is working on the object.
	ReasonProgressing = "Progressing"
	// ReasonDeleting: the object is being deleted.
	ReasonDeleting = "Deleting"

	// ReasonAgencyNotFound: the referenced Agency does not exist (yet).
	ReasonAgencyNotFound = "AgencyNotFound"
	// ReasonEnvironmentNotFound: the referenced Environment does not exist (yet).
	ReasonEnvironmentNotFound = "EnvironmentNotFound"
	// ReasonUserNotFound: a subject names a StudioUser that does not exist (yet).
	ReasonUserNotFound = "UserNotFound"
	// ReasonUserNotRecorded: a subject's StudioUser is Stalled without a record of
	// its own in the Studio (EmailInUse, ManagedByOther), so the Studio holds none of
	// the grants the binding gives it.
	ReasonUserNotRecorded = "UserNotRecorded"
	// ReasonNamespaceNotAllowed: the Environment's namespace is not one its Agency
	// allows (spec.environmentNamespaces).
	ReasonNamespaceNotAllowed = "NamespaceNotAllowed"
	// ReasonHomeNamespaceTaken: another Agency, created earlier, has the same
	// homeNamespace; a namespace is the home of one agency only, so this one grants
	// nothing until one of them moves.
	ReasonHomeNamespaceTaken = "HomeNamespaceTaken"
	// ReasonHomeNamespaceNotFound: the Agency's homeNamespace does not exist.
	ReasonHomeNamespaceNotFound = "HomeNamespaceNotFound"
	// ReasonScopeNotAllowed: an agency-scoped RoleBinding outside the agency's
	// homeNamespace.
	ReasonScopeNotAllowed = "ScopeNotAllowed"
	// ReasonRolesNotAllowedForAgent: an Agent-type user is given roles other than Agent
	// or Operator; those roles do not apply.
	ReasonRolesNotAllowedForAgent = "RolesNotAllowedForAgent"
	// ReasonEnvironmentNotReady: the scope's Environment exists but is not Ready.
	ReasonEnvironmentNotReady = "EnvironmentNotReady"
	// ReasonAgencyNotReady: the Agency exists but is not Ready.
	ReasonAgencyNotReady = "AgencyNotReady"

	// ReasonStoreUnavailable: the Studio user store could not be reached or failed;
	// the operator retries with backoff.
	ReasonStoreUnavailable = "StoreUnavailable"
	// ReasonKubernetesAPIError: the API server refused or failed a read or write of
	// the operator (e.g. the invitation Secret); retried with backoff.
	ReasonKubernetesAPIError = "KubernetesAPIError"
	// ReasonStoreRejected: the store refused the request as invalid.
	ReasonStoreRejected = "StoreRejected"
	// ReasonEmailInUse: another Studio user already has this email.
	ReasonEmailInUse = "EmailInUse"
	// ReasonManagedByOther: the Studio record is managed by another operator instance.
	ReasonManagedByOther = "ManagedByOther"
	// ReasonDependentsExist: deletion waits for dependent objects to go first.
	ReasonDependentsExist = "DependentsExist"
	// ReasonRevocationHeld: the revocation guard holds a revocation: more users would
	// lose all their access in an agency within the revocation window than its
	// revocationGuard allows, the last OrganisationManager or Administrator would go, or
	// the operator's own CRDs are being deleted. The access stays until approved.
	ReasonRevocationHeld = "RevocationHeld"
	// ReasonObserveOnly: the object is under an Agency with managementPolicy Observe;
	// nothing is written to the Studio.
	ReasonObserveOnly = "ObserveOnly"
	// ReasonInvitationExpired: the invitation expired without being accepted.
	ReasonInvitationExpired = "InvitationExpired"
	// ReasonRenewalsExhausted: it expired after spec.invitation.autoRenew's last renewal.
	ReasonRenewalsExhausted = "RenewalsExhausted"
	// ReasonUndeliverable: the Studio gave up delivering the invitation email.
	ReasonUndeliverable = "Undeliverable"
	// ReasonSuspended: the user is suspended; it has no access.
	ReasonSuspended = "Suspended"
)
