package plugin

import (
	"testing"
	"time"

	"github.com/studio-operator/studio-operator/internal/buildinfo"
)

func TestVersionCommandPrintsTheStampedVersion(t *testing.T) {
	defer func(v string) { buildinfo.Version = v }(buildinfo.Version)
	buildinfo.Version = "v1.2.3"
	if r := runPlugin(t, Options{}, time.Now(), "version"); r.code != ExitOK || r.out != "kubectl-studio v1.2.3\n" {
		t.Errorf("version: exit %d, %q (stderr %q)", r.code, r.out, r.errOut)
	}
	buildinfo.Version = ""
	if r := runPlugin(t, Options{}, time.Now(), "version"); r.code != ExitOK || r.out == "kubectl-studio \n" {
		t.Errorf("unstamped version: exit %d, %q", r.code, r.out)
	}
}
