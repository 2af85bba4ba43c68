package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/parley-dev/parley/internal/fault"
	"github.com/parley-dev/parley/internal/money"
	"github.com/parley-dev/parley/internal/page"
	"github.com/parley-dev/parley/internal/whatsapp"
)

const senderCols = `id, workspace_id, name, phone, phone_number_id, waba_id, access_token, assistant_id,
	status, quality_rating, created_at, updated_at`

func scanSender(row interface{ Scan(...any) error }) (*whatsapp.Sender, error) {
	var s whatsapp.Sender
	var created, updated int64
	if err := row.Scan(&s.ID, &s.WorkspaceID, &s.Name, &s.Phone, &s.PhoneNumberID, &s.WABAID, &s.SealedToken,
		&s.AssistantID, &s.Status, &s.QualityRating, &created, &updated); err != nil {
		return nil, err
	}
	s.CreatedAt, s.UpdatedAt = fromMS(created), fromMS(updated)
	return &s, nil
}

func (db *DB) senders(ctx context.Context, q string, args ...any) ([]*whatsapp.Sender, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, q, args...)
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
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO whatsapp_senders (`+senderCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.ID, s.WorkspaceID, s.Name, s.Phone, s.PhoneNumberID, s.WABAID, s.SealedToken, s.AssistantID,
			s.Status, s.QualityRating, ms(s.CreatedAt), ms(s.UpdatedAt))
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
	s, err := scanSender(db.reader(ctx).QueryRowContext(ctx, `SELECT `+senderCols+` FROM whatsapp_senders
		WHERE workspace_id = ? AND id = ?`, workspaceID, id))
	return s, db.notFound(err, "sender")
}

// ListSenders implements whatsapp.Store.
func (db *DB) ListSenders(ctx context.Context, workspaceID string) ([]*whatsapp.Sender, error) {
	return db.senders(ctx, `SELECT `+senderCols+` FROM whatsapp_senders WHERE workspace_id = ? ORDER BY id`, workspaceID)
}

// UpdateSender implements whatsapp.Store.
func (db *DB) UpdateSender(ctx context.Context, s *whatsapp.Sender) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE whatsapp_senders SET name = ?, phone = ?, phone_number_id = ?, waba_id = ?,
			access_token = ?, assistant_id = ?, status = ?, quality_rating = ?, updated_at = ?
			WHERE workspace_id = ? AND id = ?`, s.Name, s.Phone, s.PhoneNumberID, s.WABAID, s.SealedToken, s.AssistantID,
			s.Status, s.QualityRating, ms(s.UpdatedAt), s.WorkspaceID, s.ID)
		if isUnique(err) {
			return fault.Invalid("phone_number_id", "this phone number id is already connected")
		}
		return affected(res, err, "sender")
	})
}

// SetSenderNumber implements whatsapp.Store.
func (db *DB) SetSenderNumber(ctx context.Context, workspaceID, id, status, quality string, at time.Time) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE whatsapp_senders SET status = ?, quality_rating = ?, updated_at = ?
			WHERE workspace_id = ? AND id = ?`, status, quality, ms(at), workspaceID, id)
		return affected(res, err, "sender")
	})
}

// DeleteSender implements whatsapp.Store.
func (db *DB) DeleteSender(ctx context.Context, workspaceID, id string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM whatsapp_senders WHERE workspace_id = ? AND id = ?`, workspaceID, id)
		return affected(res, err, "sender")
	})
}

// SenderByPhoneNumberID implements whatsapp.Store.
func (db *DB) SenderByPhoneNumberID(ctx context.Context, phoneNumberID string) (*whatsapp.Sender, error) {
	s, err := scanSender(db.reader(ctx).QueryRowContext(ctx, `SELECT `+senderCols+` FROM whatsapp_senders
		WHERE phone_number_id = ?`, phoneNumberID))
	return s, db.notFound(err, "sender")
}

// SendersByWABA implements whatsapp.Store.
func (db *DB) SendersByWABA(ctx context.Context, wabaID string) ([]*whatsapp.Sender, error) {
	return db.senders(ctx, `SELECT `+senderCols+` FROM whatsapp_senders WHERE waba_id = ? ORDER BY id`, wabaID)
}

const templateCols = `id, workspace_id, sender_id, waba_id, meta_id, name, language, category, status, reason,
	components, created_at, updated_at`

func scanTemplate(row interface{ Scan(...any) error }) (*whatsapp.Template, error) {
	var t whatsapp.Template
	var comps string
	var created, updated int64
	if err := row.Scan(&t.ID, &t.WorkspaceID, &t.SenderID, &t.WABAID, &t.MetaID, &t.Name, &t.Language, &t.Category,
		&t.Status, &t.Reason, &comps, &created, &updated); err != nil {
		return nil, err
	}
	t.Components = json.RawMessage(comps)
	t.CreatedAt, t.UpdatedAt = fromMS(created), fromMS(updated)
	return &t, nil
}

// UpsertTemplate implements whatsapp.Store.
func (db *DB) UpsertTemplate(ctx context.Context, t *whatsapp.Template) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO whatsapp_templates (`+templateCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (workspace_id, waba_id, name, language) DO UPDATE SET sender_id = excluded.sender_id,
				meta_id = excluded.meta_id, category = excluded.category, status = excluded.status,
				reason = excluded.reason, components = excluded.components, updated_at = excluded.updated_at
			RETURNING id, created_at`,
			t.ID, t.WorkspaceID, t.SenderID, t.WABAID, t.MetaID, t.Name, t.Language, t.Category, t.Status, t.Reason,
			string(t.Components), ms(t.CreatedAt), ms(t.UpdatedAt)).Scan(&t.ID, new(int64))
	})
}

// GetTemplate implements whatsapp.Store.
func (db *DB) GetTemplate(ctx context.Context, workspaceID, id string) (*whatsapp.Template, error) {
	t, err := scanTemplate(db.reader(ctx).QueryRowContext(ctx, `SELECT `+templateCols+` FROM whatsapp_templates
		WHERE workspace_id = ? AND id = ?`, workspaceID, id))
	return t, db.notFound(err, "template")
}

// FindTemplate implements whatsapp.Store.
func (db *DB) FindTemplate(ctx context.Context, workspaceID, wabaID, name, language string) (*whatsapp.Template, error) {
	t, err := scanTemplate(db.reader(ctx).QueryRowContext(ctx, `SELECT `+templateCols+` FROM whatsapp_templates
		WHERE workspace_id = ? AND waba_id = ? AND name = ? AND language = ?`, workspaceID, wabaID, name, language))
	return t, db.notFound(err, "template")
}

// ListTemplates implements whatsapp.Store.
func (db *DB) ListTemplates(ctx context.Context, workspaceID string) ([]*whatsapp.Template, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT `+templateCols+` FROM whatsapp_templates
		WHERE workspace_id = ? ORDER BY name, language`, workspaceID)
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
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM whatsapp_templates WHERE workspace_id = ? AND id = ?`, workspaceID, id)
		return affected(res, err, "template")
	})
}

// SetTemplateStatus implements whatsapp.Store.
func (db *DB) SetTemplateStatus(ctx context.Context, wabaID, name, language, status, reason string, at time.Time) (int, error) {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE whatsapp_templates SET status = ?, reason = ?, updated_at = ?
			WHERE waba_id = ? AND name = ? AND (? = '' OR language = ?)`, status, reason, ms(at), wabaID, name, language, language)
		if err != nil {
			return fmt.Errorf("update template status: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// CreateRate implements whatsapp.Store.
func (db *DB) CreateRate(ctx context.Context, r *whatsapp.Rate) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO whatsapp_rates (id, workspace_id, category, market, price_per_message,
			effective_from, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`, r.ID, r.WorkspaceID, r.Category, r.Market,
			int64(r.Price), ms(r.EffectiveFrom), ms(r.CreatedAt))
		if err != nil {
			return fmt.Errorf("insert rate: %w", err)
		}
		return nil
	})
}

// ListRates implements whatsapp.Store.
func (db *DB) ListRates(ctx context.Context, workspaceID string) ([]*whatsapp.Rate, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT id, workspace_id, category, market, price_per_message,
		effective_from, created_at FROM whatsapp_rates WHERE workspace_id = ? ORDER BY id`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list rates: %w", err)
	}
	defer rows.Close()
	var out []*whatsapp.Rate
	for rows.Next() {
		var r whatsapp.Rate
		var price, from, created int64
		if err := rows.Scan(&r.ID, &r.WorkspaceID, &r.Category, &r.Market, &price, &from, &created); err != nil {
			return nil, err
		}
		r.Price, r.EffectiveFrom, r.CreatedAt = money.Money(price), fromMS(from), fromMS(created)
		out = append(out, &r)
	}
	return out, rows.Err()
}

// DeleteRate implements whatsapp.Store.
func (db *DB) DeleteRate(ctx context.Context, workspaceID, id string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM whatsapp_rates WHERE workspace_id = ? AND id = ?`, workspaceID, id)
		return affected(res, err, "rate")
	})
}

// threadColumns are the columns scanThread reads.
const threadColumns = `id, workspace_id, sender_id, phone, user_id, conversation_id, created_at,
	former_phone, phone_changed_at, former_user_id, user_id_changed_at`

func (db *DB) scanThread(row interface{ Scan(...any) error }) (*whatsapp.Thread, error) {
	var t whatsapp.Thread
	var ph, uid, fph, fuid sql.NullString
	var created int64
	var phoneAt, userAt sql.NullInt64
	if err := row.Scan(&t.ID, &t.WorkspaceID, &t.SenderID, &ph, &uid, &t.ConversationID, &created,
		&fph, &phoneAt, &fuid, &userAt); err != nil {
		return nil, db.notFound(err, "thread")
	}
	t.Phone, t.UserID, t.CreatedAt = ph.String, uid.String, fromMS(created)
	t.FormerPhone, t.PhoneChangedAt = fph.String, fromOptMS(phoneAt)
	t.FormerUserID, t.UserIDChangedAt = fuid.String, fromOptMS(userAt)
	return &t, nil
}

// FindThread implements whatsapp.Store: a match on the user id wins
// over one on the phone.
func (db *DB) FindThread(ctx context.Context, workspaceID, senderID, phone, userID string) (*whatsapp.Thread, error) {
	return db.scanThread(db.reader(ctx).QueryRowContext(ctx, `SELECT `+threadColumns+`
		FROM whatsapp_threads WHERE workspace_id = ? AND sender_id = ? AND (user_id = ? OR phone = ?)
		ORDER BY user_id = ? DESC LIMIT 1`, workspaceID, senderID, null(userID), null(phone), null(userID)))
}

// FormerThreads implements whatsapp.Store.
func (db *DB) FormerThreads(ctx context.Context, workspaceID, senderID, phone, userID string, at time.Time) ([]*whatsapp.Thread, error) {
	out, err := queryAll(ctx, db.reader(ctx), `SELECT `+threadColumns+`
		FROM whatsapp_threads WHERE workspace_id = ? AND sender_id = ?
		AND ((former_user_id = ? AND user_id_changed_at > ?) OR (former_phone = ? AND phone_changed_at > ?))
		LIMIT 8`, []any{workspaceID, senderID, null(userID), ms(at), null(phone), ms(at)},
		func(row interface{ Scan(...any) error }) (*whatsapp.Thread, error) { return db.scanThread(row) })
	if err != nil {
		return nil, fmt.Errorf("find former threads: %w", err)
	}
	return out, nil
}

// InsertThread implements whatsapp.Store.
func (db *DB) InsertThread(ctx context.Context, t *whatsapp.Thread) (bool, error) {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO whatsapp_threads (id, workspace_id, sender_id, phone, user_id,
			conversation_id, created_at, former_phone, phone_changed_at, former_user_id, user_id_changed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			t.ID, t.WorkspaceID, t.SenderID, null(t.Phone), null(t.UserID), t.ConversationID, ms(t.CreatedAt),
			null(t.FormerPhone), optMS(t.PhoneChangedAt), null(t.FormerUserID), optMS(t.UserIDChangedAt))
		if err != nil {
			return fmt.Errorf("insert thread: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n == 1, err
}

// UpdateThread implements whatsapp.Store.
func (db *DB) UpdateThread(ctx context.Context, t *whatsapp.Thread) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE whatsapp_threads SET phone = ?, user_id = ?, conversation_id = ?,
			former_phone = ?, phone_changed_at = ?, former_user_id = ?, user_id_changed_at = ? WHERE workspace_id = ? AND id = ?`,
			null(t.Phone), null(t.UserID), t.ConversationID, null(t.FormerPhone), optMS(t.PhoneChangedAt),
			null(t.FormerUserID), optMS(t.UserIDChangedAt), t.WorkspaceID, t.ID)
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
	if _, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM whatsapp_threads WHERE workspace_id = ? AND id = ?`, workspaceID, id); err != nil {
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
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM whatsapp_early_receipts WHERE received_at < ?`, ms(dropBefore)); err != nil {
			return fmt.Errorf("drop early receipts: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO whatsapp_early_receipts (workspace_id, wamid, status, received_at)
			VALUES (?, ?, ?, ?)`, workspaceID, st.ID, string(b), ms(at)); err != nil {
			return fmt.Errorf("keep early receipt: %w", err)
		}
		return nil
	})
}

// TakeEarlyReceipts implements whatsapp.Store.
func (db *DB) TakeEarlyReceipts(ctx context.Context, workspaceID, wamid string) ([]whatsapp.Status, error) {
	var out []whatsapp.Status
	err := db.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `DELETE FROM whatsapp_early_receipts WHERE workspace_id = ? AND wamid = ?
			RETURNING status`, workspaceID, wamid)
		if err != nil {
			return fmt.Errorf("take early receipts: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var b string
			var st whatsapp.Status
			if err := rows.Scan(&b); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(b), &st); err != nil {
				return fmt.Errorf("decode early receipt: %w", err)
			}
			out = append(out, st)
		}
		return rows.Err()
	})
	return out, err
}

// LockWamids implements whatsapp.Store: SQLite has one writer, so a
// receipt and a send never interleave, and there is nothing to lock.
func (db *DB) LockWamids(context.Context, []string) error { return nil }

// ClaimWamid implements whatsapp.Store.
func (db *DB) ClaimWamid(ctx context.Context, workspaceID, wamid, conversationID, messageID string, outbound bool) (bool, error) {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO whatsapp_wamids (wamid, workspace_id, conversation_id, message_id, outbound)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, wamid, workspaceID, conversationID, messageID, outbound)
		if err != nil {
			return fmt.Errorf("claim wamid: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n == 1, err
}

// AttachWamid implements whatsapp.Store.
func (db *DB) AttachWamid(ctx context.Context, workspaceID, wamid, conversationID string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE whatsapp_wamids SET conversation_id = ? WHERE workspace_id = ? AND wamid = ?`,
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
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT conversation_id, message_id, outbound FROM whatsapp_wamids
		WHERE wamid = ? AND workspace_id = ?`, wamid, workspaceID).Scan(&conv, &msg, &out)
	if err != nil {
		return "", "", false, db.notFound(err, "message")
	}
	return conv, msg, out, nil
}

// SaveUnrouted implements whatsapp.Store.
func (db *DB) SaveUnrouted(ctx context.Context, u *whatsapp.Unrouted) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO whatsapp_unrouted (id, workspace_id, waba_id, phone_number_id, reason,
			detail, payload, received_at, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, u.ID,
			null(u.WorkspaceID), u.WABAID, u.PhoneNumberID, u.Reason, u.Detail, string(u.Payload), ms(u.ReceivedAt), null(u.Digest))
		if err != nil {
			return fmt.Errorf("keep unrouted webhook: %w", err)
		}
		return nil
	})
}

// ListUnrouted implements whatsapp.Store.
func (db *DB) ListUnrouted(ctx context.Context, workspaceID string, req page.Request) ([]*whatsapp.Unrouted, error) {
	q, args := pageByID(`SELECT id, workspace_id, waba_id, phone_number_id, reason, detail, payload, received_at
		FROM whatsapp_unrouted u WHERE (workspace_id = ? OR (workspace_id IS NULL AND waba_id IN (
			SELECT waba_id FROM whatsapp_senders WHERE workspace_id = ?) AND NOT EXISTS (
			SELECT 1 FROM whatsapp_senders o WHERE o.waba_id = u.waba_id AND o.workspace_id <> ?)))`,
		[]any{workspaceID, workspaceID, workspaceID}, req)
	out, err := queryAll(ctx, db.reader(ctx), q, args, func(row interface{ Scan(...any) error }) (*whatsapp.Unrouted, error) {
		var u whatsapp.Unrouted
		var ws sql.NullString
		var payload string
		var at int64
		if err := row.Scan(&u.ID, &ws, &u.WABAID, &u.PhoneNumberID, &u.Reason, &u.Detail, &payload, &at); err != nil {
			return nil, err
		}
		u.WorkspaceID, u.Payload, u.ReceivedAt = ws.String, json.RawMessage(payload), fromMS(at)
		return &u, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list unrouted webhooks: %w", err)
	}
	return out, nil
}
