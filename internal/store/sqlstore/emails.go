package sqlstore

import (
	"context"
	"database/sql"
	"errors"
)

// Email identities (users.email_norm) were once just the lower-cased address. Rows
// written under that rule are recomputed when the store opens, once per database:
// the settings row email_identity records the rule the rows follow.
const (
	emailIdentitySetting = "email_identity"
	emailIdentityRule    = "nfc-idna-lower"
)

// renormalizeEmails recomputes the email identity of rows written under an older
// rule. Only addresses that are not ASCII can change. Two live users whose addresses
// turn out to be one person's keep their old identities (the unique index allows no
// other) and are logged by key: the next write of either email decides.
func (s *Store) renormalizeEmails(ctx context.Context) error {
	var rule string
	err := s.writer.QueryRowContext(ctx, s.d.q("SELECT value FROM settings WHERE name = ?"), emailIdentitySetting).Scan(&rule)
	switch {
	case err == nil && rule == emailIdentityRule:
		return nil
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return err
	}
	type change struct{ key, old, identity string }
	var changes []change
	rows, err := s.writer.QueryContext(ctx, "SELECT key, email, email_norm FROM users")
	if err != nil {
		return err
	}
	for rows.Next() {
		var c change
		var email string
		if err := rows.Scan(&c.key, &email, &c.old); err != nil {
			_ = rows.Close()
			return err
		}
		if c.identity = normEmail(email); c.identity != c.old {
			changes = append(changes, c)
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	for _, c := range changes {
		_, err := s.writer.ExecContext(ctx, s.d.q("UPDATE users SET email_norm = ? WHERE key = ? AND email_norm = ?"), c.identity, c.key, c.old)
		if classify(err) == classUniqueEmail {
			s.log.Warn("user's email is another spelling of a live user's email; it keeps its old identity until it is written again", "user", c.key)
			continue
		}
		if err != nil {
			return err
		}
	}
	_, err = s.writer.ExecContext(ctx, s.d.q("INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value"),
		emailIdentitySetting, emailIdentityRule)
	return err
}
