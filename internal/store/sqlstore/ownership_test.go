package sqlstore

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/studio-operator/studio-operator/internal/store"
)

func TestDecideOwnership(t *testing.T) {
	for name, tc := range map[string]struct {
		current, manager string
		adopt            bool
		want             ownership
		err              store.Code
	}{
		"same manager":              {current: "op-1", manager: "op-1", adopt: true, want: ownership{managedBy: "op-1"}},
		"other manager":             {current: "op-1", manager: "op-2", adopt: true, err: store.CodeManagedByOther},
		"person on managed":         {current: "op-1", manager: "", adopt: true, want: ownership{managedBy: "op-1", byPerson: true}},
		"person on unmanaged":       {current: "", manager: "", adopt: true, want: ownership{byPerson: true}},
		"adoption":                  {current: "", manager: "op-1", adopt: true, want: ownership{managedBy: "op-1", adopted: true}},
		"no adoption outside a put": {current: "", manager: "op-1", want: ownership{}},
		"other manager, no adopt":   {current: "op-1", manager: "op-2", err: store.CodeManagedByOther},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := decideOwnership(tc.current, tc.manager, tc.adopt)
			if store.CodeOf(err) != tc.err {
				t.Fatalf("error %v, want code %q", err, tc.err)
			}
			if d := cmp.Diff(tc.want, got, cmp.AllowUnexported(ownership{})); d != "" {
				t.Fatalf("ownership (-want +got):\n%s", d)
			}
		})
	}
}

func TestDriftFlags(t *testing.T) {
	for name, tc := range map[string]struct {
		own            ownership
		lastByPerson   bool
		wantDrift      bool
		wantPersonFlag bool
	}{
		"manager after person":    {own: ownership{managedBy: "op-1"}, lastByPerson: true, wantDrift: true},
		"manager after manager":   {own: ownership{managedBy: "op-1"}},
		"adoption is not drift":   {own: ownership{managedBy: "op-1", adopted: true}, lastByPerson: true},
		"person on managed":       {own: ownership{managedBy: "op-1", byPerson: true}, wantPersonFlag: true},
		"person on unmanaged":     {own: ownership{byPerson: true}},
		"person after person":     {own: ownership{managedBy: "op-1", byPerson: true}, lastByPerson: true, wantPersonFlag: true},
		"unmanaged stays unowned": {own: ownership{}, lastByPerson: true},
	} {
		t.Run(name, func(t *testing.T) {
			if got := tc.own.correctsDrift(tc.lastByPerson); got != tc.wantDrift {
				t.Errorf("correctsDrift = %v, want %v", got, tc.wantDrift)
			}
			if got := tc.own.personFlag(); got != tc.wantPersonFlag {
				t.Errorf("personFlag = %v, want %v", got, tc.wantPersonFlag)
			}
		})
	}
}
