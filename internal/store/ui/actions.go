package ui

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

// The actions change records that no operator instance manages: the people working
// in the Studio own those. A managed record is refused here as well as disabled in
// the panel, because its truth is the StudioUser in Kubernetes: a change made here
// would be drift the operator undoes at its next resync.

// fieldIdempotency carries the idempotency key of an invitation form, so a form sent
// twice (a double click, a reload) sends one invitation.
const fieldIdempotency = "idempotency"

// errManaged refuses an action on a managed record.
func errManaged(u store.User) error {
	return store.Errorf(store.CodeManagedByOther, "", "managed from Kubernetes by instance %q: change StudioUser %q there", u.ManagedBy, u.Key)
}

var errRemoved = store.Errorf(store.CodeUserRemoved, "", "the user is removed")

// actionTarget reads the user an action is about and refuses managed and removed
// records.
func (h *Handler) actionTarget(r *http.Request) (store.User, error) {
	u, err := h.api.GetUser(r.Context(), r.PathValue("user"))
	if err != nil {
		return store.User{}, err
	}
	if u.ManagedBy != "" {
		return u, errManaged(u)
	}
	if u.State == store.UserRemoved {
		return u, errRemoved
	}
	return u, nil
}

type confirmPage struct {
	Heading    string
	Text       []string
	Action     string
	Button     string
	Danger     bool
	CancelURL  string
	Idempotent string
}

func (h *Handler) confirmRemove(w http.ResponseWriter, r *http.Request, v *visit) error {
	u, err := h.actionTarget(r)
	if err != nil {
		return err
	}
	access, err := h.api.GetAccess(r.Context(), u.Key)
	if err != nil {
		return err
	}
	back := parseOverviewQuery(r.URL.Query())
	h.render(w, r, v, http.StatusOK, tmplConfirm, "users", "Remove "+u.Key, confirmPage{
		Heading: fmt.Sprintf("Remove %s (%s)?", displayName(u), u.Key),
		Text: []string{
			fmt.Sprintf("This revokes all of the user's access (%s today) and withdraws a pending invitation.", plural(len(access.Environments), "environment", "environments")),
			"The record and its audit log are kept; inviting the same name again creates the user anew.",
		},
		Action: back.url(userURL(u.Key) + "/remove"), Button: "Remove the user", Danger: true,
		CancelURL: back.url(userURL(u.Key)),
	})
	return nil
}

func (h *Handler) remove(w http.ResponseWriter, r *http.Request, v *visit) error {
	u, err := h.actionTarget(r)
	if err != nil {
		return err
	}
	if _, err := h.api.RemoveUser(r.Context(), v.caller(), u.Key); err != nil {
		return err
	}
	back := parseOverviewQuery(r.URL.Query())
	target := back.url(userURL(u.Key))
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	http.Redirect(w, r, target+sep+"done=removed", http.StatusSeeOther)
	return nil
}

func (h *Handler) confirmInvitationLink(w http.ResponseWriter, r *http.Request, v *visit) error {
	u, err := h.actionTarget(r)
	if err != nil {
		return err
	}
	back := parseOverviewQuery(r.URL.Query())
	h.render(w, r, v, http.StatusOK, tmplConfirm, "users", "Invitation link for "+u.Key, confirmPage{
		Heading: fmt.Sprintf("Create a fresh invitation link for %s (%s)?", displayName(u), u.Key),
		Text: []string{
			"A new invitation is sent by email, and you get its link to pass on through another channel.",
			"The current link stops working.",
		},
		Action: back.url(userURL(u.Key) + "/invitation-link"), Button: "Create a fresh link",
		CancelURL: back.url(userURL(u.Key) + "/invitation"), Idempotent: randomToken(),
	})
	return nil
}

// linkPage shows an invitation link once, in the answer to the form that made it: it
// is never in a URL, a log or a page that can be opened again.
type linkPage struct {
	User       store.User
	Invitation store.Invitation
	Created    bool
	PanelURL   string
}

func (h *Handler) invitationLink(w http.ResponseWriter, r *http.Request, v *visit) error {
	u, err := h.actionTarget(r)
	if err != nil {
		return err
	}
	inv, err := h.api.SendInvitation(r.Context(), v.caller(), u.Key, idempotencyKey(r))
	if err != nil {
		return err
	}
	back := parseOverviewQuery(r.URL.Query())
	h.render(w, r, v, http.StatusOK, tmplLinkIssued, "users", "Invitation link", linkPage{
		User: u, Invitation: inv, PanelURL: back.url(userURL(u.Key) + "/invitation"),
	})
	return nil
}

// idempotencyKey scopes the form's key to the pages, so it cannot collide with the
// operator's keys.
func idempotencyKey(r *http.Request) string {
	k := r.PostForm.Get(fieldIdempotency)
	if k == "" || len(k) > 64 {
		k = randomToken()
	}
	return "studio-ui/" + k
}

func displayName(u store.User) string {
	if u.DisplayName != "" {
		return u.DisplayName
	}
	return u.Key
}

// inviteForm is the data of invite.html, and what was entered when it is shown again.
type inviteForm struct {
	Key, Email, DisplayName, Type, Locale, Scope string
	Roles                                        map[cascade.Role]bool
	AllRoles                                     []cascade.Role
	Scopes                                       []scopeOption
	Idempotent                                   string
	Error                                        string
	// ErrorField names the field the error is about (its id), for aria-describedby.
	ErrorField string
}

type scopeOption struct {
	Value, Label string
}

func (h *Handler) inviteForm(w http.ResponseWriter, r *http.Request, v *visit) error {
	form := inviteForm{Type: string(cascade.UserTypeUser), Locale: "en", Roles: map[cascade.Role]bool{}}
	return h.renderInvite(w, r, v, http.StatusOK, form)
}

func (h *Handler) renderInvite(w http.ResponseWriter, r *http.Request, v *visit, status int, form inviteForm) error {
	envs, _, err := h.environmentOptions(r.Context())
	if err != nil {
		return err
	}
	form.AllRoles = cascade.AssignableRoles
	form.Scopes = []scopeOption{{Value: "", Label: "No access yet"}}
	for _, a := range agenciesOf(envs) {
		form.Scopes = append(form.Scopes, scopeOption{Value: "agency:" + a, Label: "Agency " + a + " (all its environments)"})
	}
	for _, e := range envs {
		form.Scopes = append(form.Scopes, scopeOption{Value: "environment:" + e.Key, Label: "Environment " + e.Key + labelSuffix(e.Name)})
	}
	if form.Idempotent == "" {
		form.Idempotent = randomToken()
	}
	h.render(w, r, v, status, tmplInvite, "users", "Invite a user", form)
	return nil
}

func labelSuffix(name string) string {
	if name == "" {
		return ""
	}
	return " — " + name
}

func (h *Handler) invite(w http.ResponseWriter, r *http.Request, v *visit) error {
	f := r.PostForm
	form := inviteForm{
		Key: strings.TrimSpace(f.Get("key")), Email: strings.TrimSpace(f.Get("email")),
		DisplayName: strings.TrimSpace(f.Get("displayName")), Type: f.Get("type"), Locale: strings.TrimSpace(f.Get("locale")),
		Scope: f.Get("scope"), Roles: map[cascade.Role]bool{}, Idempotent: f.Get(fieldIdempotency),
	}
	if !validUserName(form.Key) {
		form.Error, form.ErrorField = "Choose a name of lower-case letters, digits, “-” and “.” (at most 253), starting and ending with a letter or digit.", "key"
		return h.renderInvite(w, r, v, http.StatusUnprocessableEntity, form)
	}
	var roles []cascade.Role
	for _, name := range f["roles"] {
		role := cascade.Role(name)
		if !role.Assignable() {
			form.Error, form.ErrorField = fmt.Sprintf("%q is not a role that can be given.", name), "roles"
			return h.renderInvite(w, r, v, http.StatusUnprocessableEntity, form)
		}
		form.Roles[role] = true
		roles = append(roles, role)
	}
	grants, problem, field := inviteGrants(form.Scope, roles)
	if problem != "" {
		form.Error, form.ErrorField = problem, field
		return h.renderInvite(w, r, v, http.StatusUnprocessableEntity, form)
	}
	spec := store.UserSpec{Email: form.Email, DisplayName: form.DisplayName, Type: cascade.UserType(form.Type), Locale: form.Locale}
	if problem, field := h.inviteConflict(r, form.Key, spec); problem != "" {
		form.Error, form.ErrorField = problem, field
		return h.renderInvite(w, r, v, http.StatusConflict, form)
	}
	ctx := r.Context()
	u, _, err := h.api.PutUser(ctx, v.caller(), form.Key, spec)
	if err == nil && grants != nil {
		_, err = h.api.PutGrants(ctx, v.caller(), form.Key, grants)
	}
	var inv store.Invitation
	if err == nil {
		inv, err = h.api.SendInvitation(ctx, v.caller(), form.Key, idempotencyKey(r))
	}
	if err != nil {
		var e *store.Error
		if !errors.As(err, &e) || e.Code.Transient() {
			return err
		}
		form.Error, form.ErrorField = inviteProblem(e)
		return h.renderInvite(w, r, v, e.Code.HTTPStatus(), form)
	}
	h.render(w, r, v, http.StatusOK, tmplLinkIssued, "users", "User invited", linkPage{
		User: u, Invitation: inv, Created: true, PanelURL: userURL(u.Key) + "?done=invited",
	})
	return nil
}

// userName is a Kubernetes object name (RFC 1123 subdomain): a user created here can be
// adopted later by a StudioUser of the same name.
var userName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

func validUserName(key string) bool { return len(key) <= 253 && userName.MatchString(key) }

// inviteGrants turns the scope and roles of the form into the new user's grant set:
// nil without a scope.
func inviteGrants(scope string, roles []cascade.Role) ([]store.Grant, string, string) {
	if scope == "" {
		if len(roles) > 0 {
			return nil, "Choose where the roles apply.", "scope"
		}
		return nil, "", ""
	}
	kind, key, _ := strings.Cut(scope, ":")
	var s store.Scope
	switch kind {
	case "agency":
		s.Agency = key
		if len(roles) == 0 {
			return nil, "Choose at least one role for the agency.", "roles"
		}
	case "environment":
		s.Environment = key
	default:
		return nil, "Choose where the roles apply.", "scope"
	}
	if key == "" {
		return nil, "Choose where the roles apply.", "scope"
	}
	if err := cascade.ValidateRoles(cascade.ScopeKind(kind), roles); err != nil {
		return nil, "The roles cannot be given there: " + err.Error(), "roles"
	}
	if roles == nil {
		roles = []cascade.Role{}
	}
	return []store.Grant{{Scope: s, Roles: roles}}, "", ""
}

// inviteConflict refuses to invite over a record that exists: one an operator
// manages, or a live one with other details. The same form sent again passes, and
// its invitation is the one already sent.
func (h *Handler) inviteConflict(r *http.Request, key string, spec store.UserSpec) (string, string) {
	if key == "" {
		return "", "" // the store says what is wrong with the key
	}
	u, err := h.api.GetUser(r.Context(), key)
	if err != nil {
		return "", ""
	}
	if u.ManagedBy != "" {
		return fmt.Sprintf("A user named %q is managed from Kubernetes by instance %q: change StudioUser %q there.", key, u.ManagedBy, key), "key"
	}
	same := u.Email == spec.Email && u.DisplayName == spec.DisplayName && string(u.Type) == string(spec.Type)
	if u.State != store.UserRemoved && !same {
		return fmt.Sprintf("A user named %q already exists. Choose another name.", key), "key"
	}
	return "", ""
}

// inviteProblem turns a refusal of the store into a message and the field it is
// about.
func inviteProblem(e *store.Error) (string, string) {
	switch e.Code {
	case store.CodeEmailInUse:
		return "Another user already has this email address.", "email"
	case store.CodeInvalid:
		field := e.Field
		switch field {
		case "key", "user", "":
			field = "key"
		}
		return "Check " + fieldLabel(field) + ": it " + e.Message + ".", field
	}
	return e.Error(), ""
}

func fieldLabel(field string) string {
	switch field {
	case "key":
		return "the name"
	case "email":
		return "the email address"
	case "displayName":
		return "the display name"
	case "locale":
		return "the language"
	case "type":
		return "the type"
	}
	return field
}
