package scale

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// OrgShape is the organisation one size of the benchmark creates. It is kept apart
// from Config so that the generator is a pure function that unit tests can count.
type OrgShape struct {
	// Users is the number of StudioUsers.
	Users int
	// Agencies is the number of Agencies, each with its own homeNamespace.
	Agencies int
	// EnvsPerAgency is the number of Environments per agency, in its homeNamespace.
	EnvsPerAgency int
	// EnvBindingsPerUser is how many environment-scoped RoleBindings each user gets,
	// each with that user as its only subject.
	EnvBindingsPerUser int
	// AgencySubjects is how many users one agency-scoped RoleBinding names.
	AgencySubjects int
	// FanoutSubjects is how many users the first agency binding of the first agency
	// names instead of AgencySubjects (capped at Users); the fan-out phase edits it.
	FanoutSubjects int
}

// Org is a generated organisation: the objects to create, in creation order
// (namespaces first, then agencies, environments, users and bindings, so that
// dependencies usually exist before the objects that need them).
type Org struct {
	Shape      OrgShape
	Namespaces []*corev1.Namespace
	Agencies   []*iamv1.Agency
	Envs       []*iamv1.Environment
	Users      []*iamv1.StudioUser
	// EnvBindings are the environment-scoped bindings, AgencyBindings the
	// agency-scoped ones; AgencyBindings[0] is the fan-out binding.
	EnvBindings    []*iamv1.RoleBinding
	AgencyBindings []*iamv1.RoleBinding
}

// OrgCounts is how many objects of each kind an organisation has.
type OrgCounts struct {
	Namespaces     int `json:"namespaces"`
	Agencies       int `json:"agencies"`
	Environments   int `json:"environments"`
	Users          int `json:"users"`
	EnvBindings    int `json:"envBindings"`
	AgencyBindings int `json:"agencyBindings"`
	// FanoutSubjects is the number of subjects of the fan-out binding.
	FanoutSubjects int `json:"fanoutSubjects"`
}

// Tracked is the number of objects of the four Studio kinds: what convergence waits
// for (namespaces are not counted).
func (c OrgCounts) Tracked() int {
	return c.Agencies + c.Environments + c.Users + c.EnvBindings + c.AgencyBindings
}

// perKind is the expected count per tracked kind (the names of studioKinds).
func (c OrgCounts) perKind() map[string]int {
	return map[string]int{
		"agency": c.Agencies, "environment": c.Environments, "studiouser": c.Users,
		"rolebinding": c.EnvBindings + c.AgencyBindings,
	}
}

// Names of the generated objects: short, valid DNS labels, zero-padded so that they
// sort in creation order.
func agencyName(i int) string { return fmt.Sprintf("ag-%d", i+1) }
func envName(i int) string    { return fmt.Sprintf("env-%03d", i+1) }
func userName(i int) string   { return fmt.Sprintf("u-%05d", i+1) }

// UserEmail is the address of user name; example.com subdomains never deliver.
func UserEmail(name string) string { return name + "@bench.example.com" }

// envRoles alternates the roles of a user's environment bindings, so that
// environment scopes carry different roles than the agency's [Analyst].
var envRoles = [][]iamv1.Role{{iamv1.RoleOperator}, {iamv1.RoleAnalyst}}

// FanoutAgency is the agency of the fan-out binding, FanoutRole the role the fan-out
// phase adds to it.
const (
	FanoutAgency = "ag-1"
	FanoutRole   = iamv1.RolePlanner
)

// NewOrg generates the organisation. Users are covered by agency bindings exactly
// once: the fan-out binding (ag-1) names the first min(Users, FanoutSubjects) users,
// and the remaining users are named AgencySubjects at a time by further bindings,
// spread round-robin over the agencies starting with the second one. Environment
// bindings spread round-robin over all environments, so every environment gets
// about the same number.
func NewOrg(s OrgShape) (*Org, error) {
	if s.Users < 1 || s.Agencies < 1 || s.EnvsPerAgency < 1 || s.EnvBindingsPerUser < 0 || s.AgencySubjects < 1 || s.FanoutSubjects < 1 {
		return nil, fmt.Errorf("organisation shape %+v: every count must be positive (env bindings per user may be 0)", s)
	}
	if s.AgencySubjects > 1000 || s.FanoutSubjects > 1000 {
		return nil, fmt.Errorf("a RoleBinding names at most 1000 subjects (agency-subjects %d, fanout-subjects %d)", s.AgencySubjects, s.FanoutSubjects)
	}
	o := &Org{Shape: s}
	for a := range s.Agencies {
		name := agencyName(a)
		o.Namespaces = append(o.Namespaces, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
		o.Agencies = append(o.Agencies, &iamv1.Agency{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       iamv1.AgencySpec{DisplayName: fmt.Sprintf("Agency %d", a+1), HomeNamespace: name},
		})
	}
	totalEnvs := s.Agencies * s.EnvsPerAgency
	for e := range totalEnvs {
		ag := agencyName(e / s.EnvsPerAgency)
		o.Envs = append(o.Envs, &iamv1.Environment{
			ObjectMeta: metav1.ObjectMeta{Name: envName(e), Namespace: ag},
			Spec: iamv1.EnvironmentSpec{
				AgencyRef:   iamv1.LocalObjectReference{Name: ag},
				DisplayName: fmt.Sprintf("Environment %d", e+1),
			},
		})
	}
	for u := range s.Users {
		name := userName(u)
		o.Users = append(o.Users, &iamv1.StudioUser{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       iamv1.StudioUserSpec{Email: UserEmail(name), DisplayName: fmt.Sprintf("User %d", u+1)},
		})
	}
	for u := range s.Users {
		for j := range s.EnvBindingsPerUser {
			env := o.Envs[(u*s.EnvBindingsPerUser+j)%totalEnvs]
			o.EnvBindings = append(o.EnvBindings, &iamv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-e%d", userName(u), j), Namespace: env.Namespace},
				Spec: iamv1.RoleBindingSpec{
					Scope:    iamv1.BindingScope{Environment: env.Name},
					Subjects: []iamv1.Subject{{Name: userName(u)}},
					Roles:    append([]iamv1.Role(nil), envRoles[j%len(envRoles)]...),
				},
			})
		}
	}
	fanout := min(s.Users, s.FanoutSubjects)
	o.AgencyBindings = append(o.AgencyBindings, agencyBinding(0, 0, 0, fanout))
	for i, first := 1, fanout; first < s.Users; i, first = i+1, first+s.AgencySubjects {
		o.AgencyBindings = append(o.AgencyBindings, agencyBinding(i, i%s.Agencies, first, min(s.Users, first+s.AgencySubjects)))
	}
	return o, nil
}

// agencyBinding is agency binding number i of agency index a, naming users
// [from, to).
func agencyBinding(i, a, from, to int) *iamv1.RoleBinding {
	ag := agencyName(a)
	subjects := make([]iamv1.Subject, 0, to-from)
	for u := from; u < to; u++ {
		subjects = append(subjects, iamv1.Subject{Name: userName(u)})
	}
	return &iamv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ab-%03d", i+1), Namespace: ag},
		Spec: iamv1.RoleBindingSpec{
			Scope:    iamv1.BindingScope{Agency: ag},
			Subjects: subjects,
			Roles:    []iamv1.Role{iamv1.RoleAnalyst},
		},
	}
}

// Counts counts the organisation's objects.
func (o *Org) Counts() OrgCounts {
	c := OrgCounts{
		Namespaces:     len(o.Namespaces),
		Agencies:       len(o.Agencies),
		Environments:   len(o.Envs),
		Users:          len(o.Users),
		EnvBindings:    len(o.EnvBindings),
		AgencyBindings: len(o.AgencyBindings),
	}
	if len(o.AgencyBindings) > 0 {
		c.FanoutSubjects = len(o.AgencyBindings[0].Spec.Subjects)
	}
	return c
}

// FanoutBinding is the binding the fan-out phase edits.
func (o *Org) FanoutBinding() *iamv1.RoleBinding { return o.AgencyBindings[0] }

// Objects returns the Studio objects (not the namespaces) in creation order.
func (o *Org) Objects() []client.Object {
	out := make([]client.Object, 0, o.Counts().Tracked())
	for _, x := range o.Agencies {
		out = append(out, x)
	}
	for _, x := range o.Envs {
		out = append(out, x)
	}
	for _, x := range o.Users {
		out = append(out, x)
	}
	for _, x := range o.EnvBindings {
		out = append(out, x)
	}
	for _, x := range o.AgencyBindings {
		out = append(out, x)
	}
	return out
}
