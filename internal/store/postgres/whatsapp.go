package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/money"
	"github.com/parley-dev/parley/internal/page"
	"github.com/parley-dev/parley/internal/whatsapp"
)

const senderCols = `id, workspace_id, name, phone, phone_number_id, waba_id, access_token, assistant_id,
	status, quality_rating, created_at, updated_at`

func scanSender(row interface{ Scan(...any) error }) (*whatsapp.Sender, error) {
	var s whatsapp.Sender
	var created, updated time.Time
	if err := row.Scan(&s.ID, &s.WorkspaceID, &s.Name, &s.Phone, &s.PhoneNumberID, &s.WABAID, &s.SealedToken,
		&s.AssistantID, &s.Status, &s.QualityRating, &created, &updated); err != nil {
		return nil, err
	}
	s.CreatedAt, s.UpdatedAt = utc(created), utc(updated)
	return &s, nil
}

func (db *DB) senders(ctx context.Context, q string, args ...any) ([]*whatsapp.Sender, error) {
	rows, err := db.conn(ctx).Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list senders: %w", err)
	}
	defer rows.Close()
	var out []*whatsapp.Sender
	for rows.Next() {
		s, err := scanSender(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// CreateSender implements whatsapp.Store.
func (db *DB) CreateSender(ctx context.Context, s *whatsapp.Sender) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO whatsapp_senders (`+senderCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			s.ID, s.WorkspaceID, s.Name, s.Phone, s.PhoneNumberID, s.WABAID, s.SealedToken, s.AssistantID,
			s.Status, s.QualityRating, ts(s.CreatedAt), ts(s.UpdatedAt))
		if isUnique(err) {
			return fault.Invalid("phone_number_id", "this phone number id is already connected")
		}
		if err != nil {
			return fmt.Errorf("insert sender: %w", err)
		}
		return nil
	})
}

// GetSender implements whatsapp.Store.
func (db *DB) GetSender(ctx context.Context, workspaceID, id string) (*whatsapp.Sender, error) {
	s, err := scanSender(db.conn(ctx).QueryRow(ctx, `SELECT `+senderCols+` FROM whatsapp_senders
		WHERE workspace_id = $1 AND id = $2`, workspaceID, id))
	return s, notFound(err, "sender")
}

// ListSenders implements whatsapp.Store.
func (db *DB) ListSenders(ctx context.Context, workspaceID string) ([]*whatsapp.Sender, error) {
	return db.senders(ctx, `SELECT `+senderCols+` FROM whatsapp_senders WHERE workspace_id = $1 ORDER BY id`, workspaceID)
}

// UpdateSender implements whatsapp.Store.
func (db *DB) UpdateSender(ctx context.Context, s *whatsapp.Sender) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE whatsapp_senders SET name = $1, phone = $2, phone_number_id = $3, waba_id = $4,
			access_token = $5, assistant_id = $6, status = $7, quality_rating = $8, updated_at = $9
			WHERE workspace_id = $10 AND id = $11`, s.Name, s.Phone, s.PhoneNumberID, s.WABAID, s.SealedToken, s.AssistantID,
			s.Status, s.QualityRating, ts(s.UpdatedAt), s.WorkspaceID, s.ID)
		if isUnique(err) {
			return fault.Invalid("phone_number_id", "this phone number id is already connected")
		}
		return affected(tag, err, "sender")
	})
}

// SetSenderNumber implements whatsapp.Store.
func (db *DB) SetSenderNumber(ctx context.Context, workspaceID, id, status, quality string, at time.Time) error {
	tag, err := db.conn(ctx).Exec(ctx, `UPDATE whatsapp_senders SET status = $1, quality_rating = $2, updated_at = $3
		WHERE workspace_id = $4 AND id = $5`, status, quality, ts(at), workspaceID, id)
	return affected(tag, err, "sender")
}

// DeleteSender implements whatsapp.Store.
func (db *DB) DeleteSender(ctx context.Context, workspaceID, id string) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM whatsapp_senders WHERE workspace_id = $1 AND id = $2`, workspaceID, id)
		return affected(tag, err, "sender")
	})
}

// SenderByPhoneNumberID implements whatsapp.Store.
func (db *DB) SenderByPhoneNumberID(ctx context.Context, phoneNumberID string) (*whatsapp.Sender, error) {
	s, err := scanSender(db.conn(ctx).QueryRow(ctx, `SELECT `+senderCols+` FROM whatsapp_senders
		WHERE phone_number_id = $1`, phoneNumberID))
	return s, notFound(err, "sender")
}

// SendersByWABA implements whatsapp.Store.
func (db *DB) SendersByWABA(ctx context.Context, wabaID string) ([]*whatsapp.Sender, error) {
	return db.senders(ctx, `SELECT `+senderCols+` FROM whatsapp_senders WHERE waba_id = $1 ORDER BY id`, wabaID)
}

const templateCols = `id, workspace_id, sender_id, waba_id, meta_id, name, language, category, status, reason,
	components, created_at, updated_at`

func scanTemplate(row interface{ Scan(...any) error }) (*whatsapp.Template, error) {
	var t whatsapp.Template
	var comps string
	var created, updated time.Time
	if err := row.Scan(&t.ID, &t.WorkspaceID, &t.SenderID, &t.WABAID, &t.MetaID, &t.Name, &t.Language, &t.Category,
		&t.Status, &t.Reason, &comps, &created, &updated); err != nil {
		return nil, err
	}
	t.Components = json.RawMessage(comps)
	t.CreatedAt, t.UpdatedAt = utc(created), utc(updated)
	return &t, nil
}

// UpsertTemplate implements whatsapp.Store.
func (db *DB) UpsertTemplate(ctx context.Context, t *whatsapp.Template) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO whatsapp_templates (`+templateCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
			ON CONFLICT (workspace_id, waba_id, name, language) DO UPDATE SET sender_id = excluded.sender_id,
				meta_id = excluded.meta_id, category = excluded.category, status = excluded.status,
				reason = excluded.reason, components = excluded.components, updated_at = excluded.updated_at
			RETURNING id, created_at`,
			t.ID, t.WorkspaceID, t.SenderID, t.WABAID, t.MetaID, t.Name, t.Language, t.Category, t.Status, t.Reason,
			string(t.Components), ts(t.CreatedAt), ts(t.UpdatedAt)).Scan(&t.ID, new(time.Time))
	})
}

// GetTemplate implements whatsapp.Store.
func (db *DB) GetTemplate(ctx context.Context, workspaceID, id string) (*whatsapp.Template, error) {
	t, err := scanTemplate(db.conn(ctx).QueryRow(ctx, `SELECT `+templateCols+` FROM whatsapp_templates
		WHERE workspace_id = $1 AND id = $2`, workspaceID, id))
	return t, notFound(err, "template")
}

// FindTemplate implements whatsapp.Store.
func (db *DB) FindTemplate(ctx context.Context, workspaceID, wabaID, name, language string) (*whatsapp.Template, error) {
	t, err := scanTemplate(db.conn(ctx).QueryRow(ctx, `SELECT `+templateCols+` FROM whatsapp_templates
		WHERE workspace_id = $1 AND waba_id = $2 AND name = $3 AND language = $4`, workspaceID, wabaID, name, language))
	return t, notFound(err, "template")
}

// ListTemplates implements whatsapp.Store.
func (db *DB) ListTemplates(ctx context.Context, workspaceID string) ([]*whatsapp.Template, error) {
	rows, err := db.conn(ctx).Query(ctx, `SELECT `+templateCols+` FROM whatsapp_templates
		WHERE workspace_id = $1 ORDER BY name, language`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	defer rows.Close()
	var out []*whatsapp.Template
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteTemplate implements whatsapp.Store.
func (db *DB) DeleteTemplate(ctx context.Context, workspaceID, id string) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM whatsapp_templates WHERE workspace_id = $1 AND id = $2`, workspaceID, id)
		return affected(tag, err, "template")
	})
}

// SetTemplateStatus implements whatsapp.Store.
func (db *DB) SetTemplateStatus(ctx context.Context, wabaID, name, language, status, reason string, at time.Time) (int, error) {
	var n int64
	err := db.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE whatsapp_templates SET status = $1, reason = $2, updated_at = $3
			WHERE waba_id = $4 AND name = $5 AND ($6::text = '' OR language = $7)`, status, reason, ts(at), wabaID, name, language, language)
		if err != nil {
			return fmt.Errorf("update template status: %w", err)
		}
		n = tag.RowsAffected()
		return nil
	})
	return int(n), err
}

// CreateRate implements whatsapp.Store.
func (db *DB) CreateRate(ctx context.Context, r *whatsapp.Rate) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO whatsapp_rates (id, workspace_id, category, market, price_per_message,
			effective_from, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`, r.ID, r.WorkspaceID, r.Category, r.Market,
			int64(r.Price), ts(r.EffectiveFrom), ts(r.CreatedAt))
		if err != nil {
			return fmt.Errorf("insert rate: %w", err)
		}
		return nil
	})
}

// ListRates implements whatsapp.Store.
func (db *DB) ListRates(ctx context.Context, workspaceID string) ([]*whatsapp.Rate, error) {
	rows, err := db.conn(ctx).Query(ctx, `SELECT id, workspace_id, category, market, price_per_message,
		effective_from, created_at FROM whatsapp_rates WHERE workspace_id = $1 ORDER BY id`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list rates: %w", err)
	}
	defer rows.Close()
	var out []*whatsapp.Rate
	for rows.Next() {
		var r whatsapp.Rate
		var price int64
		var from, created time.Time
		if err := rows.Scan(&r.ID, &r.WorkspaceID, &r.Category, &r.Market, &price, &from, &created); err != nil {
			return nil, err
		}
		r.Price, r.EffectiveFrom, r.CreatedAt = money.Money(price), utc(from), utc(created)
		out = append(out, &r)
	}
	return out, rows.Err()
}

// DeleteRate implements whatsapp.Store.
func (db *DB) DeleteRate(ctx context.Context, workspaceID, id string) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM whatsapp_rates WHERE workspace_id = $1 AND id = $2`, workspaceID, id)
		return affected(tag, err, "rate")
	})
}

// threadColumns are the columns scanThread reads.
const threadColumns = `id, workspace_id, sender_id, phone, user_id, conversation_id, created_at,
	former_phone, phone_changed_at, former_user_id, user_id_changed_at`

func scanThread(row pgx.Row) (*whatsapp.Thread, error) {
	var t whatsapp.Thread
	var ph, uid, fph, fuid *string
	var created time.Time
	if err := row.Scan(&t.ID, &t.WorkspaceID, &t.SenderID, &ph, &uid, &t.ConversationID, &created,
		&fph, &t.PhoneChangedAt, &fuid, &t.UserIDChangedAt); err != nil {
		return nil, notFound(err, "thread")
	}
	t.Phone, t.UserID, t.CreatedAt = str(ph), str(uid), utc(created)
	t.FormerPhone, t.PhoneChangedAt = str(fph), optTime(t.PhoneChangedAt)
	t.FormerUserID, t.UserIDChangedAt = str(fuid), optTime(t.UserIDChangedAt)
	return &t, nil
}

// FindThread implements whatsapp.Store: a match on the user id wins
// over one on the phone.
func (db *DB) FindThread(ctx context.Context, workspaceID, senderID, phone, userID string) (*whatsapp.Thread, error) {
	return scanThread(db.conn(ctx).QueryRow(ctx, `SELECT `+threadColumns+`
		FROM whatsapp_threads WHERE workspace_id = $1 AND sender_id = $2 AND (user_id = $3 OR phone = $4)
		ORDER BY user_id IS NOT DISTINCT FROM $5 DESC LIMIT 1 FOR UPDATE`, workspaceID, senderID, null(userID), null(phone), null(userID)))
}

// FormerThreads implements whatsapp.Store.
func (db *DB) FormerThreads(ctx context.Context, workspaceID, senderID, phone, userID string, at time.Time) ([]*whatsapp.Thread, error) {
	rows, err := db.conn(ctx).Query(ctx, `SELECT `+threadColumns+`
		FROM whatsapp_threads WHERE workspace_id = $1 AND sender_id = $2
		AND ((former_user_id = $3 AND user_id_changed_at > $5) OR (former_phone = $4 AND phone_changed_at > $5))
		LIMIT 8 FOR UPDATE`, workspaceID, senderID, null(userID), null(phone), ts(at))
	if err != nil {
		return nil, fmt.Errorf("find former threads: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*whatsapp.Thread, error) { return scanThread(r) })
	if err != nil {
		return nil, fmt.Errorf("find former threads: %w", err)
	}
	return out, nil
}

// InsertThread implements whatsapp.Store.
func (db *DB) InsertThread(ctx context.Context, t *whatsapp.Thread) (bool, error) {
	var n int64
	err := db.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO whatsapp_threads (id, workspace_id, sender_id, phone, user_id,
			conversation_id, created_at, former_phone, phone_changed_at, former_user_id, user_id_changed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING`,
			t.ID, t.WorkspaceID, t.SenderID, null(t.Phone), null(t.UserID), t.ConversationID, ts(t.CreatedAt),
			null(t.FormerPhone), optTime(t.PhoneChangedAt), null(t.FormerUserID), optTime(t.UserIDChangedAt))
		if err != nil {
			return fmt.Errorf("insert thread: %w", err)
		}
		n = tag.RowsAffected()
		return nil
	})
	return n == 1, err
}

// UpdateThread implements whatsapp.Store.
func (db *DB) UpdateThread(ctx context.Context, t *whatsapp.Thread) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE whatsapp_threads SET phone = $1, user_id = $2, conversation_id = $3,
			former_phone = $4, phone_changed_at = $5, former_user_id = $6, user_id_changed_at = $7
			WHERE workspace_id = $8 AND id = $9`,
			null(t.Phone), null(t.UserID), t.ConversationID, null(t.FormerPhone), optTime(t.PhoneChangedAt),
			null(t.FormerUserID), optTime(t.UserIDChangedAt), t.WorkspaceID, t.ID)
		if isUnique(err) {
			return fault.New(fault.CodeConflict, "another thread of this sender holds the customer's new identifier")
		}
		if err != nil {
			return fmt.Errorf("update thread: %w", err)
		}
		return nil
	})
}

// DeleteThread implements whatsapp.Store.
func (db *DB) DeleteThread(ctx context.Context, workspaceID, id string) error {
	if _, err := db.conn(ctx).Exec(ctx, `DELETE FROM whatsapp_threads WHERE workspace_id = $1 AND id = $2`, workspaceID, id); err != nil {
		return fmt.Errorf("delete thread: %w", err)
	}
	return nil
}

// KeepEarlyReceipt implements whatsapp.Store.
func (db *DB) KeepEarlyReceipt(ctx context.Context, workspaceID string, st *whatsapp.Status, at, dropBefore time.Time) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode receipt: %w", err)
	}
	return db.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM whatsapp_early_receipts WHERE received_at < $1`, dropBefore); err != nil {
			return fmt.Errorf("drop early receipts: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO whatsapp_early_receipts (workspace_id, wamid, status, received_at)
			VALUES ($1, $2, $3, $4)`, workspaceID, st.ID, string(b), at); err != nil {
			return fmt.Errorf("keep early receipt: %w", err)
		}
		return nil
	})
}

// TakeEarlyReceipts implements whatsapp.Store.
func (db *DB) TakeEarlyReceipts(ctx context.Context, workspaceID, wamid string) ([]whatsapp.Status, error) {
	var out []whatsapp.Status
	err := db.tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `DELETE FROM whatsapp_early_receipts WHERE workspace_id = $1 AND wamid = $2
			RETURNING status::text`, workspaceID, wamid)
		if err != nil {
			return fmt.Errorf("take early receipts: %w", err)
		}
		list, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("take early receipts: %w", err)
		}
		for _, b := range list {
			var st whatsapp.Status
			if err := json.Unmarshal([]byte(b), &st); err != nil {
				return fmt.Errorf("decode early receipt: %w", err)
			}
			out = append(out, st)
		}
		return nil
	})
	return out, err
}

// LockWamids implements whatsapp.Store with transaction-scoped advisory
// locks, taken in the order of their keys so that two transactions
// locking several wamids cannot deadlock on them.
func (db *DB) LockWamids(ctx context.Context, wamids []string) error {
	if len(wamids) == 0 {
		return nil
	}
	return db.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(k) FROM (
			SELECT DISTINCT hashtextextended('parley.wamid:' || w, 0) AS k FROM unnest($1::text[]) AS w ORDER BY k) AS keys`, wamids)
		if err != nil {
			return fmt.Errorf("lock wamids: %w", err)
		}
		return nil
	})
}

// ClaimWamid implements whatsapp.Store.
func (db *DB) ClaimWamid(ctx context.Context, workspaceID, wamid, conversationID, messageID string, outbound bool) (bool, error) {
	var n int64
	err := db.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO whatsapp_wamids (wamid, workspace_id, conversation_id, message_id, outbound)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, wamid, workspaceID, conversationID, messageID, outbound)
		if err != nil {
			return fmt.Errorf("claim wamid: %w", err)
		}
		n = tag.RowsAffected()
		return nil
	})
	return n == 1, err
}

// AttachWamid implements whatsapp.Store.
func (db *DB) AttachWamid(ctx context.Context, workspaceID, wamid, conversationID string) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE whatsapp_wamids SET conversation_id = $1 WHERE workspace_id = $2 AND wamid = $3`,
			conversationID, workspaceID, wamid)
		if err != nil {
			return fmt.Errorf("attach wamid: %w", err)
		}
		return nil
	})
}

// LookupWamid implements whatsapp.Store.
func (db *DB) LookupWamid(ctx context.Context, workspaceID, wamid string) (string, string, bool, error) {
	var conv, msg string
	var out bool
	err := db.conn(ctx).QueryRow(ctx, `SELECT conversation_id, message_id, outbound FROM whatsapp_wamids
		WHERE wamid = $1 AND workspace_id = $2`, wamid, workspaceID).Scan(&conv, &msg, &out)
	if err != nil {
		return "", "", false, notFound(err, "message")
	}
	return conv, msg, out, nil
}

// SaveUnrouted implements whatsapp.Store.
func (db *DB) SaveUnrouted(ctx context.Context, u *whatsapp.Unrouted) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO whatsapp_unrouted (id, workspace_id, waba_id, phone_number_id, reason,
			detail, payload, received_at, digest) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`, u.ID,
			null(u.WorkspaceID), u.WABAID, u.PhoneNumberID, u.Reason, u.Detail, string(u.Payload), ts(u.ReceivedAt), null(u.Digest))
		if err != nil {
			return fmt.Errorf("keep unrouted webhook: %w", err)
		}
		return nil
	})
}

// ListUnrouted implements whatsapp.Store.
func (db *DB) ListUnrouted(ctx context.Context, workspaceID string, req page.Request) ([]*whatsapp.Unrouted, error) {
	a := args{workspaceID}
	q := a.pageByID(`SELECT id, workspace_id, waba_id, phone_number_id, reason, detail, payload, received_at
		FROM whatsapp_unrouted u WHERE (workspace_id = $1 OR (workspace_id IS NULL AND waba_id IN (
			SELECT waba_id FROM whatsapp_senders WHERE workspace_id = $1) AND NOT EXISTS (
			SELECT 1 FROM whatsapp_senders o WHERE o.waba_id = u.waba_id AND o.workspace_id <> $1)))`, req)
	rows, err := db.conn(ctx).Query(ctx, q, a...)
	if err != nil {
		return nil, fmt.Errorf("list unrouted webhooks: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*whatsapp.Unrouted, error) {
		var u whatsapp.Unrouted
		var ws *string
		var payload string
		if err := r.Scan(&u.ID, &ws, &u.WABAID, &u.PhoneNumberID, &u.Reason, &u.Detail, &payload, &u.ReceivedAt); err != nil {
			return nil, err
		}
		if ws != nil {
			u.WorkspaceID = *ws
		}
		u.Payload, u.ReceivedAt = json.RawMessage(payload), u.ReceivedAt.UTC()
		return &u, nil
	})
}
