package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"wsus/catalog"
)

// This file is catalog.AccessStore (see catalog/access.go) on the tables of
// migration 0103_access. A token's hash is stored as hex text, the same on
// both engines; the audit entry of a token's creation or revocation is
// written in the transaction of the change.

// maxAccessText bounds a token's name and an audit entry's text fields.
const maxAccessText = 256

// maxAuditJSON bounds an audit entry's Before and After.
const maxAuditJSON = 1 << 20

func checkAccessToken(tok catalog.AccessToken) error {
	var errs []error
	if !tok.Role.Valid() {
		errs = append(errs, fmt.Errorf("unknown role %q", tok.Role))
	}
	if strings.TrimSpace(tok.Name) == "" || len(tok.Name) > maxAccessText {
		errs = append(errs, fmt.Errorf("name must have 1 to %d bytes, not only spaces", maxAccessText))
	}
	if tok.ID == uuid.Nil {
		errs = append(errs, errors.New("nil token ID"))
	}
	if tok.Hash == ([32]byte{}) {
		errs = append(errs, errors.New("zero hash"))
	}
	errs = append(errs, catalog.CheckText("name", tok.Name), catalog.CheckText("created_by", tok.CreatedBy))
	return errors.Join(errs...)
}

func checkAuditEntry(e catalog.AuditEntry) error {
	var errs []error
	for _, f := range []struct{ name, v string }{{"actor", e.Actor}, {"action", e.Action}, {"target", e.Target}, {"remote_addr", e.RemoteAddr}} {
		if len(f.v) > maxAccessText*4 {
			errs = append(errs, fmt.Errorf("%s has %d bytes, more than %d", f.name, len(f.v), maxAccessText*4))
		}
		errs = append(errs, catalog.CheckText(f.name, f.v))
	}
	if e.Actor == "" || e.Action == "" {
		errs = append(errs, errors.New("an audit entry needs an actor and an action"))
	}
	for _, f := range []struct {
		name string
		v    json.RawMessage
	}{{"before", e.Before}, {"after", e.After}} {
		if len(f.v) > maxAuditJSON {
			errs = append(errs, fmt.Errorf("%s has %d bytes, more than %d", f.name, len(f.v), maxAuditJSON))
		} else if len(f.v) > 0 && !json.Valid(f.v) {
			errs = append(errs, fmt.Errorf("%s is not JSON", f.name))
		}
	}
	return errors.Join(errs...)
}

// jsonText is raw JSON as a nullable column value.
func jsonText(v json.RawMessage) any {
	if len(v) == 0 || string(v) == "null" {
		return nil
	}
	return string(v)
}

const accessTokenColumns = "id, name, role, hash, created, created_by"

func scanAccessToken(row Row) (catalog.AccessToken, error) {
	var tok catalog.AccessToken
	var role, hash string
	if err := row.Scan(uuidDest{&tok.ID}, &tok.Name, &role, &hash, timeDest{&tok.Created}, &tok.CreatedBy); err != nil {
		return tok, err
	}
	tok.Role = catalog.Role(role)
	b, err := hex.DecodeString(hash)
	if err != nil || len(b) != len(tok.Hash) {
		return tok, fmt.Errorf("token %s: stored hash %q is not 32 bytes of hex", tok.ID, hash)
	}
	copy(tok.Hash[:], b)
	return tok, nil
}

// appendAudit inserts e in t, At set to now by the shared clock.
func appendAudit(ctx context.Context, t *tx, e catalog.AuditEntry) (catalog.AuditEntry, error) {
	now, err := t.now(ctx)
	if err != nil {
		return e, err
	}
	e.At = now
	if err := t.queryRow(ctx, `INSERT INTO audit_log (at, actor, action, target, before_json, after_json, remote_addr)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		t.s.d.Time(now), e.Actor, e.Action, e.Target, jsonText(e.Before), jsonText(e.After), e.RemoteAddr).Scan(num(&e.ID)); err != nil {
		return e, fmt.Errorf("audit entry: %w", err)
	}
	return e, nil
}

// CreateAccessToken stores tok and its audit entry in one transaction (see
// catalog.AccessStore).
func (s *Store) CreateAccessToken(ctx context.Context, tok catalog.AccessToken, audit catalog.AuditEntry) (catalog.AccessToken, error) {
	const op = "create access token"
	if err := errors.Join(checkAccessToken(tok), checkAuditEntry(audit)); err != nil {
		return catalog.AccessToken{}, s.invalid(op, err)
	}
	err := s.write(ctx, op, func(t *tx) error {
		var id uuid.UUID
		switch err := t.queryRow(ctx, "SELECT id FROM access_token WHERE name = $1", tok.Name).Scan(uuidDest{&id}); {
		case err == nil:
			return catalog.MarkConflict(fmt.Errorf("name %q is taken by token %s", tok.Name, id))
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		now, err := t.now(ctx)
		if err != nil {
			return err
		}
		tok.Created = now
		if _, err := t.exec(ctx, "INSERT INTO access_token ("+accessTokenColumns+") VALUES ($1, $2, $3, $4, $5, $6)",
			tok.ID, tok.Name, string(tok.Role), hex.EncodeToString(tok.Hash[:]), s.d.Time(now), tok.CreatedBy); err != nil {
			return fmt.Errorf("token %q: %w", tok.Name, err)
		}
		_, err = appendAudit(ctx, t, audit)
		return err
	})
	if err != nil {
		return catalog.AccessToken{}, err
	}
	return tok, nil
}

// AccessTokens returns the live tokens, oldest first.
func (s *Store) AccessTokens(ctx context.Context) ([]catalog.AccessToken, error) {
	return readOne(ctx, s, "access tokens", func(t *tx) ([]catalog.AccessToken, error) {
		var out []catalog.AccessToken
		err := t.query(ctx, "SELECT "+accessTokenColumns+" FROM access_token ORDER BY created, id", nil, func(row Row) error {
			tok, err := scanAccessToken(row)
			out = append(out, tok)
			return err
		})
		return out, err
	})
}

// AccessTokenByHash returns the live token whose secret hashes to hash.
func (s *Store) AccessTokenByHash(ctx context.Context, hash [32]byte) (catalog.AccessToken, error) {
	row, err := s.queryRow(ctx, "SELECT "+accessTokenColumns+" FROM access_token WHERE hash = $1", hex.EncodeToString(hash[:]))
	if err != nil {
		return catalog.AccessToken{}, s.errorf("access token: %w", err)
	}
	tok, err := scanAccessToken(row)
	if errors.Is(err, sql.ErrNoRows) {
		return catalog.AccessToken{}, fmt.Errorf("%saccess token: %w", s.prefix, catalog.ErrNotFound)
	}
	if err != nil {
		return catalog.AccessToken{}, s.errorf("access token: %w", err)
	}
	return tok, nil
}

// RevokeAccessToken deletes a token and stores the audit entry in one
// transaction.
func (s *Store) RevokeAccessToken(ctx context.Context, id uuid.UUID, audit catalog.AuditEntry) (catalog.AccessToken, error) {
	op := "revoke access token " + id.String()
	if err := checkAuditEntry(audit); err != nil {
		return catalog.AccessToken{}, s.invalid(op, err)
	}
	var out catalog.AccessToken
	err := s.write(ctx, op, func(t *tx) error {
		var err error
		out, err = scanAccessToken(t.queryRow(ctx, "SELECT "+accessTokenColumns+" FROM access_token WHERE id = $1"+s.d.ForUpdate(), id))
		if errors.Is(err, sql.ErrNoRows) {
			return catalog.ErrNotFound
		}
		if err != nil {
			return err
		}
		if _, err := t.exec(ctx, "DELETE FROM access_token WHERE id = $1", id); err != nil {
			return err
		}
		_, err = appendAudit(ctx, t, audit)
		return err
	})
	if err != nil {
		return catalog.AccessToken{}, err
	}
	return out, nil
}

// AppendAudit stores one audit entry.
func (s *Store) AppendAudit(ctx context.Context, e catalog.AuditEntry) (catalog.AuditEntry, error) {
	const op = "append audit entry"
	if err := checkAuditEntry(e); err != nil {
		return catalog.AuditEntry{}, s.invalid(op, err)
	}
	var out catalog.AuditEntry
	err := s.write(ctx, op, func(t *tx) error {
		var err error
		out, err = appendAudit(ctx, t, e)
		return err
	})
	return out, err
}

// Audit returns the entries f selects, newest (highest ID) first: IDs give
// the order the entries were stored in, which a BeforeID cursor follows
// exactly; two entries may share an At, and under PostgreSQL a transaction
// that began earlier may store its entry later.
func (s *Store) Audit(ctx context.Context, f catalog.AuditFilter) ([]catalog.AuditEntry, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = catalog.DefaultAuditLimit
	}
	limit = min(limit, catalog.MaxAuditLimit)
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Actor != "" {
		add("actor = $%d", f.Actor)
	}
	if f.Action != "" {
		add("action = $%d", f.Action)
	}
	if f.Target != "" {
		add("target = $%d", f.Target)
	}
	if !f.Since.IsZero() {
		add("at >= $%d", s.d.Time(f.Since.UTC()))
	}
	if !f.Until.IsZero() {
		add("at < $%d", s.d.Time(f.Until.UTC()))
	}
	if f.BeforeID > 0 {
		add("id < $%d", f.BeforeID)
	}
	q := "SELECT id, at, actor, action, target, before_json, after_json, remote_addr FROM audit_log"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, limit)
	q += fmt.Sprintf(" ORDER BY id DESC LIMIT $%d", len(args))
	return readOne(ctx, s, "audit", func(t *tx) ([]catalog.AuditEntry, error) {
		var out []catalog.AuditEntry
		err := t.query(ctx, q, args, func(row Row) error {
			var e catalog.AuditEntry
			var before, after sql.NullString
			if err := row.Scan(num(&e.ID), timeDest{&e.At}, &e.Actor, &e.Action, &e.Target, &before, &after, &e.RemoteAddr); err != nil {
				return err
			}
			if before.Valid {
				e.Before = json.RawMessage(before.String)
			}
			if after.Valid {
				e.After = json.RawMessage(after.String)
			}
			out = append(out, e)
			return nil
		})
		return out, err
	})
}
