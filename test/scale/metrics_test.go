package scale

import (
	"math"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/studio-operator/studio-operator/internal/store"
)

func TestParseMetrics(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    Samples
		wantErr bool
	}{
		{name: "comments and blank lines", text: "# HELP x y\n# TYPE x counter\n\n", want: nil},
		{name: "no labels", text: "up 1\n", want: Samples{{Name: "up", Labels: map[string]string{}, Value: 1}}},
		{name: "labels and a timestamp", text: `studio_store_http_requests_total{code="200",route="GET /api/v1/users/{user}"} 12 1700000000000`,
			want: Samples{{Name: "studio_store_http_requests_total", Labels: map[string]string{"code": "200", "route": "GET /api/v1/users/{user}"}, Value: 12}}},
		{name: "escapes, trailing comma, spaces", text: `m{a="x\"y\\z\n", b="}," ,} 2.5e3`,
			want: Samples{{Name: "m", Labels: map[string]string{"a": "x\"y\\z\n", "b": "},"}, Value: 2500}}},
		{name: "special values", text: "a +Inf\nb NaN\n", want: Samples{{Name: "a", Labels: map[string]string{}, Value: math.Inf(1)}, {Name: "b", Labels: map[string]string{}, Value: math.NaN()}}},
		{name: "empty label set", text: "a{} 3", want: Samples{{Name: "a", Labels: map[string]string{}, Value: 3}}},
		{name: "no value", text: "a{b=\"c\"}", wantErr: true},
		{name: "bad value", text: "a x", wantErr: true},
		{name: "unterminated labels", text: `a{b="c" 1`, wantErr: true},
		{name: "unquoted label", text: `a{b=c} 1`, wantErr: true},
		{name: "extra fields", text: "a 1 2 3", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMetrics(tt.text)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) })); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

// A page as the three sources serve it; the sums must pick exactly what the report
// promises.
const samplePage = `# TYPE studio_store_http_requests_total counter
studio_store_http_requests_total{code="200",route="GET /metrics"} 40
studio_store_http_requests_total{code="200",route="GET /api/v1/users/{user}"} 7
studio_store_http_requests_total{code="201",route="PUT /api/v1/users/{user}"} 3
apiserver_request_total{code="201",component="apiserver",dry_run="",group="iam.studio-operator.io",resource="studiousers",scope="cluster",subresource="",verb="POST",version="v1alpha1"} 20
apiserver_request_total{code="200",component="apiserver",dry_run="",group="iam.studio-operator.io",resource="studiousers",scope="cluster",subresource="status",verb="PATCH",version="v1alpha1"} 21
apiserver_request_total{code="200",component="apiserver",dry_run="",group="iam.studio-operator.io",resource="studiousers",scope="cluster",subresource="",verb="LIST",version="v1alpha1"} 500
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="secrets",scope="resource",subresource="",verb="POST",version="v1"} 4
apiserver_request_total{code="201",component="apiserver",dry_run="",group="events.k8s.io",resource="events",scope="resource",subresource="",verb="POST",version="v1"} 2
apiserver_request_total{code="200",component="apiserver",dry_run="",group="coordination.k8s.io",resource="leases",scope="resource",subresource="",verb="PUT",version="v1"} 99
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="namespaces",scope="cluster",subresource="",verb="POST",version="v1"} 5
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="APPLY",version="v1"} 6
rest_client_requests_total{code="200",host="127.0.0.1:1",method="GET"} 10
rest_client_requests_total{code="200",host="127.0.0.1:1",method="PATCH"} 5
controller_runtime_reconcile_total{controller="studiouser",result="success"} 8
`

func TestCounters(t *testing.T) {
	ss, err := ParseMetrics(samplePage)
	if err != nil {
		t.Fatal(err)
	}
	var c counters
	c.fromStore(ss)
	c.fromAPIServer(ss)
	c.fromManager(ss)
	want := counters{
		StoreRequests: 10,
		StoreByRoute:  map[string]float64{"GET /api/v1/users/{user}": 7, "PUT /api/v1/users/{user}": 3},
		APIWrites:     47,
		APIWritesBy:   map[string]float64{"POST studiousers ": 20, "PATCH studiousers status": 21, "POST secrets ": 4, "POST events ": 2},
		ManagerREST:   15,
		Reconciles:    map[string]float64{"studiouser success": 8},
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("counters (-want +got)\n%s", diff)
	}
	d := c.sub(counters{StoreRequests: 4, StoreByRoute: map[string]float64{"PUT /api/v1/users/{user}": 3}, APIWrites: 7})
	if d.StoreRequests != 6 || d.APIWrites != 40 || len(d.StoreByRoute) != 1 {
		t.Errorf("sub = %+v", d)
	}
}

func TestPlannerGrant(t *testing.T) {
	entry := func(action, target string, details map[string]any) store.AuditEntry {
		return store.AuditEntry{Action: action, Target: target, Details: details}
	}
	planner := map[string]any{"scope": map[string]any{"agency": "ag-1"}, "role": "Planner"}
	tests := []struct {
		name   string
		e      store.AuditEntry
		want   string
		wantOK bool
	}{
		{"grant added", entry(store.ActionGrantAdded, "user/u-00001", planner), "u-00001", true},
		{"removed", entry(store.ActionGrantRemoved, "user/u-00001", planner), "", false},
		{"other role", entry(store.ActionGrantAdded, "user/u-00001", map[string]any{"scope": map[string]any{"agency": "ag-1"}, "role": "Analyst"}), "", false},
		{"other agency", entry(store.ActionGrantAdded, "user/u-00001", map[string]any{"scope": map[string]any{"agency": "ag-2"}, "role": "Planner"}), "", false},
		{"environment scope", entry(store.ActionGrantAdded, "user/u-00001", map[string]any{"scope": map[string]any{"environment": "ag-1.env-001"}, "role": "Planner"}), "", false},
		{"block", entry(store.ActionGrantAdded, "user/u-00001", map[string]any{"scope": map[string]any{"agency": "ag-1"}, "block": true}), "", false},
		{"not a user", entry(store.ActionGrantAdded, "agency/ag-1", planner), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := plannerGrant(tt.e, FanoutAgency, FanoutRole)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("plannerGrant = %q, %v; want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestParseProcStatus(t *testing.T) {
	peak, now, err := parseProcStatus("Name:\tmanager\nVmPeak:\t 900000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n")
	if err != nil || peak != 200 || now != 100 {
		t.Errorf("parseProcStatus = %v, %v, %v; want 200, 100, nil", peak, now, err)
	}
	if _, _, err := parseProcStatus("Name:\tx\n"); err == nil {
		t.Error("missing fields accepted")
	}
}

func TestMedianMax(t *testing.T) {
	tests := []struct {
		in          []float64
		median, max float64
	}{
		{nil, 0, 0},
		{[]float64{3}, 3, 3},
		{[]float64{5, 1, 3}, 3, 5},
		{[]float64{4, 1, 3, 2}, 2.5, 4},
	}
	for _, tt := range tests {
		if m, x := medianMax(tt.in); m != tt.median || x != tt.max {
			t.Errorf("medianMax(%v) = %v, %v; want %v, %v", tt.in, m, x, tt.median, tt.max)
		}
	}
}

func TestParseProcStat(t *testing.T) {
	st, err := parseProcStat("4242 (kube (api) server) S 17 4242 17 0 -1 4194560 2077 0 0 0 1234 56 0 0 20 0 12 0 100 0 0")
	if err != nil {
		t.Fatal(err)
	}
	if st.comm != "kube (api) server" || st.ppid != 17 || st.utime != 1234 || st.stime != 56 {
		t.Fatalf("parsed %+v", st)
	}
	if _, err := parseProcStat("4242 kube S 17"); err == nil {
		t.Fatal("a stat line without a command name was accepted")
	}
	self, err := procCPU(os.Getpid())
	if err != nil || self < 0 {
		t.Fatalf("own CPU time: %v, %v", self, err)
	}
}
