package controllers

import (
	"testing"

	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/storeserver/teststore"
)

// startStore starts an in-process store on a real SQLite file for one test.
func startStore(t *testing.T) store.Service {
	t.Helper()
	st, err := teststore.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st.Service()
}
