package plugin

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// defaultAssets is where `make envtest-assets` puts kube-apiserver and etcd; the
// Makefile exports it as KUBEBUILDER_ASSETS, this covers a plain `go test`.
const defaultAssets = "../../bin/k8s/1.37.2-linux-amd64"

// orgLabel marks the seeded organisation, so commands that list every user can be
// pointed at it while other tests create users of their own.
const orgLabel = "plugin-test=org"

// testCluster is one real kube-apiserver (envtest) shared by the package's tests,
// started by the first test that needs it and stopped in TestMain.
type testCluster struct {
	env   *envtest.Environment
	dir   string
	admin client.Client
	// adminKubeconfig is a cluster admin; bobKubeconfig a user without any RBAC.
	adminKubeconfig, bobKubeconfig string
	// now is the clock of the commands; the seeded timestamps are relative to it.
	now time.Time
}

var (
	clusterOnce sync.Once
	cluster     *testCluster
	clusterErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if cluster != nil {
		if err := cluster.env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping envtest:", err)
		}
		_ = os.RemoveAll(cluster.dir)
	}
	os.Exit(code)
}

// startCluster returns the shared apiserver with the sample organisation seeded.
func startCluster(t *testing.T) *testCluster {
	t.Helper()
	clusterOnce.Do(func() { cluster, clusterErr = newTestCluster() })
	if clusterErr != nil {
		t.Fatalf("envtest (run `make envtest-assets`): %v", clusterErr)
	}
	return cluster
}

func newTestCluster() (*testCluster, error) {
	tc := &testCluster{
		env: &envtest.Environment{
			CRDDirectoryPaths:     []string{"../../config/crd/bases"},
			ErrorIfCRDPathMissing: true,
		},
		now: time.Now().UTC().Truncate(time.Second),
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		tc.env.BinaryAssetsDirectory = defaultAssets
	}
	cfg, err := tc.env.Start()
	if err != nil {
		return nil, err
	}
	cluster = tc // so TestMain stops it whatever happens next
	if tc.dir, err = os.MkdirTemp("", "kubectl-studio-test-"); err != nil {
		return nil, err
	}
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	if tc.admin, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return nil, err
	}
	for name, u := range map[string]envtest.User{
		"admin": {Name: "admin", Groups: []string{"system:masters"}},
		"bob":   {Name: "bob"},
	} {
		au, err := tc.env.AddUser(u, nil)
		if err != nil {
			return nil, err
		}
		kc, err := au.KubeConfig()
		if err != nil {
			return nil, err
		}
		path := filepath.Join(tc.dir, name+".kubeconfig")
		if err := os.WriteFile(path, kc, 0o600); err != nil {
			return nil, err
		}
		if name == "admin" {
			tc.adminKubeconfig = path
		} else {
			tc.bobKubeconfig = path
		}
	}
	return tc, tc.seed(context.Background())
}

// result is what a user sees of one command.
type result struct {
	out, errOut string
	code        int
}

// run runs kubectl-studio as the cluster admin, like a user would (flags and all).
func (tc *testCluster) run(t *testing.T, args ...string) result {
	t.Helper()
	return tc.runWith(t, Options{}, append(args, "--kubeconfig", tc.adminKubeconfig)...)
}

// runWith runs kubectl-studio at the cluster's clock with o and args.
func (tc *testCluster) runWith(t *testing.T, o Options, args ...string) result {
	t.Helper()
	return runPlugin(t, o, tc.now, append(args, "--cache-dir", filepath.Join(tc.dir, "cache"))...)
}

// runPlugin runs kubectl-studio with o (streams and clock filled in; an empty
// environment unless o says otherwise) and args, as main would.
func runPlugin(t *testing.T, o Options, now time.Time, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	o.IOStreams = genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut}
	o.Now = func() time.Time { return now }
	if o.Getenv == nil {
		o.Getenv = func(string) string { return "" }
	}
	code := Run(o, args)
	return result{out: out.String(), errOut: errOut.String(), code: code}
}

func (tc *testCluster) ago(d time.Duration) *metav1.Time {
	t := metav1.NewTime(tc.now.Add(-d))
	return &t
}

// seed creates the organisation of config/samples with the status an operator would
// have written, through the status subresource (no operator runs here).
func (tc *testCluster) seed(ctx context.Context) error {
	c := tc.admin
	for _, ns := range []string{"acme", "team-support", "team-sales", "studio-system"} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return err
		}
	}
	if err := c.Create(ctx, &iamv1.Agency{
		ObjectMeta: metav1.ObjectMeta{Name: "acme"},
		Spec:       iamv1.AgencySpec{HomeNamespace: "acme", EnvironmentNamespaces: &iamv1.EnvironmentNamespaces{From: iamv1.NamespacesAll}},
	}); err != nil {
		return err
	}
	for _, e := range []string{"team-support/webchat", "team-support/whatsapp", "team-sales/leadbot"} {
		ns, name, _ := strings.Cut(e, "/")
		if err := c.Create(ctx, &iamv1.Environment{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec:       iamv1.EnvironmentSpec{AgencyRef: iamv1.LocalObjectReference{Name: "acme"}},
		}); err != nil {
			return err
		}
	}

	agency := iamv1.AccessSourceAgency
	environment := iamv1.AccessSourceEnvironment
	users := []struct {
		spec   iamv1.StudioUserSpec
		status iamv1.StudioUserStatus
		name   string
	}{
		{name: "ana", spec: iamv1.StudioUserSpec{Email: "ana@example.com"}, status: iamv1.StudioUserStatus{
			State: iamv1.UserStateActive, CreatedAt: tc.ago(72 * time.Hour), LastActiveAt: tc.ago(90 * time.Minute),
			Invitation: &iamv1.InvitationStatus{State: iamv1.InvitationAccepted, SendCount: 1},
			Access: []iamv1.EnvironmentAccess{
				{Environment: "team-support/webchat", Agency: "acme", Roles: []iamv1.Role{"Analyst"}, Source: agency, Bindings: []string{"acme/analysts"}},
				{Environment: "team-support/whatsapp", Agency: "acme", Roles: []iamv1.Role{"Analyst"}, Source: agency, Bindings: []string{"acme/analysts"}},
			},
		}},
		{name: "alex", spec: iamv1.StudioUserSpec{Email: "alex@example.com", Type: iamv1.UserTypeAgent}, status: iamv1.StudioUserStatus{
			State: iamv1.UserStateInvited, CreatedAt: tc.ago(10 * time.Minute),
			Invitation: &iamv1.InvitationStatus{
				State: iamv1.InvitationPending, SendCount: 1, SentAt: tc.ago(10 * time.Minute), ExpiresAt: tc.ago(10*time.Minute - 7*24*time.Hour),
				LinkSecretRef: &iamv1.SecretReference{Namespace: "studio-system", Name: "studio-invitation-alex"},
			},
			Access: []iamv1.EnvironmentAccess{
				{Environment: "team-support/webchat", Agency: "acme", Roles: []iamv1.Role{"Agent"}, Source: environment, Bindings: []string{"team-support/webchat-agents"}},
			},
		}},
		{name: "diego", spec: iamv1.StudioUserSpec{Email: "diego@example.com"}, status: iamv1.StudioUserStatus{
			State: iamv1.UserStateActive, CreatedAt: tc.ago(30 * 24 * time.Hour), LastActiveAt: tc.ago(5 * time.Minute),
			Access: []iamv1.EnvironmentAccess{
				{Environment: "team-sales/leadbot", Agency: "acme", Roles: []iamv1.Role{"ContentManager", "Developer"}, Source: environment, Bindings: []string{"team-sales/leadbot-developers"}},
				{Environment: "team-support/webchat", Agency: "acme", Roles: []iamv1.Role{"Analyst"}, Source: agency, Bindings: []string{"acme/analysts"}},
				{Environment: "team-support/whatsapp", Agency: "acme", Roles: []iamv1.Role{"Analyst"}, Source: agency, Bindings: []string{"acme/analysts"}},
			},
		}},
		{name: "sofia", spec: iamv1.StudioUserSpec{Email: "sofia@example.com", Invitation: iamv1.Invitation{Send: ptr.To(false)}}, status: iamv1.StudioUserStatus{
			State: iamv1.UserStateActive, CreatedAt: tc.ago(48 * time.Hour), LastActiveAt: tc.ago(3 * time.Hour),
			Invitation: &iamv1.InvitationStatus{State: iamv1.InvitationNotSent},
			Access: []iamv1.EnvironmentAccess{
				{Environment: "team-support/whatsapp", Agency: "acme", Roles: []iamv1.Role{"Operator"}, Source: environment, Bindings: []string{"team-support/whatsapp-operators"}},
			},
		}},
		{name: "sam", spec: iamv1.StudioUserSpec{Email: "sam@example.com", Suspended: true}, status: iamv1.StudioUserStatus{
			State: iamv1.UserStateSuspended, CreatedAt: tc.ago(200 * 24 * time.Hour), LastActiveAt: tc.ago(20 * 24 * time.Hour),
		}},
	}
	for _, u := range users {
		obj := &iamv1.StudioUser{
			ObjectMeta: metav1.ObjectMeta{Name: u.name, Labels: map[string]string{"plugin-test": "org"}},
			Spec:       u.spec,
		}
		if err := c.Create(ctx, obj); err != nil {
			return err
		}
		obj.Status = u.status
		obj.Status.ObservedGeneration = obj.Generation
		obj.Status.Environments = int32(len(u.status.Access))
		obj.Status.StudioID = u.name
		obj.Status.Conditions = []metav1.Condition{{
			Type: iamv1.ConditionReady, Status: metav1.ConditionTrue, Reason: iamv1.ReasonSucceeded,
			Message: "reconciled", ObservedGeneration: obj.Generation, LastTransitionTime: metav1.NewTime(tc.now),
		}}
		if err := c.Status().Update(ctx, obj); err != nil {
			return err
		}
	}
	return c.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "studio-system", Name: "studio-invitation-alex"},
		Data:       map[string][]byte{"link": []byte("http://127.0.0.1:9/invite/test-link-token-alex")},
	})
}
