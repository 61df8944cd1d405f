package buildinfo

import "testing"

func TestStringPrefersTheStampedVersion(t *testing.T) {
	defer func(v string) { Version = v }(Version)
	Version = "v1.2.3"
	if got := String(); got != "v1.2.3" {
		t.Errorf("String() = %q, want the stamped v1.2.3", got)
	}
	Version = ""
	if got := String(); got == "" {
		t.Error("String() is empty without a stamp; want the module version or (devel)")
	}
}
