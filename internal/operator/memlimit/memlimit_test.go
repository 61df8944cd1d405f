package memlimit_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/studio-operator/studio-operator/internal/operator/memlimit"
)

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	path := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCgroup(t *testing.T) {
	const mi = 1 << 20
	cases := map[string]struct {
		files map[string]string
		self  string
		want  int64
	}{
		"v2, own cgroup":              {map[string]string{"kubepods/pod1/c1/memory.max": "268435456\n"}, "0::/kubepods/pod1/c1\n", 256 * mi},
		"v2, cgroup namespace (root)": {map[string]string{"memory.max": "536870912\n"}, "0::/\n", 512 * mi},
		"v2, no limit":                {map[string]string{"memory.max": "max\n"}, "0::/\n", 0},
		"v1":                          {map[string]string{"memory/kubepods/c1/memory.limit_in_bytes": "268435456\n"}, "12:cpu,cpuacct:/x\n4:memory:/kubepods/c1\n", 256 * mi},
		"v1, unlimited":               {map[string]string{"memory/memory.limit_in_bytes": "9223372036854771712\n"}, "4:memory:/\n", 0},
		"v1 without the memory file":  {nil, "4:memory:/process_api/abc\n", 0},
		"no cgroup at all":            {nil, "", 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			for rel, content := range tc.files {
				write(t, root, rel, content)
			}
			got, err := memlimit.Cgroup(root, tc.self)
			if err != nil || got != tc.want {
				t.Fatalf("Cgroup = %d, %v; want %d", got, err, tc.want)
			}
		})
	}
	root := t.TempDir()
	write(t, root, "memory.max", "lots\n")
	if _, err := memlimit.Cgroup(root, "0::/\n"); err == nil {
		t.Error("an unreadable memory.max is not reported")
	}
}

func TestDecide(t *testing.T) {
	var limit int64 = 256 << 20
	want := int64(float64(limit) * memlimit.Fraction)
	cases := []struct {
		env          string
		flag, cgroup int64
		wantLimit    int64
		wantSource   memlimit.Source
	}{
		{"200MiB", limit, limit, 0, memlimit.SourceEnv},
		{"", limit, 4 * limit, want, memlimit.SourceFlag},
		{"", 0, limit, want, memlimit.SourceCgroup},
		{"", 0, 0, 0, memlimit.SourceNone},
	}
	for _, tc := range cases {
		got, src := memlimit.Decide(tc.env, tc.flag, tc.cgroup)
		if got != tc.wantLimit || src != tc.wantSource {
			t.Errorf("Decide(%q, %d, %d) = %d, %s; want %d, %s", tc.env, tc.flag, tc.cgroup, got, src, tc.wantLimit, tc.wantSource)
		}
	}
}
