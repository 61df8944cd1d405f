package sqlstore

import (
	"context"
	"database/sql"

	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/mail"
)

// joinDelivery joins an invitation (alias i) to its mail (alias o) through the
// unique index outbox_invitation; o's columns are NULL when the invitation has no
// linked mail (it was sent before outbox.invitation_id existed).
const joinDelivery = "LEFT JOIN outbox o ON o.invitation_id = i.id"

// invitationDeliveryColumns are an invitation's columns followed by its mail's,
// for scanInvitationDelivery.
var invitationDeliveryColumns = prefixColumns("i.", invitationColumns) + ", o.id, o.attempts, o.completed_at, o.failed_at, o.last_error"

// scanInvitationDelivery scans invitationDeliveryColumns.
func scanInvitationDelivery(row interface{ Scan(...any) error }) (invitationRow, error) {
	var r invitationRow
	var sent, expires int64
	var d deliveryRow
	err := row.Scan(&r.id, &r.user, &r.status, &r.sendCount, &sent, &expires,
		&d.id, &d.attempts, &d.completedAt, &d.failedAt, &d.lastError)
	r.sentAt, r.expiresAt = fromMicros(sent), fromMicros(expires)
	r.delivery = d.view()
	return r, err
}

// deliveryRow is what the outbox keeps of an invitation's mail, read through a LEFT
// JOIN: every column is NULL when there is no linked mail.
type deliveryRow struct {
	id          sql.NullInt64
	attempts    sql.NullInt64
	completedAt sql.NullInt64
	failedAt    sql.NullInt64
	lastError   sql.NullString
}

// view is the delivery as clients see it, nil without a linked mail. The outbox
// counts failed attempts; a delivered mail was tried once more, successfully. The
// stored error is reduced to its reply class: it is redacted, but it is still a mail
// server's text.
func (d deliveryRow) view() *store.InvitationDelivery {
	if !d.id.Valid {
		return nil
	}
	out := &store.InvitationDelivery{State: store.DeliveryQueued, Attempts: int(d.attempts.Int64)}
	switch {
	case d.completedAt.Valid:
		out.State = store.DeliveryDelivered
		out.Attempts++
	case d.failedAt.Valid:
		out.State = store.DeliveryFailed
		out.ReplyClass = mail.ReplyClass(d.lastError.String)
	case d.lastError.String != "":
		out.ReplyClass = mail.ReplyClass(d.lastError.String)
	}
	return out
}

// undeliverableQuery is a page of ListUndeliverable: the user key after which it
// starts, the pending status, now and the number of rows. Its outbox conditions are
// those of the partial index outbox_failed_user, which serves it.
const undeliverableQuery = "SELECT o.user_key, i.sent_at, o.last_error FROM outbox o JOIN invitations i ON i.id = o.invitation_id " +
	"WHERE o.failed_at IS NOT NULL AND o.invitation_id IS NOT NULL AND o.user_key > ? AND i.status = ? AND i.expires_at > ? " +
	"ORDER BY o.user_key LIMIT ?"

// ListUndeliverable pages through the pending invitations whose mail was
// dead-lettered, by user key. A page is one query driven by the partial index
// outbox_failed_user, which holds only failed invitation mail: it is empty while no
// mail failed, and otherwise each candidate costs one primary-key lookup of its
// invitation. A user is listed at most once: only its latest invitation can be
// pending, and an invitation has one mail.
func (s *Store) ListUndeliverable(ctx context.Context, f store.UndeliverableFilter) (store.UndeliverablePage, error) {
	limit, err := pageSize(f.Limit)
	if err != nil {
		return store.UndeliverablePage{}, err
	}
	after, err := decodeCursor(cursorUndeliverable, f.Cursor)
	if err != nil {
		return store.UndeliverablePage{}, err
	}
	rows, err := s.pool().query(ctx, undeliverableQuery, after, invitationPending, micros(s.now()), limit+1)
	if err != nil {
		return store.UndeliverablePage{}, mapError(err)
	}
	defer rows.Close()
	page := store.UndeliverablePage{Items: []store.UndeliverableInvitation{}}
	for rows.Next() {
		var it store.UndeliverableInvitation
		var sent int64
		var reason string
		if err := rows.Scan(&it.User, &sent, &reason); err != nil {
			return store.UndeliverablePage{}, mapError(err)
		}
		it.SentAt, it.ReplyClass = fromMicros(sent), mail.ReplyClass(reason)
		page.Items = append(page.Items, it)
	}
	if err := rows.Err(); err != nil {
		return store.UndeliverablePage{}, mapError(err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		next := encodeCursor(cursorUndeliverable, page.Items[limit-1].User)
		page.Next = &next
	}
	return page, nil
}
