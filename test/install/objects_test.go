package install

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/studio-operator/studio-operator/internal/store/auth"
)

// The checks TestChartTemplate runs on what each profile renders.

// Every object is labelled as the release's, and every namespaced one names the release
// namespace (so `helm template | kubectl apply -f -` puts it there too).
func checkMetadata(t *testing.T, r rendered) {
	t.Helper()
	clusterScoped := map[string]bool{"ClusterRole": true, "ClusterRoleBinding": true}
	for _, o := range r.objects {
		l := o.GetLabels()
		if l["app.kubernetes.io/instance"] != releaseName || l["app.kubernetes.io/managed-by"] != "Helm" || l["app.kubernetes.io/part-of"] != "studio-operator" {
			t.Errorf("%s %s: labels %v lack the release's", o.GetKind(), o.GetName(), l)
		}
		if clusterScoped[o.GetKind()] != (o.GetNamespace() == "") || (!clusterScoped[o.GetKind()] && o.GetNamespace() != namespace) {
			t.Errorf("%s %s: namespace %q", o.GetKind(), o.GetName(), o.GetNamespace())
		}
	}
}

// Both workloads run hardened and bounded, as the restricted Pod Security Standard
// asks (the dry-run checks that too), with probes, requests and limits.
func checkWorkloads(t *testing.T, r rendered) {
	t.Helper()
	for _, u := range r.ofKind("Deployment") {
		d := convert[appsv1.Deployment](t, u)
		pod := d.Spec.Template.Spec
		psc := pod.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != nonrootUID {
			t.Errorf("%s: pod must run as non-root user %d", d.Name, nonrootUID)
		}
		if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: pod must use the RuntimeDefault seccomp profile", d.Name)
		}
		for _, c := range pod.Containers {
			sc := c.SecurityContext
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
				sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
				t.Errorf("%s/%s: want a read-only root filesystem, no privilege escalation, all capabilities dropped", d.Name, c.Name)
			}
			if c.LivenessProbe == nil || c.ReadinessProbe == nil {
				t.Errorf("%s/%s: liveness and readiness probes required", d.Name, c.Name)
			}
			if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("%s/%s: CPU and memory requests and a memory limit required", d.Name, c.Name)
			}
			if !strings.Contains(c.Image, "/") || !(strings.Contains(c.Image, ":") || strings.Contains(c.Image, "@sha256:")) {
				t.Errorf("%s/%s: image %q has no repository and tag or digest", d.Name, c.Name, c.Image)
			}
		}
		sel, err := labels.ValidatedSelectorFromSet(d.Spec.Selector.MatchLabels)
		if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("%s: selector %v does not match the pod labels %v", d.Name, d.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
		}
	}
}

// Every Service selects exactly one Deployment's pods and targets a port they name.
func checkServices(t *testing.T, r rendered) {
	t.Helper()
	for _, u := range r.ofKind("Service") {
		svc := convert[corev1.Service](t, u)
		var matched []*appsv1.Deployment
		for _, du := range r.ofKind("Deployment") {
			d := convert[appsv1.Deployment](t, du)
			if labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
				matched = append(matched, d)
			}
		}
		if len(matched) != 1 {
			t.Errorf("Service %s selects %d Deployments, want 1", svc.Name, len(matched))
			continue
		}
		for _, port := range svc.Spec.Ports {
			if containerPort(matched[0], port.TargetPort.String()) == nil {
				t.Errorf("Service %s targets port %q, which %s does not have", svc.Name, port.TargetPort.String(), matched[0].Name)
			}
		}
	}
}

func containerPort(d *appsv1.Deployment, name string) *corev1.ContainerPort {
	for _, c := range d.Spec.Template.Spec.Containers {
		for i := range c.Ports {
			if c.Ports[i].Name == name {
				return &c.Ports[i]
			}
		}
	}
	return nil
}

// The manager: real flags, leader election (and rolling updates, a Lease Role and a
// disruption budget) exactly when there is more than one replica, the store's URL, and
// the token file where its Secret is mounted.
func checkManager(t *testing.T, r rendered, v values, flagNames map[string]bool) {
	t.Helper()
	d := r.deployment(t, managerName)
	c := d.Spec.Template.Spec.Containers[0]
	checkFlags(t, "manager", c.Args, flagNames)
	if d.Spec.Replicas == nil || int(*d.Spec.Replicas) != v.Manager.Replicas {
		t.Errorf("manager replicas %v, want %d", d.Spec.Replicas, v.Manager.Replicas)
	}
	elect := v.Manager.Replicas > 1
	if got := slices.Contains(c.Args, "--leader-elect"); got != elect {
		t.Errorf("--leader-elect given: %v, want %v with %d replicas", got, elect, v.Manager.Replicas)
	}
	le := v.Manager.LeaderElection
	for flag, val := range map[string]string{"lease-duration": le.LeaseDuration, "renew-deadline": le.RenewDeadline, "retry-period": le.RetryPeriod} {
		arg := "--leader-elect-" + flag + "=" + val
		if want := elect && val != ""; slices.Contains(c.Args, arg) != want {
			t.Errorf("%s given: %v, want %v (leader election %v, value %q)", arg, !want, want, elect, val)
		}
	}
	wantStrategy := appsv1.RecreateDeploymentStrategyType
	if elect {
		wantStrategy = appsv1.RollingUpdateDeploymentStrategyType
	}
	if d.Spec.Strategy.Type != wantStrategy {
		t.Errorf("manager strategy %s, want %s (two managers must never reconcile at once without leader election)", d.Spec.Strategy.Type, wantStrategy)
	}
	if got := r.find("Role", leaderElection) != nil; got != elect {
		t.Errorf("leader-election Role rendered: %v, want %v", got, elect)
	}
	if got := r.find("PodDisruptionBudget", managerName) != nil; got != elect {
		t.Errorf("manager PodDisruptionBudget rendered: %v, want %v", got, elect)
	}

	wantURL := v.Manager.StoreURL
	if wantURL == "" {
		wantURL = defaultStoreURL
	}
	if arg := flagValue(c.Args, "store-url"); arg != wantURL {
		t.Errorf("--store-url=%s, want %s", arg, wantURL)
	}
	if ns := flagValue(c.Args, "namespace"); ns != "$(POD_NAMESPACE)" {
		t.Errorf("--namespace=%s, want the pod's namespace (the invitation-Secret Role is there)", ns)
	}
	wantSecret := v.Tokens.Manager.ExistingSecret
	if wantSecret == "" {
		wantSecret = generatedToken
	}
	checkSecretFile(t, d, flagValue(c.Args, "store-token-file"), tokenMountPath, wantSecret, v.Tokens.Manager.Key)
}

// The store: on SQLite one replica replaced on update, its database on the volume
// claim; on PostgreSQL the replicas asked for, rolling, the URL from the Secret, no claim.
func checkStore(t *testing.T, r rendered, v values, flagNames map[string]bool) {
	t.Helper()
	if !v.Store.Enabled {
		for _, kind := range []string{"Deployment", "Service", "PersistentVolumeClaim", "Secret"} {
			for _, name := range []string{storeName, generatedPVC, generatedTokens} {
				if r.find(kind, name) != nil {
					t.Errorf("store.enabled=false, yet %s %s is rendered", kind, name)
				}
			}
		}
		return
	}
	d := r.deployment(t, storeName)
	c := d.Spec.Template.Spec.Containers[0]
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Fatalf("store args %v must start with the serve command", c.Args)
	}
	checkFlags(t, "studio-store serve", c.Args[1:], flagNames)
	if d.Spec.Template.Spec.AutomountServiceAccountToken == nil || *d.Spec.Template.Spec.AutomountServiceAccountToken {
		t.Error("the store needs no service account token; it must not be mounted")
	}
	if flagValue(c.Args, "db") != "$(STUDIO_STORE_DB)" || len(c.Env) == 0 || c.Env[0].Name != "STUDIO_STORE_DB" {
		t.Fatalf("store --db must come from STUDIO_STORE_DB, got args %v env %v", c.Args, c.Env)
	}
	db := c.Env[0]
	claim := claimOf(d, "data")
	switch v.Store.Database {
	case "sqlite":
		if *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			t.Errorf("SQLite store: %d replicas, %s; want 1, Recreate", *d.Spec.Replicas, d.Spec.Strategy.Type)
		}
		if db.Value != sqliteDBOnVolume {
			t.Errorf("SQLite store: STUDIO_STORE_DB=%q, want %q", db.Value, sqliteDBOnVolume)
		}
		wantClaim := v.Store.SQLite.Persistence.ExistingClaim
		if wantClaim == "" {
			wantClaim = generatedPVC
			if r.find("PersistentVolumeClaim", generatedPVC) == nil {
				t.Errorf("no PersistentVolumeClaim %s", generatedPVC)
			}
		} else if len(r.ofKind("PersistentVolumeClaim")) != 0 {
			t.Error("with an existing claim the chart must not create one")
		}
		if claim != wantClaim {
			t.Errorf("the data volume mounts claim %q, want %q", claim, wantClaim)
		}
	case "postgres":
		if int(*d.Spec.Replicas) != v.Store.Replicas || d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
			t.Errorf("PostgreSQL store: %d replicas, %s; want %d, RollingUpdate", *d.Spec.Replicas, d.Spec.Strategy.Type, v.Store.Replicas)
		}
		if db.ValueFrom == nil || db.ValueFrom.SecretKeyRef == nil || db.ValueFrom.SecretKeyRef.Name != v.Store.Postgres.ExistingSecret || db.ValueFrom.SecretKeyRef.Key != v.Store.Postgres.Key {
			t.Errorf("PostgreSQL store: the URL must come from Secret %s key %s, got %+v", v.Store.Postgres.ExistingSecret, v.Store.Postgres.Key, db)
		}
		if claim != "" || len(r.ofKind("PersistentVolumeClaim")) != 0 {
			t.Error("the PostgreSQL store needs no volume claim")
		}
		// Every replica must derive the same invitation links.
		checkSecretFile(t, d, flagValue(c.Args, "link-key-file"), linkKeyMountPath, v.Store.LinkKey.ExistingSecret, v.Store.LinkKey.Key)
		if got := r.find("PodDisruptionBudget", storeName) != nil; got != (v.Store.Replicas > 1) {
			t.Errorf("store PodDisruptionBudget rendered: %v with %d replicas", got, v.Store.Replicas)
		}
	default:
		t.Fatalf("unknown database %q", v.Store.Database)
	}
	wantSecret := v.Tokens.Store.ExistingSecret
	if wantSecret == "" {
		wantSecret = generatedTokens
	}
	checkSecretFile(t, d, flagValue(c.Args, "tokens-file"), tokensMountPath, wantSecret, v.Tokens.Store.Key)
	if !strings.HasPrefix(flagValue(c.Args, "mail-dir"), "/var/lib/studio/") {
		t.Error("--mail-dir must be on the data volume (the root filesystem is read-only)")
	}
}

// checkSecretFile checks that a --*-file flag names key in secret, mounted at dir.
func checkSecretFile(t *testing.T, d *appsv1.Deployment, path, dir, secret, key string) {
	t.Helper()
	if path != dir+key {
		t.Errorf("%s: file flag %q, want %q", d.Name, path, dir+key)
	}
	var volume string
	for _, m := range d.Spec.Template.Spec.Containers[0].VolumeMounts {
		if m.MountPath+"/" == dir {
			volume = m.Name
		}
	}
	for _, vol := range d.Spec.Template.Spec.Volumes {
		if vol.Name == volume {
			if vol.Secret == nil || vol.Secret.SecretName != secret {
				t.Errorf("%s: volume %s is not Secret %s: %+v", d.Name, volume, secret, vol.VolumeSource)
			}
			return
		}
	}
	t.Errorf("%s: nothing is mounted at %s", d.Name, dir)
}

func claimOf(d *appsv1.Deployment, volume string) string {
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == volume && v.PersistentVolumeClaim != nil {
			return v.PersistentVolumeClaim.ClaimName
		}
	}
	return ""
}

// flagValue returns the value of --name=value in args.
func flagValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

// The manager's roles have exactly the rules of config/rbac (generated from the RBAC
// markers), bound to its ServiceAccount; the aggregated roles are there when asked for.
func checkRBAC(t *testing.T, r rendered, v values) {
	t.Helper()
	want := readRoles(t, "role.yaml")
	sa := r.ofKind("ServiceAccount")
	if len(sa) != 1 {
		t.Fatalf("%d ServiceAccounts, want 1", len(sa))
	}
	subject := rbacv1.Subject{Kind: "ServiceAccount", Name: sa[0].GetName(), Namespace: namespace}
	if d := r.deployment(t, managerName); d.Spec.Template.Spec.ServiceAccountName != subject.Name {
		t.Errorf("the manager runs as %q, want %q", d.Spec.Template.Spec.ServiceAccountName, subject.Name)
	}
	checkRole(t, r, "ClusterRole", managerRoleName, want["ClusterRole/manager-role"].rules)
	checkRole(t, r, "Role", managerRoleName, want["Role/manager-role"].rules)
	checkBinding(t, r, "ClusterRoleBinding", managerRoleName, "ClusterRole", subject)
	checkBinding(t, r, "RoleBinding", managerRoleName, "Role", subject)
	if r.find("Role", leaderElection) != nil {
		checkRole(t, r, "Role", leaderElection, readRoles(t, "leader_election_role.yaml")["Role/"+leaderElection].rules)
		checkBinding(t, r, "RoleBinding", leaderElection, "Role", subject)
	}

	aggregated := map[string]role{}
	for k, ro := range readRoles(t, "studio_viewer_role.yaml") {
		aggregated[k] = ro
	}
	for k, ro := range readRoles(t, "studio_editor_role.yaml") {
		aggregated[k] = ro
	}
	for _, name := range []string{aggregatedViewer, aggregatedEditor, aggregatedAccess} {
		u := r.find("ClusterRole", name)
		if !v.RBAC.AggregateToDefaultRoles {
			if u != nil {
				t.Errorf("rbac.aggregateToDefaultRoles=false, yet ClusterRole %s is rendered", name)
			}
			continue
		}
		wantRole := aggregated["ClusterRole/"+name]
		checkRole(t, r, "ClusterRole", name, wantRole.rules)
		if u != nil {
			for k, val := range wantRole.labels {
				if strings.HasPrefix(k, "rbac.authorization.k8s.io/") && u.GetLabels()[k] != val {
					t.Errorf("ClusterRole %s: label %s=%q, want %q", name, k, u.GetLabels()[k], val)
				}
			}
		}
	}
}

type role struct {
	rules  []rbacv1.PolicyRule
	labels map[string]string
}

// readRoles reads a file of config/rbac, keyed by "<Kind>/<name>".
func readRoles(t *testing.T, file string) map[string]role {
	t.Helper()
	objs, err := decodeObjects(string(readFile(t, filepath.Join(repoRoot, "config/rbac", file))))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]role{}
	for _, o := range objs {
		cr := convert[rbacv1.ClusterRole](t, o) // a Role has the same fields
		out[o.GetKind()+"/"+o.GetName()] = role{rules: cr.Rules, labels: o.GetLabels()}
	}
	return out
}

func checkRole(t *testing.T, r rendered, kind, name string, want []rbacv1.PolicyRule) {
	t.Helper()
	u := r.find(kind, name)
	if u == nil {
		t.Errorf("no %s %s", kind, name)
		return
	}
	if len(want) == 0 {
		t.Fatalf("config/rbac has no rules for %s %s", kind, name)
	}
	got := convert[rbacv1.ClusterRole](t, u)
	if diff := cmp.Diff(want, got.Rules); diff != "" {
		t.Errorf("%s %s rules differ from config/rbac; run make chart-files (-want +got):\n%s", kind, name, diff)
	}
}

func checkBinding(t *testing.T, r rendered, kind, name, roleKind string, subject rbacv1.Subject) {
	t.Helper()
	u := r.find(kind, name)
	if u == nil {
		t.Errorf("no %s %s", kind, name)
		return
	}
	b := convert[rbacv1.ClusterRoleBinding](t, u)
	if b.RoleRef.Kind != roleKind || r.find(roleKind, b.RoleRef.Name) == nil {
		t.Errorf("%s %s refers to %s %s, which is not rendered", kind, name, b.RoleRef.Kind, b.RoleRef.Name)
	}
	if diff := cmp.Diff([]rbacv1.Subject{subject}, b.Subjects); diff != "" {
		t.Errorf("%s %s subjects (-want +got):\n%s", kind, name, diff)
	}
}

// A generated token is one the generated tokens file admits as admin; existing Secrets
// are used as they are, and nothing is generated for them.
func checkTokens(t *testing.T, r rendered, v values) {
	t.Helper()
	tokenSecret := r.find("Secret", generatedToken)
	if (tokenSecret != nil) != (v.Tokens.Manager.ExistingSecret == "") {
		t.Fatalf("generated token Secret rendered: %v, with tokens.manager.existingSecret=%q", tokenSecret != nil, v.Tokens.Manager.ExistingSecret)
	}
	tokensSecret := r.find("Secret", generatedTokens)
	if (tokensSecret != nil) != (v.Store.Enabled && v.Tokens.Store.ExistingSecret == "") {
		t.Fatalf("generated tokens-file Secret rendered: %v, with store.enabled=%v tokens.store.existingSecret=%q", tokensSecret != nil, v.Store.Enabled, v.Tokens.Store.ExistingSecret)
	}
	if tokenSecret == nil || tokensSecret == nil {
		return
	}
	// The conversion decodes the Secret's base64 data.
	token := string(convert[corev1.Secret](t, tokenSecret).Data[v.Tokens.Manager.Key])
	if len(token) < 32 {
		t.Fatalf("generated token has %d characters, want at least 32", len(token))
	}
	file := convert[corev1.Secret](t, tokensSecret).StringData[v.Tokens.Store.Key]
	tokens, err := auth.Parse(strings.NewReader(file), "tokens")
	if err != nil {
		t.Fatalf("the generated tokens file does not parse: %v\n%s", err, file)
	}
	p, ok := tokens.Authenticate(token)
	if !ok || p.Role != auth.RoleAdmin {
		t.Errorf("the generated token is not an admin token of the generated tokens file (%v, %v)", p, ok)
	}
}

// ServiceMonitors, when asked for, decode as the Prometheus Operator's type (no unknown
// fields) and select a Service with the port they scrape.
func checkServiceMonitors(t *testing.T, r rendered, v values) {
	t.Helper()
	sms := r.ofKind("ServiceMonitor")
	want := 0
	if v.ServiceMonitor.Enabled {
		want = 1
		if v.Store.Enabled {
			want = 2
		}
	}
	if len(sms) != want {
		t.Fatalf("%d ServiceMonitors, want %d", len(sms), want)
	}
	for _, u := range sms {
		if u.GetAPIVersion() != serviceMonitorAPI {
			t.Errorf("ServiceMonitor %s: apiVersion %s", u.GetName(), u.GetAPIVersion())
		}
		sm := convert[monitoringv1.ServiceMonitor](t, u)
		sel, err := labels.ValidatedSelectorFromSet(sm.Spec.Selector.MatchLabels)
		if err != nil {
			t.Fatal(err)
		}
		var matched []*corev1.Service
		for _, su := range r.ofKind("Service") {
			if sel.Matches(labels.Set(su.GetLabels())) {
				matched = append(matched, convert[corev1.Service](t, su))
			}
		}
		if len(matched) != 1 {
			t.Errorf("ServiceMonitor %s selects %d Services, want 1", sm.Name, len(matched))
			continue
		}
		for _, ep := range sm.Spec.Endpoints {
			if !slices.ContainsFunc(matched[0].Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == ep.Port }) {
				t.Errorf("ServiceMonitor %s scrapes port %q, which Service %s does not have", sm.Name, ep.Port, matched[0].Name)
			}
			if ep.Path != "/metrics" {
				t.Errorf("ServiceMonitor %s scrapes %q, want /metrics", sm.Name, ep.Path)
			}
		}
	}
}

// The PrometheusRule, when asked for, decodes as the Prometheus Operator's type (no
// unknown fields), carries the labels Prometheus selects it by, and holds exactly the
// alerts of config/prometheus: the chart renders that file, it does not keep its own.
func checkPrometheusRule(t *testing.T, r rendered, v values) {
	t.Helper()
	prs := r.ofKind("PrometheusRule")
	want := 0
	if v.PrometheusRule.Enabled {
		want = 1
	}
	if len(prs) != want {
		t.Fatalf("%d PrometheusRules, want %d", len(prs), want)
	}
	if want == 0 {
		return
	}
	u := prs[0]
	if u.GetAPIVersion() != serviceMonitorAPI {
		t.Errorf("PrometheusRule %s: apiVersion %s", u.GetName(), u.GetAPIVersion())
	}
	for k, val := range v.PrometheusRule.Labels {
		if u.GetLabels()[k] != val {
			t.Errorf("PrometheusRule %s: label %s=%q, want %q", u.GetName(), k, u.GetLabels()[k], val)
		}
	}
	got := convert[monitoringv1.PrometheusRule](t, u)
	var source monitoringv1.PrometheusRule
	if err := yaml.UnmarshalStrict(readFile(t, filepath.Join(repoRoot, "config/prometheus/studio-operator-rules.yaml")), &source); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(source.Spec, got.Spec); diff != "" {
		t.Errorf("the chart's PrometheusRule differs from config/prometheus/studio-operator-rules.yaml (run make chart-files), -file +chart:\n%s", diff)
	}
	alerts := 0
	for _, g := range got.Spec.Groups {
		alerts += len(g.Rules)
	}
	if alerts == 0 {
		t.Error("the chart's PrometheusRule has no alerts")
	}
}
