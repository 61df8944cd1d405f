package plugin

import (
	"errors"
	"fmt"
	"strings"
)

// Environment variables with the store settings, as `studio-dev up` writes them.
const (
	EnvStoreURL   = "STUDIO_STORE_URL"
	EnvStoreToken = "STUDIO_STORE_TOKEN"
)

const (
	errStoreNotConfigured = "the Studio user store is not configured: set --store-url and --store-token-file, or STUDIO_STORE_URL and STUDIO_STORE_TOKEN"
	errStoreNoToken       = "no token for the Studio user store: set --store-token-file or STUDIO_STORE_TOKEN"
	errStoreTokenFile     = "reading --store-token-file: %w"
	errStoreTokenEmpty    = "--store-token-file %s is empty"
)

// storeSettings are where the Studio user store is and how to authenticate.
type storeSettings struct {
	URL   string
	Token string
}

// resolveStoreSettings takes the store URL and token from the flags, falling back to
// the environment; a flag wins over its variable. readFile reads the token file.
func resolveStoreSettings(flagURL, flagTokenFile string, getenv func(string) string, readFile func(string) ([]byte, error)) (storeSettings, error) {
	s := storeSettings{URL: flagURL}
	if s.URL == "" {
		s.URL = getenv(EnvStoreURL)
	}
	if flagTokenFile != "" {
		b, err := readFile(flagTokenFile)
		if err != nil {
			return storeSettings{}, fmt.Errorf(errStoreTokenFile, err)
		}
		if s.Token = strings.TrimSpace(string(b)); s.Token == "" {
			return storeSettings{}, fmt.Errorf(errStoreTokenEmpty, flagTokenFile)
		}
	} else {
		s.Token = strings.TrimSpace(getenv(EnvStoreToken))
	}
	switch {
	case s.URL == "":
		return storeSettings{}, errors.New(errStoreNotConfigured)
	case s.Token == "":
		return storeSettings{}, errors.New(errStoreNoToken)
	}
	return s, nil
}
