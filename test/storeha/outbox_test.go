package storeha

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// The test reads the outbox table directly for what the API does not show: which
// lease the killed replica held and how many mails each user has in the outbox. It
// changes one thing there, see expireLease.

// leaseOf returns the lease of the outbox message with messageID: claimed_until, in
// Unix microseconds. Every message of one claim shares it.
func leaseOf(ctx context.Context, dsn, messageID string) (int64, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	var lease int64
	err = conn.QueryRow(ctx, "SELECT claimed_until FROM outbox WHERE message_id = $1 AND completed_at IS NULL", messageID).Scan(&lease)
	if err != nil {
		return 0, fmt.Errorf("lease of the held mail: %w", err)
	}
	return lease, nil
}

// expireLease ends the lease the killed replica held on the messages of its last
// claim, as if its two minutes (mail.DefaultLease, which no flag shortens) had passed,
// and returns how many messages it held. Only that claim is touched: the survivor's
// claims have leases of their own.
func expireLease(ctx context.Context, dsn string, lease int64) (int64, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	tag, err := conn.Exec(ctx, "UPDATE outbox SET claimed_until = 0 WHERE claimed_until = $1 AND completed_at IS NULL AND failed_at IS NULL", lease)
	if err != nil {
		return 0, fmt.Errorf("expire the killed replica's lease: %w", err)
	}
	return tag.RowsAffected(), nil
}

// outboxMessageIDs returns the Message-IDs of each user's outbox rows.
func outboxMessageIDs(ctx context.Context, dsn string) (map[string][]string, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	rows, err := conn.Query(ctx, "SELECT user_key, message_id FROM outbox ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var user, id string
		if err := rows.Scan(&user, &id); err != nil {
			return nil, err
		}
		out[user] = append(out[user], id)
	}
	return out, rows.Err()
}
