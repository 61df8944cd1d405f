package v1alpha1_test

import (
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/studio-operator/studio-operator/api/v1alpha1"
)

var organisationFile = filepath.Join("testdata", "organisation.yaml")

// applyOrganisation creates testdata/organisation.yaml and removes it after the
// enclosing container.
func applyOrganisation() []*unstructured.Unstructured {
	GinkgoHelper()
	objs := readManifests(organisationFile)
	for _, o := range objs {
		Expect(create(o)).To(Succeed(), "%s %s/%s", o.GetKind(), o.GetNamespace(), o.GetName())
	}
	return objs
}

var _ = Describe("A realistic organisation", Ordered, func() {
	var objs []*unstructured.Unstructured
	BeforeAll(func() { objs = applyOrganisation() })

	It("is accepted in full: two agencies, environments in three namespaces, users and bindings", func() {
		kinds := map[string]int{}
		for _, o := range objs {
			kinds[o.GetKind()]++
		}
		Expect(kinds).To(Equal(map[string]int{"Agency": 2, "Environment": 4, "StudioUser": 3, "RoleBinding": 3}))
	})

	It("defaults status.observedGeneration to -1 on every kind", func() {
		for _, o := range objs {
			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(o.GroupVersionKind())
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(o), got)).To(Succeed())
			og, found, err := unstructured.NestedInt64(got.Object, "status", "observedGeneration")
			Expect(err).NotTo(HaveOccurred())
			Expect(found).To(BeTrue(), "%s %s has no status.observedGeneration", o.GetKind(), o.GetName())
			Expect(og).To(Equal(int64(-1)), "%s %s", o.GetKind(), o.GetName())
		}
	})

	It("keeps spec defaults minimal: only type is defaulted", func() {
		alice := &v1alpha1.StudioUser{}
		Expect(k8s.Get(ctx, types.NamespacedName{Name: "alice"}, alice)).To(Succeed())
		Expect(alice.Spec.Type).To(Equal(v1alpha1.UserTypeUser))
		Expect(alice.Spec.Invitation.Send).To(BeNil(), "unset means true; defaulting it would show in GitOps diffs")
		Expect(alice.Spec.DeletionPolicy).To(BeEmpty())
		Expect(alice.Status.ObservedGeneration).To(Equal(int64(-1)))

		bob := &v1alpha1.StudioUser{}
		Expect(k8s.Get(ctx, types.NamespacedName{Name: "bob"}, bob)).To(Succeed())
		Expect(bob.Spec.Type).To(Equal(v1alpha1.UserTypeAgent))
		Expect(bob.Spec.Invitation.Send).To(HaveValue(BeFalse()))

		acme := &v1alpha1.Agency{}
		Expect(k8s.Get(ctx, types.NamespacedName{Name: "acme"}, acme)).To(Succeed())
		Expect(acme.Spec.EnvironmentNamespaces.Selector.MatchLabels).To(HaveKeyWithValue("studio-operator.io/agency", "acme"))
		globex := &v1alpha1.Agency{}
		Expect(k8s.Get(ctx, types.NamespacedName{Name: "globex"}, globex)).To(Succeed())
		Expect(globex.Spec.EnvironmentNamespaces).To(BeNil())
		Expect(globex.Spec.DeletionPolicy).To(BeEmpty())
	})

	It("keeps an empty role list at environment scope (a block)", func() {
		rb := &v1alpha1.RoleBinding{}
		Expect(k8s.Get(ctx, types.NamespacedName{Namespace: "team-b", Name: "web-block"}, rb)).To(Succeed())
		Expect(rb.Spec.Roles).NotTo(BeNil())
		Expect(rb.Spec.Roles).To(BeEmpty())
		Expect(rb.Spec.Scope.Environment).To(Equal("web"))
	})

	It("lets the status subresource write observedGeneration and conditions", func() {
		env := &v1alpha1.Environment{}
		Expect(k8s.Get(ctx, types.NamespacedName{Namespace: "team-a", Name: "prod"}, env)).To(Succeed())
		env.Status.ObservedGeneration = env.Generation
		env.Status.Conditions = []metav1.Condition{{
			Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonSucceeded,
			Message: "reconciled", ObservedGeneration: env.Generation, LastTransitionTime: metav1.Now(),
		}}
		Expect(k8s.Status().Update(ctx, env)).To(Succeed())

		got := &v1alpha1.Environment{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(env), got)).To(Succeed())
		Expect(got.Status.ObservedGeneration).To(Equal(env.Generation))
		Expect(got.Status.Conditions).To(HaveLen(1))
	})
})

var _ = Describe("Typed Go clients", func() {
	It("can create a block binding with an empty, non-nil role list", func() {
		rb := &v1alpha1.RoleBinding{}
		rb.Name, rb.Namespace = "typed-block", "team-a"
		rb.Spec.Scope.Environment = "prod"
		rb.Spec.Subjects = []v1alpha1.Subject{{Name: "alice"}}
		rb.Spec.Roles = []v1alpha1.Role{}
		Expect(create(rb)).To(Succeed())
		Expect(rb.Status.ObservedGeneration).To(Equal(int64(-1)), "the create response carries the defaulted status")
	})

	It("gets spec.roles named when it sends a nil role list (null): a block needs an empty slice", func() {
		rb := &v1alpha1.RoleBinding{}
		rb.Name, rb.Namespace = "typed-nil", "team-a"
		rb.Spec.Scope.Environment = "prod"
		rb.Spec.Subjects = []v1alpha1.Subject{{Name: "alice"}}
		expectRefused(create(rb), "spec.roles", "Required value")
	})
})

var _ = Describe("Admission refuses invalid objects with a message naming the field", func() {
	DescribeTable("on create",
		func(text, field, why string) {
			expectRefused(create(manifest(text)), field, why)
		},

		// StudioUser
		Entry("invalid email", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: StudioUser
metadata: {name: bad-email}
spec: {email: not-an-email}`, "spec.email", "email"),
		Entry("environment name longer than its Studio key allows", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: Environment
metadata: {name: `+strings.Repeat("e", 190)+`, namespace: team-a}
spec: {agencyRef: {name: acme}}`, "metadata.name", "at most 189 characters"),
		Entry("email without a dotted domain", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: StudioUser
metadata: {name: bad-email}
spec: {email: alice@localhost}`, "spec.email", "dotted domain"),
		Entry("email with a display name", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: StudioUser
metadata: {name: bad-email}
spec: {email: "Alice <alice@example.com>"}`, "spec.email", "bare address"),
		Entry("email with a comment", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: StudioUser
metadata: {name: bad-email}
spec: {email: "alice@example.com(Alice)"}`, "spec.email", "bare address"),
		Entry("email with a quoted local part", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: StudioUser
metadata: {name: bad-email}
spec: {email: '"alice"@example.com'}`, "spec.email", "bare address"),
		Entry("missing email", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: StudioUser
metadata: {name: no-email}
spec: {displayName: Nobody}`, "spec.email", "Required value"),
		Entry("unknown user type", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: StudioUser
metadata: {name: bad-type}
spec: {email: x@example.com, type: Robot}`, "spec.type", `Unsupported value: "Robot"`),
		Entry("invalid locale", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: StudioUser
metadata: {name: bad-locale}
spec: {email: x@example.com, locale: "english please"}`, "spec.locale", "should match"),
		Entry("negative resend", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: StudioUser
metadata: {name: bad-resend}
spec: {email: x@example.com, invitation: {resend: -1}}`, "spec.invitation.resend", "greater than or equal to 0"),
		Entry("unknown deletionPolicy", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: StudioUser
metadata: {name: bad-policy}
spec: {email: x@example.com, deletionPolicy: Forget}`, "spec.deletionPolicy", `Unsupported value: "Forget"`),

		// Agency
		Entry("bad homeNamespace", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: Agency
metadata: {name: bad-home}
spec: {homeNamespace: Team_A}`, "spec.homeNamespace", "should match"),
		Entry("missing homeNamespace", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: Agency
metadata: {name: no-home}
spec: {displayName: Homeless}`, "spec.homeNamespace", "Required value"),
		Entry("selector required for from=Selector", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: Agency
metadata: {name: no-selector}
spec: {homeNamespace: team-a, environmentNamespaces: {from: Selector}}`, "spec.environmentNamespaces.selector", "selector is required when from is Selector"),
		Entry("selector not allowed for from=All", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: Agency
metadata: {name: stray-selector}
spec: {homeNamespace: team-a, environmentNamespaces: {from: All, selector: {matchLabels: {a: b}}}}`, "spec.environmentNamespaces.selector", "selector is only allowed when from is Selector"),
		Entry("unknown environmentNamespaces.from", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: Agency
metadata: {name: bad-from}
spec: {homeNamespace: team-a, environmentNamespaces: {from: Some}}`, "spec.environmentNamespaces.from", `Unsupported value: "Some"`),

		// Environment
		Entry("missing agencyRef", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: Environment
metadata: {name: orphan, namespace: team-a}
spec: {displayName: Orphan}`, "spec.agencyRef", "Required value"),
		Entry("invalid agencyRef.name", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: Environment
metadata: {name: bad-ref, namespace: team-a}
spec: {agencyRef: {name: ACME}}`, "spec.agencyRef.name", "should match"),

		// RoleBinding
		Entry("unknown role", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: RoleBinding
metadata: {name: bad-role, namespace: team-a}
spec: {scope: {environment: prod}, subjects: [{name: alice}], roles: [Analyst, Janitor]}`, "spec.roles[1]", `Unsupported value: "Janitor"`),
		Entry("Supervisor", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: RoleBinding
metadata: {name: supervisor, namespace: team-a}
spec: {scope: {environment: prod}, subjects: [{name: alice}], roles: [Supervisor]}`, "spec.roles", "Supervisor exists in the Studio but is not assignable"),
		Entry("duplicate roles", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: RoleBinding
metadata: {name: dup-roles, namespace: team-a}
spec: {scope: {agency: acme}, subjects: [{name: alice}], roles: [Agent, Analyst, Agent]}`, "spec.roles[2]", `Duplicate value: "Agent"`),
		Entry("both scopes", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: RoleBinding
metadata: {name: both-scopes, namespace: team-a}
spec: {scope: {agency: acme, environment: prod}, subjects: [{name: alice}], roles: [Analyst]}`, "spec.scope", "exactly one of scope.environment or scope.agency"),
		Entry("neither scope", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: RoleBinding
metadata: {name: no-scope, namespace: team-a}
spec: {scope: {}, subjects: [{name: alice}], roles: [Analyst]}`, "spec.scope", "exactly one of scope.environment or scope.agency"),
		Entry("missing scope", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: RoleBinding
metadata: {name: missing-scope, namespace: team-a}
spec: {subjects: [{name: alice}], roles: [Analyst]}`, "spec.scope", "Required value"),
		Entry("OrganisationManager at environment scope", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: RoleBinding
metadata: {name: env-orgman, namespace: team-a}
spec: {scope: {environment: prod}, subjects: [{name: alice}], roles: [Analyst, OrganisationManager]}`, "spec.roles", "OrganisationManager can only be granted at agency scope"),
		Entry("empty subjects", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: RoleBinding
metadata: {name: no-subjects, namespace: team-a}
spec: {scope: {environment: prod}, subjects: [], roles: [Analyst]}`, "spec.subjects", "should have at least 1 items"),
		Entry("missing subjects", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: RoleBinding
metadata: {name: missing-subjects, namespace: team-a}
spec: {scope: {environment: prod}, roles: [Analyst]}`, "spec.subjects", "Required value"),
		Entry("duplicate subjects", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: RoleBinding
metadata: {name: dup-subjects, namespace: team-a}
spec: {scope: {environment: prod}, subjects: [{name: alice}, {name: alice}], roles: [Analyst]}`, "spec.subjects[1]", "Duplicate value"),
		Entry("invalid subject name", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: RoleBinding
metadata: {name: bad-subject, namespace: team-a}
spec: {scope: {environment: prod}, subjects: [{name: Alice}], roles: [Analyst]}`, "spec.subjects[0].name", "should match"),
		Entry("empty roles at agency scope", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: RoleBinding
metadata: {name: agency-empty, namespace: team-a}
spec: {scope: {agency: acme}, subjects: [{name: alice}], roles: []}`, "spec.roles", "roles must not be empty at agency scope"),
		Entry("missing roles", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: RoleBinding
metadata: {name: missing-roles, namespace: team-a}
spec: {scope: {agency: acme}, subjects: [{name: alice}]}`, "spec.roles", "Required value"),
	)

	DescribeTable("on update",
		func(text string, change func(*unstructured.Unstructured), field, why string) {
			obj := manifest(text)
			Expect(create(obj)).To(Succeed())
			change(obj)
			expectRefused(k8s.Update(ctx, obj), field, why)
		},
		Entry("email changed", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: StudioUser
metadata: {name: dave}
spec: {email: dave@example.com}`, func(u *unstructured.Unstructured) {
			Expect(unstructured.SetNestedField(u.Object, "david@example.com", "spec", "email")).To(Succeed())
		}, "spec.email", "email is immutable"),
		Entry("agencyRef changed", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: Environment
metadata: {name: moving, namespace: team-a}
spec: {agencyRef: {name: acme}}`, func(u *unstructured.Unstructured) {
			Expect(unstructured.SetNestedField(u.Object, "globex", "spec", "agencyRef", "name")).To(Succeed())
		}, "spec.agencyRef", "agencyRef is immutable"),
		Entry("resend lowered (a revert of a bump)", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: StudioUser
metadata: {name: resend-lowered}
spec: {email: lowered@example.com, invitation: {resend: 3}}`, func(u *unstructured.Unstructured) {
			Expect(unstructured.SetNestedField(u.Object, int64(1), "spec", "invitation", "resend")).To(Succeed())
		}, "spec.invitation.resend", "invitation.resend can only increase"),
		Entry("resend removed", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: StudioUser
metadata: {name: resend-removed}
spec: {email: removed@example.com, invitation: {resend: 2}}`, func(u *unstructured.Unstructured) {
			unstructured.RemoveNestedField(u.Object, "spec", "invitation")
		}, "spec.invitation.resend", "invitation.resend can only increase"),
		Entry("roles emptied at agency scope", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: RoleBinding
metadata: {name: emptied, namespace: team-a}
spec: {scope: {agency: acme}, subjects: [{name: alice}], roles: [Analyst]}`, func(u *unstructured.Unstructured) {
			Expect(unstructured.SetNestedSlice(u.Object, []any{}, "spec", "roles")).To(Succeed())
		}, "spec.roles", "roles must not be empty at agency scope"),
	)

	DescribeTable("allows the updates people make",
		func(text string, change func(*unstructured.Unstructured)) {
			obj := manifest(text)
			Expect(create(obj)).To(Succeed())
			change(obj)
			Expect(k8s.Update(ctx, obj)).To(Succeed())
		},
		Entry("renaming and suspending a user, bumping resend", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: StudioUser
metadata: {name: erin}
spec: {email: erin@example.com}`, func(u *unstructured.Unstructured) {
			Expect(unstructured.SetNestedField(u.Object, "Erin E.", "spec", "displayName")).To(Succeed())
			Expect(unstructured.SetNestedField(u.Object, true, "spec", "suspended")).To(Succeed())
			Expect(unstructured.SetNestedField(u.Object, int64(1), "spec", "invitation", "resend")).To(Succeed())
		}),
		Entry("renaming an environment", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: Environment
metadata: {name: renamed, namespace: team-a}
spec: {agencyRef: {name: acme}}`, func(u *unstructured.Unstructured) {
			Expect(unstructured.SetNestedField(u.Object, "Renamed bot", "spec", "displayName")).To(Succeed())
		}),
		Entry("emptying roles at environment scope (block)", `
apiVersion: iam.studio-operator.io/v1alpha1
kind: RoleBinding
metadata: {name: blocked, namespace: team-a}
spec: {scope: {environment: prod}, subjects: [{name: alice}], roles: [Planner]}`, func(u *unstructured.Unstructured) {
			Expect(unstructured.SetNestedSlice(u.Object, []any{}, "spec", "roles")).To(Succeed())
		}),
	)
})
