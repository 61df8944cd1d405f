package plugin

import (
	"errors"
	"fmt"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/studio-operator/studio-operator/internal/store"
)

func TestFormatError(t *testing.T) {
	gr := schema.GroupResource{Group: "iam.studio-operator.io", Resource: "studiousers"}
	cases := map[string]struct {
		err  error
		want string
	}{
		"not found, like kubectl": {
			err:  apierrors.NewNotFound(gr, "x"),
			want: `Error from server (NotFound): studiousers.iam.studio-operator.io "x" not found`,
		},
		"wrapped": {
			err:  fmt.Errorf("getting user: %w", apierrors.NewNotFound(gr, "x")),
			want: `Error from server (NotFound): studiousers.iam.studio-operator.io "x" not found`,
		},
		"forbidden on one line": {
			err:  apierrors.NewForbidden(gr, "x", errors.New("User \"bob\" cannot get resource\n\"studiousers\"")),
			want: `Error from server (Forbidden): studiousers.iam.studio-operator.io "x" is forbidden: User "bob" cannot get resource "studiousers"`,
		},
		"store": {
			err:  store.Errorf(store.CodeUnauthorized, "", "missing or invalid bearer token"),
			want: "Error from the Studio user store (unauthorized): missing or invalid bearer token",
		},
		"store with field": {
			err:  store.Errorf(store.CodeInvalid, "limit", "must be at most 1000"),
			want: "Error from the Studio user store (invalid): limit: must be at most 1000",
		},
		"CRDs missing": {
			err:  &meta.NoKindMatchError{GroupKind: schema.GroupKind{Group: "iam.studio-operator.io", Kind: "StudioUser"}},
			want: `error: the server doesn't have a resource type "studiousers": are studio-operator's CRDs installed?`,
		},
		"other": {
			err:  errors.New(errStoreNotConfigured),
			want: "error: " + errStoreNotConfigured,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := FormatError(tc.err); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
