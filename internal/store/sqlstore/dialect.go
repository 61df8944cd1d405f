package sqlstore

import (
	"strconv"
	"strings"
	"sync"

	"github.com/pressly/goose/v3"
)

// dialect holds what differs between SQLite and PostgreSQL. Queries are written once,
// with "?" placeholders, and rebound for PostgreSQL.
type dialect struct {
	name   string
	driver string
	goose  goose.Dialect
	// forUpdate locks the selected rows until the transaction ends; SQLite needs no
	// row locks because it has a single writer.
	forUpdate string
	// skipLocked lets concurrent outbox workers claim different rows.
	skipLocked string
	// dollar says placeholders are $1, $2, ...
	dollar bool
	// jsonTexts is a subquery over the strings of a JSON array given as a parameter:
	// one statement shape, whatever the number of values.
	jsonTexts string

	rebound sync.Map // query -> rebound query
}

var (
	sqliteDialect = &dialect{
		name:      "sqlite",
		driver:    "sqlite",
		goose:     goose.DialectSQLite3,
		jsonTexts: "SELECT value FROM json_each(?)",
	}
	postgresDialect = &dialect{
		name:       "postgres",
		driver:     "pgx",
		goose:      goose.DialectPostgres,
		forUpdate:  " FOR UPDATE",
		skipLocked: " FOR UPDATE SKIP LOCKED",
		dollar:     true,
		jsonTexts:  "SELECT jsonb_array_elements_text(CAST(? AS jsonb))",
	}
)

// q returns query with its placeholders in the dialect's form. Results are cached:
// queries are constants or built from a small set of shapes.
func (d *dialect) q(query string) string {
	if !d.dollar {
		return query
	}
	if v, ok := d.rebound.Load(query); ok {
		return v.(string)
	}
	v := rebind(query)
	d.rebound.Store(query, v)
	return v
}

// rebind turns "?" placeholders into "$1", "$2", ... Our queries hold no "?" inside
// string literals.
func rebind(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// placeholders returns "(?, ?, ...), (...)" for rows rows of cols columns.
func placeholders(rows, cols int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ")
}
