package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/studio-operator/studio-operator/controllers"
	"github.com/studio-operator/studio-operator/internal/operator"
)

func TestParseFlags(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("  s3cret-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyFile := filepath.Join(dir, "empty")
	if err := os.WriteFile(emptyFile, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	type want struct {
		StoreURL, Token, InstanceID, Namespace, Kubeconfig, Metrics, Probe string
		Resync                                                             time.Duration
		LeaderElect                                                        bool
	}
	cases := map[string]struct {
		args    []string
		env     map[string]string
		want    want
		wantErr string
	}{
		"defaults with the token from the environment": {
			args: []string{"--store-url", "http://store:8080"},
			env:  map[string]string{EnvStoreToken: "s3cret-from-env"},
			want: want{StoreURL: "http://store:8080", Token: "s3cret-from-env", InstanceID: "default", Namespace: "studio-system",
				Metrics: ":8080", Probe: ":8081", Resync: 10 * time.Minute},
		},
		"everything set; the file wins over the environment": {
			args: []string{"--store-url=http://store:8080", "--store-token-file", tokenFile, "--instance-id", "prod",
				"--resync-period", "30s", "--namespace", "iam", "--kubeconfig", "/kc", "--leader-elect",
				"--metrics-bind-address", "0", "--health-probe-bind-address", "0"},
			env: map[string]string{EnvStoreToken: "ignored"},
			want: want{StoreURL: "http://store:8080", Token: "s3cret-from-file", InstanceID: "prod", Namespace: "iam",
				Kubeconfig: "/kc", Metrics: "0", Probe: "0", Resync: 30 * time.Second, LeaderElect: true},
		},
		"no store url":        {args: nil, env: map[string]string{EnvStoreToken: "x"}, wantErr: "--store-url is required"},
		"no token":            {args: []string{"--store-url", "http://s"}, wantErr: EnvStoreToken},
		"empty token file":    {args: []string{"--store-url", "http://s", "--store-token-file", emptyFile}, wantErr: "is empty"},
		"missing token file":  {args: []string{"--store-url", "http://s", "--store-token-file", filepath.Join(dir, "nope")}, wantErr: "--store-token-file"},
		"bad resync":          {args: []string{"--store-url", "http://s", "--resync-period", "0s"}, env: map[string]string{EnvStoreToken: "x"}, wantErr: "--resync-period"},
		"stray argument":      {args: []string{"--store-url", "http://s", "extra"}, env: map[string]string{EnvStoreToken: "x"}, wantErr: "unexpected arguments"},
		"unknown flag":        {args: []string{"--store-uri", "http://s"}, env: map[string]string{EnvStoreToken: "x"}, wantErr: "store-uri"},
		"zap flags are bound": {args: []string{"--store-url", "http://s", "--zap-devel"}, env: map[string]string{EnvStoreToken: "x"}, want: want{StoreURL: "http://s", Token: "x", InstanceID: "default", Namespace: "studio-system", Metrics: ":8080", Probe: ":8081", Resync: 10 * time.Minute}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := parseFlags(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("the error shows the token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := want{StoreURL: c.storeURL, Token: c.storeToken, InstanceID: c.instanceID, Namespace: c.namespace,
				Kubeconfig: c.kubeconfig, Metrics: c.metricsAddr, Probe: c.probeAddr, Resync: c.resyncPeriod, LeaderElect: c.leaderElect}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseFlagsClientLimits(t *testing.T) {
	env := func(string) string { return "x" }
	type limits struct {
		QPS     float64
		Burst   int
		Workers int
	}
	cases := map[string]struct {
		args    []string
		want    limits
		wantErr string
	}{
		"defaults":              {want: limits{operator.DefaultKubeAPIQPS, operator.DefaultKubeAPIBurst, controllers.DefaultMaxConcurrentReconciles}},
		"set":                   {args: []string{"--kube-api-qps=50", "--kube-api-burst=100", "--max-concurrent-reconciles=3"}, want: limits{50, 100, 3}},
		"client-side limit off": {args: []string{"--kube-api-qps=-1", "--kube-api-burst=0"}, want: limits{-1, 0, controllers.DefaultMaxConcurrentReconciles}},
		"zero qps":              {args: []string{"--kube-api-qps=0"}, wantErr: "--kube-api-qps must be positive"},
		"no burst":              {args: []string{"--kube-api-burst=0"}, wantErr: "--kube-api-burst must be at least 1"},
		"no workers":            {args: []string{"--max-concurrent-reconciles=0"}, wantErr: "--max-concurrent-reconciles must be at least 1"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := parseFlags(append([]string{"--store-url", "http://s"}, tc.args...), env, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := limits{c.kubeAPIQPS, c.kubeAPIBurst, c.maxConcurrentReconciles}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("limits (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseFlagsLeaderElection(t *testing.T) {
	env := func(string) string { return "x" }
	type lease struct{ Lease, Renew, Retry time.Duration }
	cases := map[string]struct {
		args    []string
		want    lease
		wantErr string
	}{
		"defaults": {want: lease{operator.DefaultLeaseDuration, operator.DefaultRenewDeadline, operator.DefaultRetryPeriod}},
		"short timings for a test": {
			args: []string{"--leader-elect-lease-duration=4s", "--leader-elect-renew-deadline=3s", "--leader-elect-retry-period=500ms"},
			want: lease{4 * time.Second, 3 * time.Second, 500 * time.Millisecond},
		},
		"zero lease":          {args: []string{"--leader-elect-lease-duration=0s"}, wantErr: "--leader-elect-lease-duration must be at least 1s"},
		"sub-second lease":    {args: []string{"--leader-elect-lease-duration=900ms", "--leader-elect-renew-deadline=500ms", "--leader-elect-retry-period=100ms"}, wantErr: "--leader-elect-lease-duration"},
		"negative renew":      {args: []string{"--leader-elect-renew-deadline=-1s"}, wantErr: "--leader-elect-renew-deadline must be positive"},
		"renew equals lease":  {args: []string{"--leader-elect-lease-duration=10s"}, wantErr: "--leader-elect-renew-deadline (10s) must be shorter than --leader-elect-lease-duration (10s)"},
		"renew beyond lease":  {args: []string{"--leader-elect-renew-deadline=20s"}, wantErr: "must be shorter than --leader-elect-lease-duration"},
		"zero retry":          {args: []string{"--leader-elect-retry-period=0s"}, wantErr: "--leader-elect-retry-period must be positive"},
		"retry within jitter": {args: []string{"--leader-elect-retry-period=9s"}, wantErr: "--leader-elect-retry-period (9s) must be shorter than --leader-elect-renew-deadline (10s) / 1.2"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := parseFlags(append([]string{"--store-url", "http://s", "--leader-elect"}, tc.args...), env, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := lease{c.leaseDuration, c.renewDeadline, c.retryPeriod}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("lease timings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseFlagsMemoryLimit(t *testing.T) {
	env := func(string) string { return "x" }
	cases := map[string]struct {
		arg     string
		want    int64
		wantErr bool
	}{
		"default: the cgroup's": {arg: "", want: 0},
		"binary units":          {arg: "256Mi", want: 256 << 20},
		"decimal units":         {arg: "1G", want: 1e9},
		"bytes without a unit":  {arg: "256", wantErr: true},
		"not a quantity":        {arg: "lots", wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			args := []string{"--store-url", "http://s"}
			if tc.arg != "" {
				args = append(args, "--memory-limit", tc.arg)
			}
			c, err := parseFlags(args, env, io.Discard)
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "--memory-limit") {
					t.Fatalf("err = %v, want one naming --memory-limit", err)
				}
				return
			}
			if err != nil || c.memoryLimit != tc.want {
				t.Fatalf("memoryLimit = %d, %v; want %d", c.memoryLimit, err, tc.want)
			}
		})
	}
}
