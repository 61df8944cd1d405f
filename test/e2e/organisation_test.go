package e2e

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// kinds are the Studio kinds, in the order the sample organisation converges. Fully
// qualified: plain "rolebindings" are Kubernetes' own RBAC RoleBindings.
var kinds = []string{
	"agencies.iam.studio-operator.io",
	"environments.iam.studio-operator.io",
	"rolebindings.iam.studio-operator.io",
	"studiousers.iam.studio-operator.io",
}

// waitTimeout is kubectl wait's --timeout for the sample organisation to converge;
// shorter than commandTimeout, so kubectl reports what it waited for.
const waitTimeout = "90s"

// TestSampleOrganisation applies config/samples to the sandbox and follows the life of
// its users through kubectl and the plugin, as a platform engineer would. The steps
// build on each other, so the first failing one ends the test.
func TestSampleOrganisation(t *testing.T) {
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"apply the samples", func(t *testing.T) {
			kubectl(t, "apply", "--server-side", "-k", "config/samples")
		}},
		{"converge to Ready", func(t *testing.T) {
			for _, kind := range kinds {
				kubectl(t, "wait", "--for=condition=Ready", kind, "--all", "--all-namespaces", "--timeout="+waitTimeout)
			}
		}},
		{"every object is kstatus Current", func(t *testing.T) { waitAllCurrent(t) }},
		{"kubectl get studio lists every kind", testGetStudio},
		{"kubectl studio users is the users overview", testUsersOverview},
		{"kubectl studio access impersonates a user", testAccess},
		{"kubectl studio who-can answers per environment", testWhoCan},
		{"kubectl studio audit shows a user's history", testAudit},
		{"kubectl studio resend sends a second invitation", testResend},
		{"kubectl studio invite-link prints the current link", testInviteLink},
		{"deleting a StudioUser removes the user from the Studio", testDeleteUser},
		{"bindings naming a deleted user say so until edited", testBindingsAfterDelete},
		{"everything is Current again", func(t *testing.T) { waitAllCurrent(t) }},
	}
	for _, step := range steps {
		if !t.Run(step.name, step.run) {
			return
		}
	}
}

func testGetStudio(t *testing.T) {
	out := kubectl(t, "get", "studio", "-A")
	for _, want := range []string{
		"agency.iam.studio-operator.io/acme",
		"environment.iam.studio-operator.io/webchat",
		"environment.iam.studio-operator.io/leadbot",
		"rolebinding.iam.studio-operator.io/leadbot-no-analysts",
		"studiouser.iam.studio-operator.io/diego",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl get studio -A lacks %s:\n%s", want, redact(out))
		}
	}
}

func testUsersOverview(t *testing.T) {
	out := kubectl(t, "studio", "users")
	// NAME EMAIL TYPE STATE ENVIRONMENTS ...: the environments a user can access follow
	// the cascade (ana's agency role is blocked on leadbot; sam is suspended).
	want := map[string][]string{
		"alex":   {"Agent", "Invited", "1"},
		"ana":    {"User", "Invited", "2"},
		"diego":  {"User", "Invited", "3"},
		"olivia": {"User", "Invited", "3"},
		"sam":    {"User", "Suspended", "0"},
		"sofia":  {"User", "Invited", "1"},
	}
	got := map[string][]string{}
	for name := range want {
		row := rowOf(out, name)
		if len(row) < 5 {
			t.Fatalf("no row for %s in:\n%s", name, redact(out))
		}
		got[name] = row[2:5]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("users overview TYPE, STATE, ENVIRONMENTS (-want +got):\n%s\n%s", diff, redact(out))
	}
}

// accessView is the part of `kubectl studio access -o json` the test relies on.
type accessView struct {
	User         string `json:"user"`
	Environments []struct {
		Environment string   `json:"environment"`
		Agency      string   `json:"agency"`
		Roles       []string `json:"roles"`
		Source      string   `json:"source"`
		Notify      bool     `json:"notify"`
	} `json:"environments"`
}

type accessRow struct {
	Roles  string
	Source string
	Notify bool
}

func accessOf(t *testing.T, args ...string) map[string]accessRow {
	t.Helper()
	var v accessView
	out := kubectl(t, append([]string{"studio", "access"}, args...)...)
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("kubectl studio access %v: %v\n%s", args, err, redact(out))
	}
	got := map[string]accessRow{}
	for _, e := range v.Environments {
		got[e.Environment] = accessRow{Roles: strings.Join(e.Roles, ","), Source: e.Source, Notify: e.Notify}
	}
	return got
}

func testAccess(t *testing.T) {
	// diego develops the sales bot (environment scope overrides the agency's Analyst)
	// and is an analyst everywhere else (inherited from the agency).
	want := map[string]accessRow{
		"team-sales/leadbot":    {Roles: "ContentManager,Developer", Source: "Environment"},
		"team-support/webchat":  {Roles: "Analyst", Source: "Agency"},
		"team-support/whatsapp": {Roles: "Analyst", Source: "Agency"},
	}
	if diff := cmp.Diff(want, accessOf(t, "diego", "-o", "json")); diff != "" {
		t.Errorf("diego's access as the operator resolved it (-want +got):\n%s", diff)
	}
	// The store computes the same from the grants the operator wrote.
	if diff := cmp.Diff(want, accessOf(t, "diego", "--from", "store", "-o", "json")); diff != "" {
		t.Errorf("diego's access in the store (-want +got):\n%s", diff)
	}
	// An agent assigned in the bot's environment itself is notified.
	wantAlex := map[string]accessRow{"team-support/webchat": {Roles: "Agent", Source: "Environment", Notify: true}}
	if diff := cmp.Diff(wantAlex, accessOf(t, "alex", "-o", "json")); diff != "" {
		t.Errorf("alex's access (-want +got):\n%s", diff)
	}
	table := kubectl(t, "studio", "access", "diego")
	for _, want := range []string{"team-sales/leadbot", "Developer", "Environment", "Agency"} {
		if !strings.Contains(table, want) {
			t.Errorf("kubectl studio access diego lacks %q:\n%s", want, redact(table))
		}
	}
}

func testWhoCan(t *testing.T) {
	cases := map[string]struct {
		args []string
		want []string
	}{
		"Agent on the website chat": {args: []string{"Agent", "--environment", "team-support/webchat"}, want: []string{"alex"}},
		"notified on WhatsApp":      {args: []string{"notify", "--environment", "team-support/whatsapp"}, want: []string{"sofia"}},
		// ana's Analyst is blocked there, diego's overridden, sam is suspended.
		"Analyst on the sales bot":    {args: []string{"Analyst", "--environment", "team-sales/leadbot"}, want: []string{}},
		"Analyst on the website chat": {args: []string{"Analyst", "--environment", "team-support/webchat"}, want: []string{"ana", "diego"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			out := kubectl(t, append([]string{"studio", "who-can"}, append(tc.args, "-o", "json")...)...)
			var v struct {
				Users []struct {
					Name string `json:"name"`
				} `json:"users"`
			}
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatalf("%v\n%s", err, redact(out))
			}
			got := []string{}
			for _, u := range v.Users {
				got = append(got, u.Name)
			}
			slices.Sort(got)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("who-can %v (-want +got):\n%s", tc.args, diff)
			}
		})
	}
}

func testAudit(t *testing.T) {
	out := kubectl(t, "studio", "audit", "alex")
	for _, action := range []string{"user.created", "grant.added", "invitation.sent"} {
		if !strings.Contains(out, action) {
			t.Errorf("kubectl studio audit alex lacks %s:\n%s", action, redact(out))
		}
	}
	if strings.Contains(out, "diego") {
		t.Errorf("kubectl studio audit alex shows another user's entries:\n%s", redact(out))
	}
}

// invitationSendCount reads status.invitation.sendCount of a StudioUser.
func invitationSendCount(t *testing.T, user string) int {
	t.Helper()
	out := strings.TrimSpace(kubectl(t, "get", "studiouser", user, "-o", "jsonpath={.status.invitation.sendCount}"))
	if out == "" {
		return 0
	}
	n, err := strconv.Atoi(out)
	if err != nil {
		t.Fatalf("sendCount %q: %v", out, err)
	}
	return n
}

func testResend(t *testing.T) {
	if got := invitationSendCount(t, "alex"); got != 1 {
		t.Fatalf("alex's sendCount before resend = %d, want 1", got)
	}
	if got := len(mailsTo(t, "alex@example.com")); got != 1 {
		t.Fatalf("invitation mails to alex before resend = %d, want 1", got)
	}
	kubectl(t, "studio", "resend", "alex")
	eventually(t, 60*time.Second, func() string {
		count, mails := invitationSendCount(t, "alex"), len(mailsTo(t, "alex@example.com"))
		if count == 2 && mails == 2 {
			return ""
		}
		return "alex's sendCount " + strconv.Itoa(count) + ", mails " + strconv.Itoa(mails) + "; want 2 and 2"
	})
	// Only alex got mail: sofia signs in through SSO, sam is suspended.
	for _, email := range []string{"sofia@example.com", "sam@example.com"} {
		if n := len(mailsTo(t, email)); n != 0 {
			t.Errorf("%d invitation mails to a user that must get none", n)
		}
	}
}

func testInviteLink(t *testing.T) {
	link := strings.TrimSpace(kubectl(t, "studio", "invite-link", "alex"))
	if !strings.HasPrefix(link, shared.storeURL+"/invite/") || strings.ContainsAny(link, " \n") {
		t.Fatalf("invite-link printed %q, want one link under %s/invite/", redact(link), shared.storeURL)
	}
	// It is the link of the latest mail (the resend replaced the first one) ...
	mails := mailsTo(t, "alex@example.com")
	if len(mails) != 2 {
		t.Fatalf("want 2 mails to alex, got %d", len(mails))
	}
	if !strings.Contains(mails[len(mails)-1].body, link) {
		t.Error("the link is not the one of the latest invitation mail")
	}
	if strings.Contains(mails[0].body, link) {
		t.Error("the link is still the one of the first invitation mail")
	}
	// ... and the store serves its page.
	if status := httpStatus(t, link); status != 200 {
		t.Errorf("GET of the invitation link: status %d, want 200", status)
	}
}

func testDeleteUser(t *testing.T) {
	kubectl(t, "delete", "studiouser", "ana", "--timeout=60s")
	var user struct {
		State string `json:"state"`
	}
	storeGet(t, "/api/v1/users/ana", &user)
	if user.State != "Removed" {
		t.Errorf("ana's state in the store = %q, want Removed", user.State)
	}
	var access struct {
		Environments []json.RawMessage `json:"environments"`
	}
	storeGet(t, "/api/v1/users/ana/access", &access)
	if len(access.Environments) != 0 {
		t.Errorf("ana still has access to %d environments after removal", len(access.Environments))
	}
	var audit struct {
		Entries []struct {
			Action string `json:"action"`
		} `json:"entries"`
	}
	storeGet(t, "/api/v1/audit?user=ana", &audit)
	var actions []string
	for _, e := range audit.Entries {
		actions = append(actions, e.Action)
	}
	if !slices.Contains(actions, "user.removed") || !slices.Contains(actions, "grant.removed") {
		t.Errorf("ana's audit %v lacks user.removed or grant.removed", actions)
	}
	if out := kubectl(t, "studio", "audit", "ana"); !strings.Contains(out, "user.removed") {
		t.Errorf("kubectl studio audit ana lacks user.removed:\n%s", redact(out))
	}
	if out := kubectl(t, "studio", "users"); rowOf(out, "ana") != nil {
		t.Errorf("ana still in the users overview:\n%s", redact(out))
	}
}

// readyReason is the reason of a Studio object's Ready condition.
func readyReason(t *testing.T, kind, namespace, name string) string {
	t.Helper()
	return strings.TrimSpace(kubectl(t, "get", kind, "-n", namespace, name, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].reason}`))
}

// A RoleBinding that names a StudioUser that is gone reports it (not Current) instead
// of failing silently; removing the subject makes it Current again.
func testBindingsAfterDelete(t *testing.T) {
	const binding = "rolebindings.iam.studio-operator.io"
	eventually(t, 60*time.Second, func() string {
		if got := readyReason(t, binding, "acme", "analysts"); got != "UserNotFound" {
			return "acme/analysts Ready reason " + got + ", want UserNotFound"
		}
		return ""
	})
	kubectl(t, "patch", binding, "-n", "acme", "analysts", "--type=json",
		"-p", `[{"op":"test","path":"/spec/subjects/0/name","value":"ana"},{"op":"remove","path":"/spec/subjects/0"}]`)
	kubectl(t, "delete", binding, "-n", "team-sales", "leadbot-no-analysts", "--timeout=60s")
	eventually(t, 60*time.Second, func() string {
		if got := readyReason(t, binding, "acme", "analysts"); got != "Succeeded" {
			return "acme/analysts Ready reason " + got + ", want Succeeded"
		}
		return ""
	})
	// diego and sam keep their agency role.
	want := map[string]accessRow{
		"team-sales/leadbot":    {Roles: "ContentManager,Developer", Source: "Environment"},
		"team-support/webchat":  {Roles: "Analyst", Source: "Agency"},
		"team-support/whatsapp": {Roles: "Analyst", Source: "Agency"},
	}
	if diff := cmp.Diff(want, accessOf(t, "diego", "-o", "json")); diff != "" {
		t.Errorf("diego's access after the edit (-want +got):\n%s", diff)
	}
}
