package storeha

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/studio-operator/studio-operator/internal/store/auth"
)

// writeSecrets writes what every replica mounts from the same Secrets: a tokens file
// with one admin token, and the invitation link key. It fills in cfg's paths and
// returns the token. Neither is ever printed.
func writeSecrets(t *testing.T, cfg *replicaConfig) string {
	t.Helper()
	dir := t.TempDir()
	token := rand.Text()
	cfg.tokensFile = filepath.Join(dir, "tokens")
	if err := os.WriteFile(cfg.tokensFile, []byte("admin storeha "+auth.HashToken(token)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	cfg.linkKeyFile = filepath.Join(dir, "link-key")
	if err := os.WriteFile(cfg.linkKeyFile, []byte("hex:"+hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return token
}
