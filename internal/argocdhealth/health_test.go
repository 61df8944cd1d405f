package argocdhealth

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/yaml"
)

// scriptsDir holds the Lua sources, relative to this package.
const scriptsDir = "../../config/argocd/health"

// want is what Argo CD and kstatus should make of one fixture.
type want struct {
	argo    ArgoCDHealth
	kstatus status.Status
}

// expectations is keyed "<Kind>/<fixture name>"; fixtures live in testdata/<kind>.yaml.
var expectations = map[string]want{
	"StudioUser/fresh":            {ArgoCDHealth{ArgoCDProgressing, "Waiting for the operator to observe the StudioUser"}, status.InProgressStatus},
	"StudioUser/no-status":        {ArgoCDHealth{ArgoCDProgressing, "Waiting for the operator to observe the StudioUser"}, status.CurrentStatus}, // kstatus needs observedGeneration: hence the CRD default -1
	"StudioUser/reconciling":      {ArgoCDHealth{ArgoCDProgressing, "Creating the user in the Studio"}, status.InProgressStatus},
	"StudioUser/ready":            {ArgoCDHealth{ArgoCDHealthy, "User is reconciled into the Studio"}, status.CurrentStatus},
	"StudioUser/transient":        {ArgoCDHealth{ArgoCDProgressing, "The Studio user store is unavailable; retrying"}, status.InProgressStatus},
	"StudioUser/stalled":          {ArgoCDHealth{ArgoCDDegraded, "Another Studio user already has this email"}, status.FailedStatus},
	"StudioUser/suspended":        {ArgoCDHealth{ArgoCDSuspended, "Suspended: the user is kept but has no access"}, status.CurrentStatus},
	"StudioUser/suspending":       {ArgoCDHealth{ArgoCDProgressing, "Waiting for the operator to observe generation 4 (observed 3)"}, status.InProgressStatus},
	"StudioUser/stale-generation": {ArgoCDHealth{ArgoCDProgressing, "Waiting for the operator to observe generation 3 (observed 2)"}, status.InProgressStatus},
	"StudioUser/deleting":         {ArgoCDHealth{ArgoCDProgressing, "Pending deletion: Removing the user from the Studio"}, status.TerminatingStatus},

	"Agency/fresh":            {ArgoCDHealth{ArgoCDProgressing, "Waiting for the operator to observe the Agency"}, status.InProgressStatus},
	"Agency/reconciling":      {ArgoCDHealth{ArgoCDProgressing, "Upserting the agency in the Studio"}, status.InProgressStatus},
	"Agency/ready":            {ArgoCDHealth{ArgoCDHealthy, "Agency is reconciled into the Studio"}, status.CurrentStatus},
	"Agency/stalled":          {ArgoCDHealth{ArgoCDDegraded, "The agency is managed by another operator instance"}, status.FailedStatus},
	"Agency/stale-generation": {ArgoCDHealth{ArgoCDProgressing, "Waiting for the operator to observe generation 3 (observed 2)"}, status.InProgressStatus},
	"Agency/deleting":         {ArgoCDHealth{ArgoCDProgressing, "Pending deletion: Waiting for 2 Environments to be deleted"}, status.TerminatingStatus},

	"Environment/fresh":            {ArgoCDHealth{ArgoCDProgressing, "Waiting for the operator to observe the Environment"}, status.InProgressStatus},
	"Environment/reconciling":      {ArgoCDHealth{ArgoCDProgressing, "Upserting the environment in the Studio"}, status.InProgressStatus},
	"Environment/ready":            {ArgoCDHealth{ArgoCDHealthy, "Environment is reconciled into the Studio"}, status.CurrentStatus},
	"Environment/stalled":          {ArgoCDHealth{ArgoCDDegraded, "Agency acme does not allow environments in namespace team-support"}, status.FailedStatus},
	"Environment/stale-generation": {ArgoCDHealth{ArgoCDProgressing, "Waiting for the operator to observe generation 3 (observed 2)"}, status.InProgressStatus},
	"Environment/deleting":         {ArgoCDHealth{ArgoCDProgressing, "Pending deletion: Deleting the environment from the Studio"}, status.TerminatingStatus},

	"RoleBinding/fresh":            {ArgoCDHealth{ArgoCDProgressing, "Waiting for the operator to observe the RoleBinding"}, status.InProgressStatus},
	"RoleBinding/reconciling":      {ArgoCDHealth{ArgoCDProgressing, "Applying the roles to 1 subject"}, status.InProgressStatus},
	"RoleBinding/ready":            {ArgoCDHealth{ArgoCDHealthy, "Roles apply to 1 of 1 subjects"}, status.CurrentStatus},
	"RoleBinding/stalled":          {ArgoCDHealth{ArgoCDDegraded, "Agency-scoped RoleBindings of agency acme must live in namespace acme"}, status.FailedStatus},
	"RoleBinding/stale-generation": {ArgoCDHealth{ArgoCDProgressing, "Waiting for the operator to observe generation 3 (observed 2)"}, status.InProgressStatus},
	"RoleBinding/deleting":         {ArgoCDHealth{ArgoCDProgressing, "Pending deletion: Revoking the roles from 1 subject"}, status.TerminatingStatus},
}

// TestArgoCDHealthScripts runs each kind's Lua script on its fixtures in Argo CD's
// sandbox.
func TestArgoCDHealthScripts(t *testing.T) {
	scripts := readScripts(t)
	fixtures := readFixtures(t)
	for key, obj := range fixtures {
		t.Run(key, func(t *testing.T) {
			w, ok := expectations[key]
			if !ok {
				t.Fatalf("fixture %s has no expectation", key)
			}
			got, err := EvalArgoCDHealth(scripts[obj.GetKind()], obj.Object)
			if err != nil {
				t.Fatalf("script failed: %v", err)
			}
			if diff := cmp.Diff(w.argo, got); diff != "" {
				t.Errorf("Argo CD health (-want +got):\n%s", diff)
			}
		})
	}
	for key := range expectations {
		if _, ok := fixtures[key]; !ok {
			t.Errorf("expectation %s has no fixture", key)
		}
	}
}

// TestKstatus checks that kstatus, which Flux and cli-utils use, reads the same
// fixtures as the Lua scripts do, without any script.
func TestKstatus(t *testing.T) {
	for key, obj := range readFixtures(t) {
		t.Run(key, func(t *testing.T) {
			w, ok := expectations[key]
			if !ok {
				t.Fatalf("fixture %s has no expectation", key)
			}
			res, err := status.Compute(obj)
			if err != nil {
				t.Fatalf("Compute: %v", err)
			}
			if res.Status != w.kstatus {
				t.Errorf("kstatus = %s (%s), want %s", res.Status, res.Message, w.kstatus)
			}
			if w.kstatus == status.FailedStatus && res.Message != w.argo.Message {
				t.Errorf("kstatus message = %q, want the Stalled message %q", res.Message, w.argo.Message)
			}
		})
	}
}

func TestEvalArgoCDHealthSandbox(t *testing.T) {
	obj := map[string]any{"metadata": map[string]any{"name": "x", "generation": int64(2)}, "spec": map[string]any{"list": []any{"a", "b"}}}
	cases := map[string]struct {
		script  string
		want    ArgoCDHealth
		wantErr bool
	}{
		"reads obj": {
			script: `return {status = "Healthy", message = obj.metadata.name .. " " .. tostring(obj.metadata.generation) .. " " .. obj.spec.list[2]}`,
			want:   ArgoCDHealth{ArgoCDHealthy, "x 2 b"},
		},
		"table library is loaded": {
			script: `local t = {} table.insert(t, "Degraded") return {status = t[1]}`,
			want:   ArgoCDHealth{Status: ArgoCDDegraded},
		},
		"unknown status becomes Unknown": {
			script: `return {status = "Fine"}`,
			want:   ArgoCDHealth{ArgoCDUnknown, msgInvalidStatus},
		},
		"string library is not loaded": {
			script:  `return {status = string.upper("healthy")}`,
			wantErr: true,
		},
		"math library is not loaded": {
			script:  `return {status = "Healthy", message = tostring(math.max(1, 2))}`,
			wantErr: true,
		},
		"must return a table": {
			script:  `return "Healthy"`,
			wantErr: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := EvalArgoCDHealth(tc.script, obj)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestEvalArgoCDHealthStopsRunawayScripts(t *testing.T) {
	if _, err := EvalArgoCDHealth(`while true do end`, map[string]any{}); err == nil {
		t.Fatal("a script that never returns must fail, not hang")
	}
}

// readScript returns the health script, config/argocd/health/studio-operator.lua.
func readScript(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(scriptsDir, ScriptFile))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// readScripts returns kind → Lua source: the one script, for every kind in Kinds.
func readScripts(t *testing.T) map[string]string {
	t.Helper()
	script := readScript(t)
	out := make(map[string]string, len(Kinds))
	for _, kind := range Kinds {
		out[kind] = script
	}
	return out
}

// readFixtures returns the objects in testdata/*.yaml keyed "<Kind>/<name>".
func readFixtures(t *testing.T) map[string]*unstructured.Unstructured {
	t.Helper()
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	out := make(map[string]*unstructured.Unstructured)
	for _, f := range files {
		for _, obj := range readObjects(t, f) {
			key := obj.GetKind() + "/" + obj.GetName()
			if _, dup := out[key]; dup {
				t.Fatalf("%s: duplicate fixture %s", f, key)
			}
			out[key] = obj
		}
	}
	return out
}

// readObjects decodes every document of a multi-document YAML file.
func readObjects(t *testing.T, file string) []*unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []*unstructured.Unstructured
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if string(bytes.TrimSpace(js)) == "null" {
			continue // a document with only comments
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(js); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		out = append(out, obj)
	}
}
