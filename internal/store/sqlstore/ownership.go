package sqlstore

import "github.com/studio-operator/studio-operator/internal/store"

// ownership is what a write does to a record's managedBy: a write without a manager
// is a person in the Studio and keeps it, another manager's write is refused, and a
// record without a manager is adopted by the first manager that writes it.
type ownership struct {
	// managedBy is the record's manager after the write.
	managedBy string
	// adopted: the record had no manager and the writer's manager takes it over.
	adopted bool
	// byPerson: the write comes from a person in the Studio (no manager).
	byPerson bool
}

// decideOwnership applies the ownership rules to a write by manager on an existing
// record managed by current. A write without manager is a person's: allowed, keeps the
// manager. Another manager's write is refused. A record without manager is adopted
// when adopt is set (upserts adopt; other writes only check).
func decideOwnership(current, manager string, adopt bool) (ownership, error) {
	switch {
	case manager == "":
		return ownership{managedBy: current, byPerson: true}, nil
	case current == "":
		if !adopt {
			return ownership{}, nil
		}
		return ownership{managedBy: manager, adopted: true}, nil
	case current == manager:
		return ownership{managedBy: current}, nil
	}
	return ownership{}, store.Errorf(store.CodeManagedByOther, "", msgManagedByOther)
}

// correctsDrift reports whether a changing write under o corrects drift: a manager
// changes a record whose last change was a person's.
func (o ownership) correctsDrift(changedByPerson bool) bool {
	return !o.byPerson && !o.adopted && o.managedBy != "" && changedByPerson
}

// personFlag is the changed-by-person flag a changing write leaves behind: only a
// person's change to a managed record is drift.
func (o ownership) personFlag() bool { return o.byPerson && o.managedBy != "" }
