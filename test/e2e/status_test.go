package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// currentTimeout bounds how long the objects may take to settle after a change.
const currentTimeout = 90 * time.Second

// waitAllCurrent waits until every object in category studio is kstatus Current: what
// Argo CD, Flux and `kubectl wait` rely on to know the operator is done.
func waitAllCurrent(t *testing.T) {
	t.Helper()
	eventually(t, currentTimeout, func() string {
		out := kubectl(t, "get", "studio", "--all-namespaces", "-o", "json")
		var list unstructured.UnstructuredList
		if err := list.UnmarshalJSON([]byte(out)); err != nil {
			return fmt.Sprintf("decode kubectl get studio: %v", err)
		}
		if len(list.Items) == 0 {
			return "no objects in category studio"
		}
		var notCurrent []string
		for i := range list.Items {
			obj := &list.Items[i]
			res, err := status.Compute(obj)
			if err != nil {
				notCurrent = append(notCurrent, fmt.Sprintf("%s %s: %v", obj.GetKind(), obj.GetName(), err))
				continue
			}
			if res.Status != status.CurrentStatus {
				notCurrent = append(notCurrent, fmt.Sprintf("%s %s/%s: %s (%s)", obj.GetKind(), obj.GetNamespace(), obj.GetName(), res.Status, res.Message))
			}
		}
		return strings.Join(notCurrent, "; ")
	})
}

// eventually polls check until it returns "" or timeout passes, then fails with its
// last answer.
func eventually(t *testing.T, timeout time.Duration, check func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		last := check()
		if last == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, redact(last))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// storeGet reads a JSON document from the sandbox's store with its admin token.
func storeGet(t *testing.T, path string, into any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, shared.storeURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+shared.storeToken)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", path, resp.StatusCode, redact(string(body)))
	}
	if err := json.Unmarshal(body, into); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// httpStatus GETs url without credentials and returns the status.
func httpStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := httpClient.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", redact(url), redact(err.Error()))
	}
	resp.Body.Close()
	return resp.StatusCode
}

var httpClient = &http.Client{Timeout: 30 * time.Second}
