package plugin

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// WriteUnmanaged prints, per agency, how many Studio users with access there no
// StudioUser names and their keys, from the Agency's status.unmanagedUsers (which
// names at most the first iamv1.MaxUnmanagedKeys, and says so).
func WriteUnmanaged(w io.Writer, agencies []iamv1.Agency) error {
	agencies = slices.Clone(agencies)
	slices.SortFunc(agencies, func(a, b iamv1.Agency) int { return cmp.Compare(a.Name, b.Name) })
	var b strings.Builder
	some := false
	for i, a := range agencies {
		if i > 0 {
			b.WriteString("\n")
		}
		u := a.Status.UnmanagedUsers
		if u == nil || u.Count == 0 {
			fmt.Fprintf(&b, "agency %s: no unmanaged users\n", a.Name)
			continue
		}
		some = true
		keys := slices.Sorted(slices.Values(u.Keys))
		fmt.Fprintf(&b, "agency %s: %d unmanaged users", a.Name, u.Count)
		if int(u.Count) > len(keys) {
			fmt.Fprintf(&b, " (only the first %d are shown)", len(keys))
		}
		b.WriteString("\n")
		t := Table{Header: []string{"USER"}}
		for _, k := range keys {
			t.Rows = append(t.Rows, []string{k})
		}
		if err := WriteTable(&b, t); err != nil {
			return err
		}
	}
	if some {
		b.WriteString("\nTo write StudioUsers and RoleBindings that reproduce their access: kubectl studio unmanaged --agency AGENCY -o yaml\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
