package e2e

import (
	"errors"
	"io"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// The deploy manifests must be accepted by a real apiserver with the CRDs installed:
// schema, defaulting and admission, without creating anything. The sandbox already has
// namespace studio-system, so the namespaced objects can be dry-run in it.
func TestDeployManifestsPassServerDryRun(t *testing.T) {
	cases := map[string]struct {
		dir  string
		want []string
		not  []string
	}{
		"default (store on SQLite)": {
			dir: "config/default",
			want: []string{
				"deployment.apps/studio-operator created (server dry run)",
				"deployment.apps/studio-store created (server dry run)",
				"service/studio-store created (server dry run)",
				"persistentvolumeclaim/studio-store-data created (server dry run)",
				"clusterrolebinding.rbac.authorization.k8s.io/studio-operator-manager created (server dry run)",
				"serviceaccount/studio-operator created (server dry run)",
			},
		},
		"postgres overlay": {
			dir: "config/postgres",
			want: []string{
				"deployment.apps/studio-store created (server dry run)",
				"secret/studio-store-db created (server dry run)",
			},
			not: []string{"persistentvolumeclaim/"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			out := kubectl(t, "apply", "--dry-run=server", "-k", tc.dir)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("kubectl apply --dry-run=server -k %s: missing %q in:\n%s", tc.dir, w, out)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(out, n) {
					t.Errorf("kubectl apply --dry-run=server -k %s: unexpected %q in:\n%s", tc.dir, n, out)
				}
			}
		})
	}
}

// Every workload of the deploy manifests runs hardened and bounded: non-root, read-only
// root filesystem, no capabilities, the runtime's seccomp profile, probes, requests and
// limits. The SQLite store runs alone and is replaced, never rolled (one writer).
func TestDeployManifestsAreHardened(t *testing.T) {
	for _, dir := range []string{"config/default", "config/postgres"} {
		t.Run(dir, func(t *testing.T) {
			deployments := renderDeployments(t, dir)
			if len(deployments) != 2 {
				t.Fatalf("want the manager and the store Deployments, got %d", len(deployments))
			}
			for _, d := range deployments {
				pod := d.Spec.Template.Spec
				if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
					t.Errorf("%s: pod must set runAsNonRoot", d.Name)
				}
				if pod.SecurityContext == nil || pod.SecurityContext.SeccompProfile == nil || pod.SecurityContext.SeccompProfile.Type != "RuntimeDefault" {
					t.Errorf("%s: pod must use the RuntimeDefault seccomp profile", d.Name)
				}
				for _, c := range pod.Containers {
					sc := c.SecurityContext
					switch {
					case sc == nil:
						t.Errorf("%s/%s: no securityContext", d.Name, c.Name)
						continue
					case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
						t.Errorf("%s/%s: root filesystem must be read-only", d.Name, c.Name)
					case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
						t.Errorf("%s/%s: privilege escalation must be off", d.Name, c.Name)
					case sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL":
						t.Errorf("%s/%s: must drop ALL capabilities", d.Name, c.Name)
					}
					if c.LivenessProbe == nil || c.ReadinessProbe == nil {
						t.Errorf("%s/%s: liveness and readiness probes required", d.Name, c.Name)
					}
					if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
						t.Errorf("%s/%s: CPU and memory requests and a memory limit required", d.Name, c.Name)
					}
				}
			}
			store := deployments["studio-store"]
			if store == nil {
				t.Fatal("no studio-store Deployment")
			}
			args := strings.Join(store.Spec.Template.Spec.Containers[0].Args, " ")
			env := store.Spec.Template.Spec.Containers[0].Env
			switch dir {
			case "config/default":
				if store.Spec.Strategy.Type != "Recreate" || store.Spec.Replicas == nil || *store.Spec.Replicas != 1 {
					t.Errorf("the SQLite store must run one replica with strategy Recreate, got %v replicas, %s", store.Spec.Replicas, store.Spec.Strategy.Type)
				}
				if len(env) == 0 || env[0].Name != "STUDIO_STORE_DB" || !strings.HasPrefix(env[0].Value, "sqlite:///var/lib/studio/") {
					t.Errorf("the store's database must be SQLite on the volume, got %+v", env)
				}
			case "config/postgres":
				if len(env) == 0 || env[0].ValueFrom == nil || env[0].ValueFrom.SecretKeyRef == nil || env[0].ValueFrom.SecretKeyRef.Name != "studio-store-db" {
					t.Errorf("the store's database URL must come from Secret studio-store-db, got %+v", env)
				}
				linkKey := false
				for _, v := range store.Spec.Template.Spec.Volumes {
					if v.PersistentVolumeClaim != nil {
						t.Errorf("the PostgreSQL store must not mount a volume claim (%s)", v.Name)
					}
					linkKey = linkKey || v.Secret != nil && v.Secret.SecretName == "studio-store-link-key"
				}
				keyFile := false
				for _, e := range env {
					keyFile = keyFile || e.Name == "STUDIO_STORE_LINK_KEY_FILE" && strings.HasPrefix(e.Value, "/etc/studio/link-key/")
				}
				if !linkKey || !keyFile {
					t.Errorf("the PostgreSQL store needs the shared link key from Secret studio-store-link-key (volume %v, STUDIO_STORE_LINK_KEY_FILE %v)", linkKey, keyFile)
				}
			}
			if !strings.Contains(args, "--db=$(STUDIO_STORE_DB)") || !strings.Contains(args, "--tokens-file=") {
				t.Errorf("store args %q lack --db or --tokens-file", args)
			}
			manager := deployments["studio-operator"]
			if manager == nil {
				t.Fatal("no studio-operator Deployment")
			}
			margs := strings.Join(manager.Spec.Template.Spec.Containers[0].Args, " ")
			for _, want := range []string{"--store-url=http://studio-store:8080", "--store-token-file=", "--leader-elect", "--health-probe-bind-address=:8081"} {
				if !strings.Contains(margs, want) {
					t.Errorf("manager args %q lack %s", margs, want)
				}
			}
		})
	}
}

// renderDeployments renders a kustomization with kubectl's built-in kustomize and
// returns its Deployments by name.
func renderDeployments(t *testing.T, dir string) map[string]*appsv1.Deployment {
	t.Helper()
	out := kubectl(t, "kustomize", dir)
	deployments := map[string]*appsv1.Deployment{}
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(out), 4096)
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("kustomize %s: %v", dir, err)
		}
		if obj["kind"] != "Deployment" {
			continue
		}
		d := &appsv1.Deployment{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, d); err != nil {
			t.Fatalf("kustomize %s: %v", dir, err)
		}
		deployments[d.Name] = d
	}
	return deployments
}
