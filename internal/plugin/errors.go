package plugin

import (
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/studio-operator/studio-operator/internal/store"
)

const (
	// errCRDsMissing replaces discovery's "no matches for kind" with what to do.
	errCRDsMissing = "error: the server doesn't have a resource type %q: are studio-operator's CRDs installed?"
)

// FormatError turns err into the one line a user sees, in kubectl's words for
// errors from the apiserver ("Error from server (NotFound): ...") and in the same
// shape for errors from the Studio user store.
func FormatError(err error) string {
	var line string
	var apiStatus apierrors.APIStatus
	var storeErr *store.Error
	var noMatch *meta.NoKindMatchError
	switch {
	case errors.As(err, &apiStatus) && apiStatus.Status().Reason != "":
		line = fmt.Sprintf("Error from server (%s): %s", apiStatus.Status().Reason, apiStatus.Status().Message)
	case errors.As(err, &apiStatus):
		line = "Error from server: " + apiStatus.Status().Message
	case errors.As(err, &storeErr):
		msg := storeErr.Message
		if storeErr.Field != "" {
			msg = storeErr.Field + ": " + msg
		}
		line = fmt.Sprintf("Error from the Studio user store (%s): %s", storeErr.Code, msg)
	case errors.As(err, &noMatch):
		line = fmt.Sprintf(errCRDsMissing, strings.ToLower(noMatch.GroupKind.Kind)+"s")
	default:
		line = "error: " + err.Error()
	}
	return strings.Join(strings.Fields(line), " ")
}
