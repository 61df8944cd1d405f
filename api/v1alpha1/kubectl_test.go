package v1alpha1_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// kubectlPath is the real kubectl on the machine; the tests drive it as users do.
const kubectlPath = "/usr/bin/kubectl"

// kubectl runs the real kubectl against the test apiserver and returns its stdout.
func kubectl(args ...string) string {
	GinkgoHelper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cacheDir := filepath.Join(filepath.Dir(kubeconfig), "kube-cache")
	cmd := exec.CommandContext(c, kubectlPath, append([]string{"--kubeconfig", kubeconfig, "--cache-dir", cacheDir}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	Expect(err).NotTo(HaveOccurred(), "kubectl %s: %s", strings.Join(args, " "), stderr.String())
	return string(out)
}

var _ = Describe("kubectl", Ordered, func() {
	BeforeAll(func() { applyOrganisation() })

	It("lists every kind with `kubectl get studio -A`", func() {
		out := kubectl("get", "studio", "-A", "-o", "name")
		Expect(strings.Fields(out)).To(ContainElements(
			"agency.iam.studio-operator.io/acme",
			"agency.iam.studio-operator.io/globex",
			"environment.iam.studio-operator.io/prod",
			"environment.iam.studio-operator.io/web",
			"studiouser.iam.studio-operator.io/alice",
			"studiouser.iam.studio-operator.io/bob",
			"rolebinding.iam.studio-operator.io/acme-managers",
			"rolebinding.iam.studio-operator.io/web-block",
		))
	})

	It("knows the short names", func() {
		out := kubectl("get", "sag,senv,su,srb", "-A", "-o", "name")
		for _, kind := range []string{"agency", "environment", "studiouser", "rolebinding"} {
			Expect(out).To(ContainSubstring(kind+".iam.studio-operator.io/"), "short name for %s", kind)
		}
	})

	It("shows the users overview columns with `kubectl get studiousers`", func() {
		lines := strings.Split(strings.TrimSpace(kubectl("get", "studiousers")), "\n")
		Expect(lines).NotTo(BeEmpty())
		Expect(lines[0]).To(MatchRegexp(`^NAME\s+EMAIL\s+TYPE\s+STATE\s+ENVIRONMENTS\s+LAST ACTIVE\s+CREATED\s+INVITATION\s+READY\s+AGE$`))
		// No operator runs here: every user has access to 0 environments, and the
		// column says so rather than leaving a blank.
		Expect(lines[1:]).To(HaveEach(MatchRegexp(`^\S+\s+\S+@\S+\s+(User|Agent)\s+0\s`)))
		Expect(lines[1:]).To(ContainElement(MatchRegexp(`^bob\s+\S+@\S+\s+Agent\s`)))

		wide := strings.SplitN(kubectl("get", "studiousers", "-o", "wide"), "\n", 2)[0]
		Expect(wide).To(MatchRegexp(`\bREADY\s+REASON\s+MESSAGE\s+AGE$`))
	})

	It("shows READY on every kind", func() {
		for _, resource := range []string{"agencies", "environments", "studiousers", "rolebindings.iam.studio-operator.io"} {
			header := strings.SplitN(kubectl("get", resource, "-A"), "\n", 2)[0]
			Expect(header).To(MatchRegexp(`\bREADY\b`), resource)
		}
	})

	It("explains every field of studiouser.spec", func() {
		out := kubectl("explain", "studiouser.spec")
		// Each field with a piece of its description, so the docs people read in
		// kubectl stay meaningful.
		fields := map[string]string{
			"email":          "identifies the person",
			"displayName":    "name as shown in the Studio",
			"type":           "only the Agent and Operator roles apply",
			"locale":         "BCP 47",
			"invitation":     "controls the invitation email",
			"suspended":      "revokes all of the user's access",
			"deletionPolicy": "what deleting this object does in the Studio",
		}
		flat := strings.Join(strings.Fields(out), " ")
		for field, description := range fields {
			Expect(out).To(MatchRegexp(`(?m)^\s+`+regexp.QuoteMeta(field)+`\s`), "field %s", field)
			Expect(flat).To(ContainSubstring(description), "description of %s", field)
		}
		Expect(flat).To(ContainSubstring("email <string> -required-"))
		Expect(flat).To(MatchRegexp(`type <string>\s+enum: User, Agent`))
	})

	It("explains the invitation controls", func() {
		flat := strings.Join(strings.Fields(kubectl("explain", "studiouser.spec.invitation")), " ")
		Expect(flat).To(ContainSubstring("resend <integer>"))
		Expect(flat).To(ContainSubstring("increase this number to send the invitation again"))
		Expect(flat).To(ContainSubstring("send <boolean>"))
		Expect(flat).To(ContainSubstring("SSO"))
	})
})
