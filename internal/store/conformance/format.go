package conformance

import (
	"fmt"
	"slices"
	"strings"
)

func sprint(v any) string { return fmt.Sprint(v) }

// sortChanges sorts a copy of s by key: audit order within one write is the store's
// business, the set of entries is the contract.
func sortChanges[T any](s []T, key func(T) string) []T {
	out := slices.Clone(s)
	slices.SortFunc(out, func(a, b T) int { return strings.Compare(key(a), key(b)) })
	return out
}
