package sqlstore

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

// Limits of the request fields, as the CRDs enforce them.
const (
	maxKeyLength         = 253
	maxDisplayNameLength = 256
	maxIdempotencyKey    = 255
)

// Validation messages.
const (
	msgKeyEmpty        = "must not be empty"
	msgKeyTooLong      = "must be at most 253 characters"
	msgKeyChars        = "must not contain '/', spaces or control characters"
	msgEmail           = "must be a plain email address with a domain name, such as name@example.com"
	msgDisplayName     = "must be at most 256 characters"
	msgLocale          = "must be a BCP 47 tag such as en, nl or en-GB"
	msgUserType        = "must be User or Agent"
	msgScopeExactlyOne = "must name exactly one of agency or environment"
	msgScopeDuplicate  = "scope appears more than once in the grant set"
	msgRequired        = "is required"
	msgIdempotencyKey  = "must be at most 255 characters"
)

var localePattern = regexp.MustCompile(`^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$`)

// validateKey checks a record key (agency, environment or user name) found in field.
func validateKey(field, key string) error {
	switch {
	case key == "":
		return store.Errorf(store.CodeInvalid, field, msgKeyEmpty)
	case len(key) > maxKeyLength:
		return store.Errorf(store.CodeInvalid, field, msgKeyTooLong)
	case strings.ContainsFunc(key, func(r rune) bool { return r == '/' || unicode.IsSpace(r) || unicode.IsControl(r) }):
		return store.Errorf(store.CodeInvalid, field, msgKeyChars)
	}
	return nil
}

func validateDisplayName(name string) error {
	if len([]rune(name)) > maxDisplayNameLength {
		return store.Errorf(store.CodeInvalid, "displayName", msgDisplayName)
	}
	return nil
}

// validEmail accepts a bare address with a dotted domain (store.ParseEmail).
func validEmail(email string) bool {
	_, err := store.ParseEmail(email)
	return err == nil
}

// normalizeUserSpec validates a user body and fills the default type.
func normalizeUserSpec(spec store.UserSpec) (store.UserSpec, error) {
	if !validEmail(spec.Email) {
		return spec, store.Errorf(store.CodeInvalid, "email", msgEmail)
	}
	if err := validateDisplayName(spec.DisplayName); err != nil {
		return spec, err
	}
	switch spec.Type {
	case "":
		spec.Type = cascade.UserTypeUser
	case cascade.UserTypeUser, cascade.UserTypeAgent:
	default:
		return spec, store.Errorf(store.CodeInvalid, "type", msgUserType)
	}
	if spec.Locale != "" && (len(spec.Locale) > 35 || !localePattern.MatchString(spec.Locale)) {
		return spec, store.Errorf(store.CodeInvalid, "locale", msgLocale)
	}
	return spec, nil
}

// desiredGrant is a validated grant of a request, with the index it had there (for
// error fields).
type desiredGrant struct {
	store.Grant
	index int
}

// normalizeGrants validates a whole grant set and returns it sorted (agencies first,
// then environments, each by key) with sorted roles; an empty role list is kept as an
// empty, non-nil slice (a block).
func normalizeGrants(grants []store.Grant) ([]desiredGrant, error) {
	out := make([]desiredGrant, 0, len(grants))
	seen := make(map[store.Scope]bool, len(grants))
	for i, g := range grants {
		field := fmt.Sprintf("grants[%d]", i)
		kind, err := validateScope(field+".scope", g.Scope)
		if err != nil {
			return nil, err
		}
		if seen[g.Scope] {
			return nil, store.Errorf(store.CodeInvalid, field+".scope", msgScopeDuplicate)
		}
		seen[g.Scope] = true
		if err := cascade.ValidateRoles(kind, g.Roles); err != nil {
			var ve *cascade.ValidationError
			if errors.As(err, &ve) {
				return nil, store.Errorf(store.CodeInvalid, field+"."+ve.Field, "%s", ve.Rule)
			}
			return nil, store.Errorf(store.CodeInvalid, field+".roles", "%s", err.Error())
		}
		roles := slices.Clone(g.Roles)
		if roles == nil {
			roles = []cascade.Role{}
		}
		slices.Sort(roles)
		out = append(out, desiredGrant{Grant: store.Grant{Scope: g.Scope, Roles: roles}, index: i})
	}
	slices.SortFunc(out, func(a, b desiredGrant) int { return compareScopes(a.Scope, b.Scope) })
	return out, nil
}

func validateScope(field string, s store.Scope) (cascade.ScopeKind, error) {
	switch {
	case (s.Agency == "") == (s.Environment == ""):
		return "", store.Errorf(store.CodeInvalid, field, msgScopeExactlyOne)
	case s.Agency != "":
		return cascade.ScopeAgency, validateKey(field+".agency", s.Agency)
	default:
		return cascade.ScopeEnvironment, validateKey(field+".environment", s.Environment)
	}
}

// compareScopes orders agencies before environments, each by key.
func compareScopes(a, b store.Scope) int {
	if (a.Agency != "") != (b.Agency != "") {
		if a.Agency != "" {
			return -1
		}
		return 1
	}
	return cmp.Or(cmp.Compare(a.Agency, b.Agency), cmp.Compare(a.Environment, b.Environment))
}
