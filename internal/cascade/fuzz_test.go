package cascade_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/studio-operator/studio-operator/internal/cascade"
)

// fuzzRoles are the role values the decoder picks from: every assignable role plus
// values a writer might pass through unchecked.
var fuzzRoles = append(slices.Clone(cascade.AssignableRoles), cascade.Supervisor, "Janitor", "")

// fuzzInput is one decoded case.
type fuzzInput struct {
	user   cascade.User
	grants []cascade.Grant
	envs   []cascade.Environment
}

// byteReader hands out the fuzz bytes one at a time and zeros once they run out, so
// every input decodes to something.
type byteReader struct {
	data []byte
	i    int
}

func (r *byteReader) next() byte {
	if r.i >= len(r.data) {
		return 0
	}
	b := r.data[r.i]
	r.i++
	return b
}

// decodeFuzzInput turns bytes into a small organisation: up to 6 environments over 3
// agencies (keys may repeat, always with the same agency: a key names one
// environment), and up to 10 grants with up to 4 roles each, scoped to known or
// unknown agencies and environments.
func decodeFuzzInput(data []byte) fuzzInput {
	r := &byteReader{data: data}
	var in fuzzInput
	flags := r.next()
	in.user.Type = cascade.UserTypeUser
	if flags&1 != 0 {
		in.user.Type = cascade.UserTypeAgent
	}
	// Rarer than one in two, so most inputs exercise the rules.
	in.user.Suspended = flags&0x06 == 0x06
	in.user.Removed = flags&0x18 == 0x18

	for range int(r.next() % 7) {
		k := int(r.next() % 8)
		in.envs = append(in.envs, cascade.Environment{
			Key:    fmt.Sprintf("ns%d/env%d", k%3, k),
			Agency: fmt.Sprintf("agency%d", k%3),
		})
	}
	for range int(r.next() % 11) {
		b := r.next()
		var g cascade.Grant
		if n := r.next() % 6; n > 0 {
			g.Name = fmt.Sprintf("ns/binding%d", n) // 0 leaves the grant unnamed
		}
		target := int(b>>1) % 9 // 8 known keys/agencies, one unknown
		if b&1 == 0 {
			g.Scope.Agency = fmt.Sprintf("agency%d", target%4) // agency3 owns nothing
		} else {
			g.Scope.Environment = fmt.Sprintf("ns%d/env%d", target%3, target)
		}
		for range int(r.next() % 5) {
			g.Roles = append(g.Roles, fuzzRoles[int(r.next())%len(fuzzRoles)])
		}
		in.grants = append(in.grants, g)
	}
	return in
}

func FuzzResolve(f *testing.F) {
	// Seeds: flags, #envs, env keys..., #grants, then per grant: scope, name, #roles, roles...
	f.Add([]byte{})
	// User; two acme-like environments; agency grant Analyst + env grant Agent.
	f.Add([]byte{0, 2, 0, 3, 2, 0, 1, 1, 2, 3, 1, 1, 0})
	// Agent-type user with a block at environment scope next to agency Operator.
	f.Add([]byte{1, 3, 0, 3, 6, 3, 0, 2, 1, 8, 1, 3, 0, 5})
	// Suspended user with Administrator everywhere.
	f.Add([]byte{6, 2, 1, 4, 2, 2, 1, 1, 9, 3, 1, 1, 9})
	// Environment override with OrganisationManager and Supervisor passed through.
	f.Add([]byte{0, 6, 0, 1, 2, 3, 4, 5, 4, 0, 1, 3, 7, 8, 10, 1, 2, 2, 4, 6, 7, 3, 2, 0, 1, 9, 2, 11})
	// Duplicate environment keys and duplicate grant names.
	f.Add([]byte{0, 4, 5, 5, 2, 5, 3, 11, 2, 2, 3, 3, 11, 2, 1, 0, 4, 2, 1, 1})

	f.Fuzz(func(t *testing.T, data []byte) {
		in := decodeFuzzInput(data)
		before := fuzzInput{user: in.user, grants: cloneGrants(in.grants), envs: slices.Clone(in.envs)}
		got := cascade.Resolve(in.user, in.grants, in.envs)

		if diff := cmp.Diff(before.grants, in.grants); diff != "" {
			t.Fatalf("Resolve modified its grants (-before +after):\n%s", diff)
		}
		checkDeterministic(t, in, got, data)
		checkInvariants(t, in, got)
	})
}

// checkDeterministic: the same input in another order gives the same output.
func checkDeterministic(t *testing.T, in fuzzInput, got []cascade.Access, data []byte) {
	t.Helper()
	var seed uint64
	for _, b := range data {
		seed = seed*31 + uint64(b)
	}
	rng := rand.New(rand.NewPCG(seed, uint64(len(data))))
	grants, envs := cloneGrants(in.grants), slices.Clone(in.envs)
	rng.Shuffle(len(grants), func(i, j int) { grants[i], grants[j] = grants[j], grants[i] })
	for _, g := range grants {
		rng.Shuffle(len(g.Roles), func(i, j int) { g.Roles[i], g.Roles[j] = g.Roles[j], g.Roles[i] })
	}
	rng.Shuffle(len(envs), func(i, j int) { envs[i], envs[j] = envs[j], envs[i] })
	if diff := cmp.Diff(got, cascade.Resolve(in.user, grants, envs)); diff != "" {
		t.Fatalf("shuffled input changed the result (-first +shuffled):\n%s", diff)
	}
}

// checkInvariants checks the cascade rules (doc.go) on the result against the input.
func checkInvariants(t *testing.T, in fuzzInput, got []cascade.Access) {
	t.Helper()
	if (in.user.Suspended || in.user.Removed) && len(got) != 0 {
		t.Fatalf("suspended or removed user has access: %+v", got)
	}
	agencyOf := map[string]string{}
	for _, e := range in.envs {
		agencyOf[e.Key] = e.Agency
	}
	if !slices.IsSortedFunc(got, func(a, b cascade.Access) int { return strings.Compare(a.Environment, b.Environment) }) {
		t.Fatalf("result not sorted by environment: %+v", got)
	}
	for i, a := range got {
		if i > 0 && got[i-1].Environment == a.Environment {
			t.Fatalf("environment %q listed twice", a.Environment)
		}
		agency, ok := agencyOf[a.Environment]
		if !ok || agency != a.Agency {
			t.Fatalf("entry %q/%q is not one of the input environments", a.Environment, a.Agency)
		}
		checkEntry(t, in, a)
	}
	// Completeness: every environment where the rules give a role is in the result.
	for key, agency := range agencyOf {
		_, want := expectedRoles(in, cascade.Environment{Key: key, Agency: agency})
		present := slices.ContainsFunc(got, func(a cascade.Access) bool { return a.Environment == key })
		if !in.user.Suspended && !in.user.Removed && len(want) > 0 && !present {
			t.Fatalf("environment %q missing; want roles %v", key, want)
		}
	}
}

func checkEntry(t *testing.T, in fuzzInput, a cascade.Access) {
	t.Helper()
	for what, sorted := range map[string]bool{
		"roles":        strictlySorted(a.Roles),
		"grants":       strictlySorted(a.Grants),
		"capabilities": strictlySorted(a.Capabilities),
	} {
		if !sorted {
			t.Fatalf("%s of %q not sorted and duplicate-free: %+v", what, a.Environment, a)
		}
	}
	if len(a.Roles) == 0 {
		t.Fatalf("entry %q without roles", a.Environment)
	}

	// Environment level wins; roles are exactly the union from the winning scope.
	applied, wantRoles := expectedRoles(in, cascade.Environment{Key: a.Environment, Agency: a.Agency})
	wantSource := cascade.SourceAgency
	if slices.ContainsFunc(in.grants, func(g cascade.Grant) bool { return g.Scope.Environment == a.Environment }) {
		wantSource = cascade.SourceEnvironment
	}
	if a.Source != wantSource {
		t.Fatalf("%q: source %s, want %s", a.Environment, a.Source, wantSource)
	}
	if diff := cmp.Diff(wantRoles, a.Roles); diff != "" {
		t.Fatalf("%q: roles mismatch (-want +got):\n%s", a.Environment, diff)
	}
	if in.user.Type == cascade.UserTypeAgent && slices.ContainsFunc(a.Roles, func(r cascade.Role) bool { return !r.AgentRole() }) {
		t.Fatalf("%q: agent has roles %v", a.Environment, a.Roles)
	}

	// Grants: named grants of the winning scope that gave a role that applies.
	var wantGrants []string
	for _, g := range applied {
		if g.Name != "" && slices.ContainsFunc(g.Roles, func(r cascade.Role) bool { return slices.Contains(wantRoles, r) }) {
			wantGrants = append(wantGrants, g.Name)
		}
	}
	slices.Sort(wantGrants)
	wantGrants = slices.Compact(wantGrants)
	if diff := cmp.Diff(wantGrants, a.Grants); diff != "" {
		t.Fatalf("%q: grants mismatch (-want +got):\n%s", a.Environment, diff)
	}

	// Capabilities: the union of the roles', notify only from an environment-scoped
	// Agent or Operator.
	wantNotify := a.Source == cascade.SourceEnvironment &&
		(slices.Contains(a.Roles, cascade.Agent) || slices.Contains(a.Roles, cascade.Operator))
	var wantCaps []cascade.Capability
	for _, r := range a.Roles {
		wantCaps = append(wantCaps, cascade.CapabilitiesOf(r)...)
	}
	slices.Sort(wantCaps)
	wantCaps = slices.Compact(wantCaps)
	if !wantNotify {
		wantCaps = withoutNotify(wantCaps)
	}
	if a.Notify != wantNotify {
		t.Fatalf("%q: notify %v, want %v (roles %v from %s)", a.Environment, a.Notify, wantNotify, a.Roles, a.Source)
	}
	if diff := cmp.Diff(wantCaps, a.Capabilities); diff != "" {
		t.Fatalf("%q: capabilities mismatch (-want +got):\n%s", a.Environment, diff)
	}
}

// expectedRoles is the reference reading of the cascade rules 1–3 for one environment:
// the grants of the winning scope and the sorted roles that apply.
func expectedRoles(in fuzzInput, e cascade.Environment) ([]cascade.Grant, []cascade.Role) {
	var env, agency []cascade.Grant
	for _, g := range in.grants {
		switch {
		case g.Scope.Environment != "":
			if g.Scope.Environment == e.Key {
				env = append(env, g)
			}
		case g.Scope.Agency == e.Agency:
			agency = append(agency, g)
		}
	}
	applied := agency
	if len(env) > 0 {
		applied = env
	}
	var rs []cascade.Role
	for _, g := range applied {
		for _, r := range g.Roles {
			if r.Assignable() && (in.user.Type != cascade.UserTypeAgent || r.AgentRole()) {
				rs = append(rs, r)
			}
		}
	}
	slices.Sort(rs)
	return applied, slices.Compact(rs)
}

func strictlySorted[S ~[]E, E ~string](s S) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] >= s[i] {
			return false
		}
	}
	return true
}
