package ui

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/studio-operator/studio-operator/internal/store"
)

// Overview sizes.
const (
	usersPerPage = 50
	// userScanBudget bounds the records one overview page looks at when it filters by
	// search term or state: 10 store pages of 500.
	userScanBudget = 5000
	// maxSearchLen bounds the search term and the filter values.
	maxSearchLen = 254
	// maxListedEnvironments is how many environments the filter menus list; with more,
	// the filters are text fields.
	maxListedEnvironments = 1000
)

// Sort keys of the overview's columns. Each is an order of the store's listing, so a
// sort orders every user, page after page, not only the rows shown. State is a filter,
// not an order.
const (
	sortName       = "name"
	sortEmail      = "email"
	sortLastActive = "lastActive"
	sortCreated    = "created"
)

var sortOrders = map[string]store.UserOrder{
	sortName: store.OrderByKey, sortEmail: store.OrderByEmail, sortLastActive: store.OrderByLastActive, sortCreated: store.OrderByCreated,
}

var userStates = []store.UserState{store.UserInvited, store.UserActive, store.UserSuspended, store.UserRemoved}

// overviewQuery is the overview's state, all in the URL query so that every view has
// its own address: search term, filters, sort and position.
type overviewQuery struct {
	Search      string
	Agency      string
	Environment string
	State       string
	Sort        string
	Desc        bool
	Position    string
	// Back lists the positions of the pages before this one, oldest first (at most
	// maxBack; "-" is the first page), for "Previous page".
	Back []string
	Page int
}

// maxBack bounds the pages "Previous page" can go back through; further back, it goes
// to the first page.
const maxBack = 20

// firstPosition stands for the first page in Back.
const firstPosition = "-"

func parseOverviewQuery(q url.Values) overviewQuery {
	get := func(name string) string {
		v := strings.TrimSpace(q.Get(name))
		if len(v) > maxSearchLen {
			return ""
		}
		return v
	}
	o := overviewQuery{
		Search: get("q"), Agency: get("agency"), Environment: get("environment"),
		State: get("state"), Sort: get("sort"), Desc: q.Get("dir") == "desc", Position: get("pos"),
	}
	if !slices.Contains(userStates, store.UserState(o.State)) {
		o.State = ""
	}
	if _, ok := sortOrders[o.Sort]; !ok {
		o.Sort, o.Desc = sortName, o.Desc && o.Sort == sortName
	}
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 1 && n < 1_000_000 {
		o.Page = n
	}
	if o.Position == "" {
		o.Page = 0
	}
	if back := q.Get("back"); back != "" && o.Position != "" && len(back) <= maxBack*(maxSearchLen+1) {
		o.Back = strings.Split(back, ".")
		o.Back = o.Back[max(0, len(o.Back)-maxBack):]
	}
	return o
}

// values encodes o; zero members are left out.
func (o overviewQuery) values() url.Values {
	v := url.Values{}
	set := func(name, value string) {
		if value != "" {
			v.Set(name, value)
		}
	}
	set("q", o.Search)
	set("agency", o.Agency)
	set("environment", o.Environment)
	set("state", o.State)
	if o.Sort != sortName || o.Desc {
		set("sort", o.Sort)
	}
	if o.Desc {
		set("dir", "desc")
	}
	set("pos", o.Position)
	set("back", strings.Join(o.Back, "."))
	if o.Page > 1 {
		set("page", strconv.Itoa(o.Page))
	}
	return v
}

// url appends o to path.
func (o overviewQuery) url(path string) string {
	if q := o.values().Encode(); q != "" {
		return path + "?" + q
	}
	return path
}

// filtering reports whether the overview shows a subset of the users.
func (o overviewQuery) filtering() bool {
	return o.Search != "" || o.Agency != "" || o.Environment != "" || o.State != ""
}

// accessCache keeps the access read while scanning, for the rows of the page.
type accessCache struct {
	mu sync.Mutex
	m  map[string]store.Access
}

func (c *accessCache) put(key string, a store.Access) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = a
}

func (c *accessCache) get(key string) (store.Access, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.m[key]
	return a, ok
}

// scanOf turns the query into a store filter and, for what the store does not filter,
// a filter here. The environment filter keeps the users who can access the
// environment, through their own grants there or their agency's: it lists the
// environment's agency and reads each candidate's access (which the rows reuse).
// none reports a filter that matches nobody (an unknown environment, or one of
// another agency than the agency filter).
func (h *Handler) scanOf(ctx context.Context, q overviewQuery, names map[string]envOption) (s userScan, cache *accessCache, none bool, err error) {
	s = userScan{
		filter: store.UserFilter{Agency: q.Agency, Order: sortOrders[q.Sort], Desc: q.Desc},
		want:   usersPerPage, budget: userScanBudget,
	}
	cache = &accessCache{m: map[string]store.Access{}}
	var env string
	if q.Environment != "" {
		e, ok := names[q.Environment]
		if !ok {
			got, err := h.api.GetEnvironment(ctx, q.Environment)
			if store.IsNotFound(err) {
				return s, cache, true, nil
			}
			if err != nil {
				return s, cache, false, err
			}
			e = envOption{Key: got.Key, Name: got.DisplayName, Agency: got.Agency}
		}
		if q.Agency != "" && q.Agency != e.Agency {
			return s, cache, true, nil
		}
		env, s.filter.Agency = e.Key, e.Agency
		s.batch, s.readers = memberBatch, accessReaders
	}
	search := strings.ToLower(q.Search)
	if isAddress(q.Search) {
		// A whole address is looked up in the store's email index.
		s.filter.Email, search = q.Search, ""
	}
	state := store.UserState(q.State)
	if search == "" && state == "" && env == "" {
		return s, cache, false, nil
	}
	s.keep = func(ctx context.Context, u store.User) (bool, error) {
		if state != "" && u.State != state {
			return false, nil
		}
		if search != "" && !strings.Contains(strings.ToLower(u.Key), search) &&
			!strings.Contains(strings.ToLower(u.DisplayName), search) && !strings.Contains(strings.ToLower(u.Email), search) {
			return false, nil
		}
		if env == "" {
			return true, nil
		}
		access, err := h.accessOf(ctx, u)
		if err != nil {
			return false, err
		}
		cache.put(u.Key, access)
		return slices.ContainsFunc(access.Environments, func(a store.EnvironmentAccess) bool { return a.Environment == env }), nil
	}
	return s, cache, false, nil
}

// accessOf reads u's effective access; suspended and removed users have none.
func (h *Handler) accessOf(ctx context.Context, u store.User) (store.Access, error) {
	if u.State == store.UserRemoved || u.State == store.UserSuspended {
		return store.Access{}, nil
	}
	access, err := h.api.GetAccess(ctx, u.Key)
	if store.IsNotFound(err) {
		return store.Access{}, nil // removed for good between the listing and this read
	}
	return access, err
}

func isAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && strings.Contains(s, "@")
}

// usersPage is the data of users.html: the overview, and the panel of one user when
// one is open.
type usersPage struct {
	Query        overviewQuery
	States       []store.UserState
	Agencies     []string
	Environments []envOption
	// ManyEnvironments: too many to list, the filters are text fields.
	ManyEnvironments bool
	Columns          []column
	Rows             []userRow
	PageNumber       int
	FirstURL         string
	PreviousURL      string
	NextURL          string
	Looked           int
	Partial          bool
	ResetURL         string
	Panel            *userPanel
}

type envOption struct {
	Key, Name, Agency string
}

type column struct {
	Label string
	// URL sorts by the column ("" for a column that does not sort).
	URL  string
	sort string
	// Wide is set on the columns left out while the user panel is open.
	Wide string
	// AriaSort is ascending, descending or "" (not sorted by this column).
	AriaSort string
}

type userRow struct {
	User         store.User
	URL          string
	Environments []envOption
	Selected     bool
	// The row's actions, as the Studio's table has them: see the user's access, and
	// the panel's (a fresh invitation link and removal, when allowed).
	AccessURL string
	Actions   userActions
}

func (h *Handler) usersPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	q := parseOverviewQuery(r.URL.Query())
	if canonical := q.values().Encode(); canonical != r.URL.RawQuery {
		// The filter form sends its empty fields too: one address per view.
		http.Redirect(w, r, q.url("/ui/users"), http.StatusFound)
		return nil
	}
	page, err := h.overview(r.Context(), q, "", v.sess.principal.CanWrite())
	if err != nil {
		return err
	}
	h.render(w, r, v, http.StatusOK, tmplUsers, "users", "Users", page)
	return nil
}

// overview builds the table; selected is the key of the user whose panel is open, and
// canWrite says whether the signed-in token may act (the rows' actions).
func (h *Handler) overview(ctx context.Context, q overviewQuery, selected string, canWrite bool) (*usersPage, error) {
	envs, many, err := h.environmentOptions(ctx)
	if err != nil {
		return nil, err
	}
	names := map[string]envOption{}
	for _, e := range envs {
		names[e.Key] = e
	}
	scan, cache, none, err := h.scanOf(ctx, q, names)
	if err != nil {
		return nil, err
	}
	var res scanResult
	if !none {
		res, err = scan.run(ctx, h.api, decodePosition(q.Position))
		if store.CodeOf(err) == store.CodeInvalid && q.Position != "" {
			// A position of another order (an edited or old address): the first page.
			q.Position, q.Page, q.Back = "", 0, nil
			res, err = scan.run(ctx, h.api, scanPosition{})
		}
		if err != nil {
			return nil, err
		}
	}
	page := &usersPage{
		Query: q, States: userStates, Environments: envs, ManyEnvironments: many,
		Agencies: agenciesOf(envs), Looked: res.looked, Partial: res.partial,
		PageNumber: max(q.Page, 1),
	}
	if page.Rows, err = h.rowsOf(ctx, res.users, names, cache, selected); err != nil {
		return nil, err
	}
	for i := range page.Rows {
		page.Rows[i].URL = q.url(userURL(page.Rows[i].User.Key))
		page.Rows[i].AccessURL = q.url(userURL(page.Rows[i].User.Key) + "/access")
		page.Rows[i].Actions = actionsFor(page.Rows[i].User, canWrite, q)
	}
	page.Columns = columns(q)
	if res.next != nil {
		n := q
		here := cmp.Or(q.Position, firstPosition)
		n.Position, n.Page, n.Back = res.next.encode(), page.PageNumber+1, append(slices.Clone(q.Back), here)
		n.Back = n.Back[max(0, len(n.Back)-maxBack):]
		page.NextURL = n.url("/ui/users")
	}
	if q.Position != "" {
		f := q
		f.Position, f.Page, f.Back = "", 0, nil
		page.FirstURL = f.url("/ui/users")
		p := f
		if last := len(q.Back) - 1; last >= 0 && q.Back[last] != firstPosition {
			p.Position, p.Page, p.Back = q.Back[last], page.PageNumber-1, q.Back[:last]
		}
		page.PreviousURL = p.url("/ui/users")
	}
	if q.filtering() {
		page.ResetURL = "/ui/users"
	}
	return page, nil
}

// accessReaders bounds the concurrent access reads of one page: the store serves
// reads in parallel, and a page of 50 rows is 50 reads.
const accessReaders = 4

// rowsOf makes the table rows of users with the environments each can access, read
// now unless the scan read them.
func (h *Handler) rowsOf(ctx context.Context, users []store.User, names map[string]envOption, cache *accessCache, selected string) ([]userRow, error) {
	rows := make([]userRow, len(users))
	errs := make([]error, len(users))
	slots := make(chan struct{}, accessReaders)
	var wg sync.WaitGroup
	for i, u := range users {
		rows[i] = userRow{User: u, Selected: u.Key == selected}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			access, ok := cache.get(u.Key)
			if !ok {
				if access, errs[i] = h.accessOf(ctx, u); errs[i] != nil {
					return
				}
			}
			for _, a := range access.Environments {
				e, ok := names[a.Environment]
				if !ok {
					e = envOption{Key: a.Environment, Agency: a.Agency}
				}
				rows[i].Environments = append(rows[i].Environments, e)
			}
		})
	}
	wg.Wait()
	return rows, errors.Join(errs...)
}

// environmentOptions lists the environments for the filter menus and the names in
// the table: one store page; more than fit there are typed in instead.
func (h *Handler) environmentOptions(ctx context.Context) ([]envOption, bool, error) {
	page, err := h.api.ListEnvironments(ctx, store.EnvironmentFilter{Limit: maxListedEnvironments})
	if err != nil {
		return nil, false, err
	}
	out := make([]envOption, 0, len(page.Items))
	for _, e := range page.Items {
		out = append(out, envOption{Key: e.Key, Name: e.DisplayName, Agency: e.Agency})
	}
	return out, page.Next != nil, nil
}

func agenciesOf(envs []envOption) []string {
	var out []string
	for _, e := range envs {
		out = append(out, e.Agency)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// columns are the headers: for the sortable ones a link that sorts the whole listing
// by the column, or reverses the order when it already does, from the first page.
func columns(q overviewQuery) []column {
	var out []column
	for _, c := range []column{
		{Label: "Name", sort: sortName}, {Label: "Email", sort: sortEmail, Wide: "wide"}, {Label: "State"},
		{Label: "Last active", sort: sortLastActive, Wide: "wide"}, {Label: "Created", sort: sortCreated, Wide: "wide"},
	} {
		if c.sort != "" {
			n := q
			n.Sort, n.Desc = c.sort, false
			n.Position, n.Page, n.Back = "", 0, nil
			if q.Sort == c.sort {
				c.AriaSort = "ascending"
				if q.Desc {
					c.AriaSort = "descending"
				}
				n.Desc = !q.Desc
			}
			c.URL = n.url("/ui/users")
		}
		out = append(out, c)
	}
	return out
}
