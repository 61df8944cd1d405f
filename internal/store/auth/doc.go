// Package auth holds the bearer tokens of the Studio user store (docs/operations.md, "Tokens").
//
// Tokens are kept only as SHA-256 digests, as they are written in the tokens file
// ("<role> <subject> sha256:<hex>"), and a presented token is compared against every
// digest in constant time, so neither the file nor the process memory nor the timing
// of a refusal gives a token away.
package auth
