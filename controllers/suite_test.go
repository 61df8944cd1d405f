package controllers_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/controllers"
	"github.com/studio-operator/studio-operator/internal/operator"
	"github.com/studio-operator/studio-operator/internal/operator/metrics"
	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/storeserver/teststore"
)

// The suite runs one envtest control plane, one real store (SQLite in a temp dir,
// HTTP on 127.0.0.1, mails to .eml files) and one manager for all specs; specs use
// their own namespaces and names. A few specs stop and restart the store or the
// manager; they leave both running.
const (
	instanceID       = "envtest"
	secretsNamespace = "studio-system"
	resyncPeriod     = 2 * time.Second
)

var (
	testEnv    *envtest.Environment
	restConfig *rest.Config
	scheme     = runtime.NewScheme()
	// k8s reads and writes straight to the API server (no cache), for assertions.
	k8s client.Client
	// studio is the store; operatorStore is the operator's client of it, and
	// person is a client without manager header: someone working in the Studio.
	studio        *teststore.Store
	operatorStore store.API
	person        store.API
	manager       *runningManager
	suiteCtx      context.Context
	suiteCancel   context.CancelFunc
)

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(20 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	SetDefaultConsistentlyDuration(2 * time.Second)
	RunSpecs(t, "Controllers Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true), zap.Level(zapLevel())))
	suiteCtx, suiteCancel = context.WithCancel(context.Background())
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(iamv1.AddToScheme(scheme)).To(Succeed())

	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assetsDir(),
	}
	var err error
	restConfig, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	k8s, err = client.New(restConfig, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	Expect(k8s.Create(suiteCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: secretsNamespace}})).To(Succeed())

	studio, err = teststore.Start(GinkgoT().TempDir())
	Expect(err).NotTo(HaveOccurred())
	operatorStore, err = studio.Client(instanceID, metrics.ObserveStoreRequest)
	Expect(err).NotTo(HaveOccurred())
	person, err = studio.Client("", nil)
	Expect(err).NotTo(HaveOccurred())
	manager = startManager(operatorStore)
})

var _ = AfterSuite(func() {
	if manager != nil {
		manager.stop()
	}
	if studio != nil {
		Expect(studio.Close()).To(Succeed())
	}
	if suiteCancel != nil {
		suiteCancel()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// assetsDir is KUBEBUILDER_ASSETS, else the repo's bin/k8s build (make envtest-assets).
func assetsDir() string {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir
	}
	return filepath.Join("..", "bin", "k8s", "1.37.2-linux-amd64")
}

func zapLevel() zapcore.Level {
	if os.Getenv("TEST_VERBOSE") != "" {
		return zapcore.DebugLevel
	}
	return zapcore.WarnLevel
}

// runningManager is a manager running the four reconcilers in the background.
type runningManager struct {
	mgr    ctrl.Manager
	cancel context.CancelFunc
	done   chan error
}

func startManager(st store.API) *runningManager {
	mgr, err := operator.NewManager(restConfig, operator.Options{
		Controllers: controllers.Options{
			Store:           st,
			InstanceID:      instanceID,
			Namespace:       secretsNamespace,
			ResyncPeriod:    resyncPeriod,
			DependencyRetry: time.Second,
			MaxRetryDelay:   time.Second,
		},
		MetricsBindAddress:     "0",
		HealthProbeBindAddress: "0",
		// Specs restart the manager within one process.
		SkipNameValidation: true,
	})
	Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(suiteCtx)
	m := &runningManager{mgr: mgr, cancel: cancel, done: make(chan error, 1)}
	go func() {
		defer GinkgoRecover()
		m.done <- mgr.Start(ctx)
	}()
	Expect(mgr.GetCache().WaitForCacheSync(ctx)).To(BeTrue())
	return m
}

func (m *runningManager) stop() {
	m.cancel()
	Eventually(m.done).Should(Receive(BeNil()))
}

// Names: every spec works in its own namespaces and with its own names.
var serial atomic.Int64

func uniq(prefix string) string { return fmt.Sprintf("%s-%d", prefix, serial.Add(1)) }

func ctx() context.Context { return suiteCtx }

// create creates obj and deletes it when the spec ends (without waiting).
func create(obj client.Object) {
	GinkgoHelper()
	Expect(k8s.Create(ctx(), obj)).To(Succeed())
	DeferCleanup(func() {
		_ = client.IgnoreNotFound(k8s.Delete(context.Background(), obj))
	})
}

func newNamespace(labels map[string]string) string {
	GinkgoHelper()
	name := uniq("ns")
	Expect(k8s.Create(ctx(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}})).To(Succeed())
	return name
}

func newAgency(home string, edit ...func(*iamv1.Agency)) *iamv1.Agency {
	a := &iamv1.Agency{
		ObjectMeta: metav1.ObjectMeta{Name: uniq("agency")},
		Spec:       iamv1.AgencySpec{DisplayName: "Agency", HomeNamespace: home},
	}
	for _, e := range edit {
		e(a)
	}
	create(a)
	return a
}

func newEnvironment(ns, agency string, edit ...func(*iamv1.Environment)) *iamv1.Environment {
	e := &iamv1.Environment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: uniq("env")},
		Spec:       iamv1.EnvironmentSpec{AgencyRef: iamv1.LocalObjectReference{Name: agency}, DisplayName: "Bot"},
	}
	for _, ed := range edit {
		ed(e)
	}
	create(e)
	return e
}

func newUser(edit ...func(*iamv1.StudioUser)) *iamv1.StudioUser {
	name := uniq("user")
	u := &iamv1.StudioUser{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       iamv1.StudioUserSpec{Email: name + "@example.com", DisplayName: "User " + name},
	}
	for _, e := range edit {
		e(u)
	}
	create(u)
	return u
}

func newBinding(ns string, scope iamv1.BindingScope, users []string, roles ...iamv1.Role) *iamv1.RoleBinding {
	b := &iamv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: uniq("rb")},
		Spec:       iamv1.RoleBindingSpec{Scope: scope, Roles: append([]iamv1.Role{}, roles...)},
	}
	for _, u := range users {
		b.Spec.Subjects = append(b.Spec.Subjects, iamv1.Subject{Name: u})
	}
	create(b)
	return b
}

func onEnvironment(e *iamv1.Environment) iamv1.BindingScope {
	return iamv1.BindingScope{Environment: e.Name}
}

func onAgency(a *iamv1.Agency) iamv1.BindingScope { return iamv1.BindingScope{Agency: a.Name} }

func names(us ...*iamv1.StudioUser) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.Name
	}
	return out
}

// fetch re-reads obj from the API server into obj.
func fetch(obj client.Object) error {
	return k8s.Get(ctx(), client.ObjectKeyFromObject(obj), obj)
}

// kstatusOf computes the kstatus of obj as a generic tool (kubectl wait, Argo CD,
// Flux) would, from its unstructured form.
func kstatusOf(obj client.Object) (status.Status, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(iamv1.GroupVersion.WithKind(kindOf(obj)))
	if err := k8s.Get(ctx(), client.ObjectKeyFromObject(obj), u); err != nil {
		return "", err
	}
	res, err := status.Compute(u)
	if err != nil {
		return "", err
	}
	return res.Status, nil
}

func kindOf(obj client.Object) string {
	gvks, _, err := scheme.ObjectKinds(obj)
	Expect(err).NotTo(HaveOccurred())
	return gvks[0].Kind
}

// expectCurrent waits until every object is kstatus Current.
func expectCurrent(objs ...client.Object) {
	GinkgoHelper()
	for _, o := range objs {
		Eventually(func() (status.Status, error) { return kstatusOf(o) }).
			Should(Equal(status.CurrentStatus), "%s %s", kindOf(o), o.GetName())
	}
}

// conditionOf returns the condition typ of obj as the API server has it.
func conditionOf(obj client.Object, typ string) func() (*metav1.Condition, error) {
	return func() (*metav1.Condition, error) {
		if err := fetch(obj); err != nil {
			return nil, err
		}
		var conds []metav1.Condition
		switch o := obj.(type) {
		case *iamv1.Agency:
			conds = o.Status.Conditions
		case *iamv1.Environment:
			conds = o.Status.Conditions
		case *iamv1.RoleBinding:
			conds = o.Status.Conditions
		case *iamv1.StudioUser:
			conds = o.Status.Conditions
		}
		for i := range conds {
			if conds[i].Type == typ {
				return &conds[i], nil
			}
		}
		return nil, nil
	}
}

// haveReason matches a condition with status and reason.
func haveReason(st metav1.ConditionStatus, reason string) OmegaMatcher {
	return And(Not(BeNil()), HaveField("Status", st), HaveField("Reason", reason))
}

// accessOf returns the user's status.access.
func accessOf(u *iamv1.StudioUser) func() ([]iamv1.EnvironmentAccess, error) {
	return func() ([]iamv1.EnvironmentAccess, error) {
		err := fetch(u)
		return u.Status.Access, err
	}
}

// storeAccess returns the store's effective access of the user ("ns.name" keys).
func storeAccess(name string) func() ([]store.EnvironmentAccess, error) {
	return func() ([]store.EnvironmentAccess, error) {
		a, err := studio.Service().GetAccess(ctx(), name)
		return a.Environments, err
	}
}

func envRef(e *iamv1.Environment) string { return e.Namespace + "/" + e.Name }
func envKey(e *iamv1.Environment) string { return e.Namespace + "." + e.Name }
