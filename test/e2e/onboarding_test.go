package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
	storeclient "github.com/studio-operator/studio-operator/internal/store/client"
)

// The manifests of an agency whose Studio already exists: kim is there with one role
// less than wanted; lee is there too, named by no StudioUser.
const onboardingManifests = `apiVersion: v1
kind: Namespace
metadata: {name: onb-team}
---
apiVersion: iam.studio-operator.io/v1alpha1
kind: Agency
metadata: {name: onb}
spec: {displayName: Onboarding, homeNamespace: onb-team, managementPolicy: Observe}
---
apiVersion: iam.studio-operator.io/v1alpha1
kind: Environment
metadata: {name: bot, namespace: onb-team}
spec: {agencyRef: {name: onb}, displayName: Bot}
---
apiVersion: iam.studio-operator.io/v1alpha1
kind: StudioUser
metadata: {name: onb-kim}
spec: {email: kim@onboarding.example.com, displayName: Kim}
---
apiVersion: iam.studio-operator.io/v1alpha1
kind: RoleBinding
metadata: {name: kim, namespace: onb-team}
spec:
  scope: {agency: onb}
  subjects: [{name: onb-kim}]
  roles: [Planner, Analyst]
`

// TestOnboardingAnExistingStudio walks observe → plan → adopt → Full through kubectl
// and the plugin: nothing is written while observing, plan gates on its exit status,
// unmanaged -o yaml adopts the user no manifest named, and Full applies the plan.
func TestOnboardingAnExistingStudio(t *testing.T) {
	studio, err := storeclient.New(shared.storeURL, storeclient.Options{Token: shared.storeToken, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	grantsOf := func(user string) []store.Grant {
		t.Helper()
		g, err := studio.GetGrants(ctx, user)
		must(err)
		return g.Grants
	}
	auditOf := func(user string) int {
		t.Helper()
		page, err := studio.ListAudit(ctx, store.AuditFilter{User: user, Limit: 1000})
		must(err)
		return len(page.Entries)
	}

	// A person set the Studio up by hand before the operator came.
	_, _, err = studio.PutAgency(ctx, store.Caller{}, "onb", store.AgencySpec{DisplayName: "Onboarding"})
	must(err)
	_, _, err = studio.PutEnvironment(ctx, store.Caller{}, "onb-team.bot", store.EnvironmentSpec{Agency: "onb", DisplayName: "Bot"})
	must(err)
	for key, g := range map[string]store.Grant{
		"onb-kim": {Scope: store.Scope{Agency: "onb"}, Roles: []cascade.Role{cascade.Planner}},
		"onb-lee": {Scope: store.Scope{Environment: "onb-team.bot"}, Roles: []cascade.Role{cascade.Operator}},
	} {
		_, _, err = studio.PutUser(ctx, store.Caller{}, key, store.UserSpec{Email: strings.TrimPrefix(key, "onb-") + "@onboarding.example.com", DisplayName: key, Type: cascade.UserTypeUser})
		must(err)
		_, err = studio.PutGrants(ctx, store.Caller{}, key, []store.Grant{g})
		must(err)
	}
	kimAudit, leeGrants := auditOf("onb-kim"), grantsOf("onb-lee")

	dir := t.TempDir()
	manifests := filepath.Join(dir, "onboarding.yaml")
	must(os.WriteFile(manifests, []byte(onboardingManifests), 0o600))
	// The sandbox has no namespace controller: deleting a namespace would leave its
	// objects behind (and the other tests wait for every object to be Ready), so the
	// objects go one by one and the empty namespace stays.
	t.Cleanup(func() {
		for _, args := range [][]string{
			{"delete", "rolebindings.iam.studio-operator.io", "--all", "-n", "onb-team"},
			{"delete", "studiouser", "onb-kim", "onb-lee"},
			{"delete", "environment", "bot", "-n", "onb-team"},
			{"delete", "agency", "onb"},
		} {
			if _, errOut, err := runKubectl(append(args, "--ignore-not-found", "--wait=true", "--timeout=60s")...); err != nil {
				t.Errorf("cleanup: kubectl %s: %v\n%s", strings.Join(args, " "), err, redact(errOut))
			}
		}
	})

	t.Run("observe: plan, write nothing", func(t *testing.T) {
		kubectl(t, "apply", "--server-side", "-f", manifests)
		kubectl(t, "wait", "--for=condition=Planned", "studiouser/onb-kim", "agency/onb", "--timeout="+waitTimeout)
		eventually(t, 60*time.Second, func() string {
			out := kubectl(t, "get", "agency", "onb", "-o", "jsonpath={.status.plan.recordsToAdopt} {.status.unmanagedUsers.keys}")
			if out != `1 ["onb-lee"]` {
				return "agency onb plan and unmanaged users: " + out
			}
			return ""
		})
		out, code := kubectlStudio(t, "plan", "onb")
		if code != 2 {
			t.Fatalf("kubectl studio plan onb exit %d, want 2 (changes):\n%s", code, redact(out))
		}
		for _, want := range []string{"agency onb: policy Observe", "~ onb-kim (adopt)", "+ Analyst in agency onb", "+ invitation email", "Plan: 0 to create, 1 to adopt"} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl studio plan onb lacks %q:\n%s", want, redact(out))
			}
		}
		if got := auditOf("onb-kim"); got != kimAudit {
			t.Errorf("kim's audit grew from %d to %d entries while observing", kimAudit, got)
		}
		if n := len(mailsTo(t, "kim@onboarding.example.com")); n != 0 {
			t.Errorf("%d mails to kim while observing", n)
		}
	})

	t.Run("adopt: unmanaged -o yaml reproduces lee's access", func(t *testing.T) {
		out := kubectl(t, "studio", "unmanaged", "--agency", "onb")
		if !strings.Contains(out, "onb-lee") {
			t.Fatalf("kubectl studio unmanaged lacks onb-lee:\n%s", redact(out))
		}
		imported := filepath.Join(dir, "imported.yaml")
		must(os.WriteFile(imported, []byte(kubectl(t, "studio", "unmanaged", "--agency", "onb", "-o", "yaml")), 0o600))
		kubectl(t, "apply", "--server-side", "-f", imported)
		eventually(t, 60*time.Second, func() string {
			out := kubectl(t, "get", "studiouser", "onb-lee", "-o", "jsonpath={.status.plan.record}:{.status.plan.grants}")
			if out != "Adopt:" {
				return "onb-lee's plan: " + out + "; want an adoption with no grant change"
			}
			return ""
		})
	})

	t.Run("Full applies the plan", func(t *testing.T) {
		kubectl(t, "patch", "agency", "onb", "--type=merge", "-p", `{"spec":{"managementPolicy":"Full"}}`)
		kubectl(t, "wait", "--for=jsonpath={.status.conditions[?(@.type==\"Ready\")].reason}=Succeeded", "studiouser/onb-kim", "studiouser/onb-lee", "--timeout="+waitTimeout)
		if out, code := kubectlStudio(t, "plan", "onb"); code != 0 {
			t.Errorf("kubectl studio plan onb exit %d after Full, want 0:\n%s", code, redact(out))
		}
		var roles []cascade.Role
		for _, g := range grantsOf("onb-kim") {
			roles = append(roles, g.Roles...)
		}
		if !slices.Equal(roles, []cascade.Role{cascade.Analyst, cascade.Planner}) {
			t.Errorf("kim's roles after Full = %v, want Analyst and Planner", roles)
		}
		if got := grantsOf("onb-lee"); !slices.EqualFunc(got, leeGrants, func(a, b store.Grant) bool { return a.Scope == b.Scope && slices.Equal(a.Roles, b.Roles) }) {
			t.Errorf("lee's grants changed on adoption: %v, want %v", got, leeGrants)
		}
		eventually(t, 60*time.Second, func() string {
			if n := len(mailsTo(t, "kim@onboarding.example.com")); n != 1 {
				return "mails to kim: " + strconv.Itoa(n) + ", want the 1 planned invitation"
			}
			return ""
		})
		if n := len(mailsTo(t, "lee@onboarding.example.com")); n != 0 {
			t.Errorf("%d mails to lee: an imported user is not invited again", n)
		}
	})
}

// kubectlStudio runs kubectl studio args and returns its stdout and exit status; an
// error other than a non-zero exit ends the test.
func kubectlStudio(t *testing.T, args ...string) (string, int) {
	t.Helper()
	out, errOut, err := runKubectl(append([]string{"studio"}, args...)...)
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out, 0
	case errors.As(err, &exit):
		return out + errOut, exit.ExitCode()
	default:
		t.Fatalf("kubectl studio %s: %v", strings.Join(args, " "), err)
		return "", 0
	}
}
