package crash

import (
	"fmt"
	"math/rand/v2"
	"slices"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// The workload is a script generated from the seed against a model of the
// manifests, so that every step is valid when it is applied and the same seed gives
// the same script. Timing (and so what the kills interrupt) is not deterministic.

// opKind is what one step does.
type opKind int

const (
	opCreateUser opKind = iota
	opCreateBinding
	opSetRoles
	opSetSubjects
	opDeleteBinding
	opResend
	opSuspend
	opDeleteUser
	// opKillStore SIGKILLs the store shortly after the fan-out binding created by the
	// step before it, and starts it again on the same port and database.
	opKillStore
	numOpKinds
)

func (k opKind) String() string {
	return [...]string{"create user", "create binding", "edit roles", "edit subjects", "delete binding",
		"resend", "suspend/unsuspend", "delete user", "kill store"}[k]
}

// workloadAgencies are the agencies of the crash run, each with its home namespace
// holding its agency-scope bindings and two Environments.
var workloadAgencies = []string{"crash-a", "crash-b"}

var workloadEnvironments = []string{"env-1", "env-2"}

// workloadRoles are the roles the workload grants: every assignable role except
// OrganisationManager and Administrator, whose last holder the guard never lets go
// (a rule the scenarios cover, not this run).
var workloadRoles = []iamv1.Role{
	iamv1.RoleAgent, iamv1.RoleOperator, iamv1.RoleContentManager, iamv1.RoleAnalyst,
	iamv1.RoleDeveloper, iamv1.RoleProducer, iamv1.RolePlanner, iamv1.RoleEnvironmentManager,
}

// step is one change to the manifests.
type step struct {
	kind opKind
	user string
	// binding is the RoleBinding's namespace and name.
	ns, binding string
	// scope: agency name, or environment name when envScope.
	scope    string
	envScope bool
	subjects []string
	roles    []iamv1.Role
	resend   int32
	suspend  bool
}

// modelBinding is a RoleBinding as the script left it.
type modelBinding struct {
	ns, name, scope string
	envScope        bool
	subjects        []string
	roles           []iamv1.Role
}

// model is what the manifests are after the steps generated so far.
type model struct {
	users     []string // live, in creation order
	deleted   []string
	resend    map[string]int32
	suspended map[string]bool
	bindings  []*modelBinding
	nextUser  int
	nextRB    int
}

// userEmail is the address of a workload user: its name at a test domain. It is
// never printed.
func userEmail(name string) string { return name + "@" + emailDomain }

// emailDomain is the domain of every workload address.
const emailDomain = "crash.example.com"

// script is the generated workload and the model of its final manifests.
type script struct {
	steps []step
	final *model
}

// generateScript writes n steps (plus the store kills, storeKills of them, evenly
// spread) from seed.
func generateScript(seed uint64, n, storeKills int) script {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	m := &model{resend: map[string]int32{}, suspended: map[string]bool{}}
	var steps []step
	for range 6 {
		steps = append(steps, m.createUser())
	}
	var killAt []int // step counts after which the store is killed
	for i := 1; i <= storeKills; i++ {
		killAt = append(killAt, i*n/(storeKills+1))
	}
	for len(steps) < n || len(killAt) > 0 {
		if len(killAt) > 0 && len(steps) >= killAt[0] {
			steps = append(steps, m.fanOut(rng), step{kind: opKillStore})
			killAt = killAt[1:]
			continue
		}
		steps = append(steps, m.next(rng)...)
	}
	return script{steps: steps, final: m}
}

// next picks the next change by weight, falling back to creating a user or a
// binding when the chosen change has nothing to apply to.
func (m *model) next(rng *rand.Rand) []step {
	x := rng.IntN(100)
	switch {
	case x < 12 || len(m.users) < 3:
		return []step{m.createUser()}
	case x < 32 || len(m.bindings) == 0:
		return []step{m.createBinding(rng)}
	case x < 47:
		return []step{m.setRoles(rng)}
	case x < 62:
		return []step{m.setSubjects(rng)}
	case x < 67:
		return []step{m.deleteBinding(rng.IntN(len(m.bindings)))}
	case x < 79:
		u := m.users[rng.IntN(len(m.users))]
		m.resend[u]++
		return []step{{kind: opResend, user: u, resend: m.resend[u]}}
	case x < 88:
		u := m.users[rng.IntN(len(m.users))]
		m.suspended[u] = !m.suspended[u]
		return []step{{kind: opSuspend, user: u, suspend: m.suspended[u]}}
	default:
		return m.deleteUser(rng.IntN(len(m.users)))
	}
}

func (m *model) createUser() step {
	m.nextUser++
	name := fmt.Sprintf("u-%03d", m.nextUser)
	m.users = append(m.users, name)
	return step{kind: opCreateUser, user: name}
}

// pickUsers is 1..max distinct live users, in the model's order.
func (m *model) pickUsers(rng *rand.Rand, max int) []string {
	k := 1 + rng.IntN(min(max, len(m.users)))
	idx := rng.Perm(len(m.users))[:k]
	slices.Sort(idx)
	out := make([]string, k)
	for i, j := range idx {
		out[i] = m.users[j]
	}
	return out
}

// pickRoles is 1..3 roles (0..3 at environment scope, where none blocks the
// agency's roles), sorted.
func pickRoles(rng *rand.Rand, envScope bool) []iamv1.Role {
	k := 1 + rng.IntN(3)
	if envScope && rng.IntN(10) == 0 {
		k = 0
	}
	out := []iamv1.Role{}
	for _, j := range rng.Perm(len(workloadRoles))[:k] {
		out = append(out, workloadRoles[j])
	}
	slices.Sort(out)
	return out
}

func (m *model) newBinding(rng *rand.Rand, subjects []string) *modelBinding {
	m.nextRB++
	a := workloadAgencies[rng.IntN(len(workloadAgencies))]
	b := &modelBinding{ns: a, name: fmt.Sprintf("rb-%03d", m.nextRB), scope: a, subjects: subjects}
	if rng.IntN(2) == 0 {
		b.envScope, b.scope = true, workloadEnvironments[rng.IntN(len(workloadEnvironments))]
	}
	b.roles = pickRoles(rng, b.envScope)
	m.bindings = append(m.bindings, b)
	return b
}

func (m *model) createBinding(rng *rand.Rand) step {
	return m.bindingStep(opCreateBinding, m.newBinding(rng, m.pickUsers(rng, 4)))
}

// fanOut creates an agency-scope binding naming every live user: one change that
// makes the manager write many grant sets, the batch a store kill interrupts.
func (m *model) fanOut(rng *rand.Rand) step {
	b := m.newBinding(rng, slices.Clone(m.users))
	b.envScope, b.scope = false, b.ns
	if len(b.roles) == 0 {
		b.roles = []iamv1.Role{iamv1.RoleAnalyst}
	}
	return m.bindingStep(opCreateBinding, b)
}

func (m *model) bindingStep(kind opKind, b *modelBinding) step {
	return step{kind: kind, ns: b.ns, binding: b.name, scope: b.scope, envScope: b.envScope,
		subjects: slices.Clone(b.subjects), roles: slices.Clone(b.roles)}
}

func (m *model) setRoles(rng *rand.Rand) step {
	b := m.bindings[rng.IntN(len(m.bindings))]
	roles := slices.Clone(b.roles)
	r := workloadRoles[rng.IntN(len(workloadRoles))]
	switch i := slices.Index(roles, r); {
	case i >= 0 && (len(roles) > 1 || b.envScope):
		roles = slices.Delete(roles, i, i+1) // a role removed
	case i < 0:
		roles = append(roles, r) // a role added
		slices.Sort(roles)
	}
	b.roles = roles
	return m.bindingStep(opSetRoles, b)
}

func (m *model) setSubjects(rng *rand.Rand) step {
	b := m.bindings[rng.IntN(len(m.bindings))]
	u := m.users[rng.IntN(len(m.users))]
	switch i := slices.Index(b.subjects, u); {
	case i >= 0 && len(b.subjects) > 1:
		b.subjects = slices.Delete(slices.Clone(b.subjects), i, i+1) // a subject removed
	case i < 0:
		b.subjects = append(slices.Clone(b.subjects), u) // a subject added
	}
	return m.bindingStep(opSetSubjects, b)
}

func (m *model) deleteBinding(i int) step {
	b := m.bindings[i]
	m.bindings = slices.Delete(m.bindings, i, i+1)
	return step{kind: opDeleteBinding, ns: b.ns, binding: b.name}
}

// deleteUser deletes the StudioUser, then takes it out of every binding naming it
// (deleting a binding it was the only subject of), as someone cleaning up would.
func (m *model) deleteUser(i int) []step {
	u := m.users[i]
	m.users = slices.Delete(m.users, i, i+1)
	m.deleted = append(m.deleted, u)
	out := []step{{kind: opDeleteUser, user: u}}
	for j := 0; j < len(m.bindings); j++ {
		b := m.bindings[j]
		k := slices.Index(b.subjects, u)
		switch {
		case k < 0:
			continue
		case len(b.subjects) == 1:
			out = append(out, m.deleteBinding(j))
			j--
		default:
			b.subjects = slices.Delete(slices.Clone(b.subjects), k, k+1)
			out = append(out, m.bindingStep(opSetSubjects, b))
		}
	}
	return out
}
