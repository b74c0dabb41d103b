package catalog

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Role is what an API token may do. Roles are ordered: each allows what the
// ones below it allow.
type Role string

// The roles, from most to least allowed.
const (
	// RoleAdmin may do everything.
	RoleAdmin Role = "admin"
	// RoleApprover may approve, decline and manage rules, and read.
	RoleApprover Role = "approver"
	// RoleViewer may only read.
	RoleViewer Role = "viewer"
)

// rank orders the roles; an unknown role ranks 0 and allows nothing.
func (r Role) rank() int {
	switch r {
	case RoleAdmin:
		return 3
	case RoleApprover:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// Allows reports whether r may do what needs at least min.
func (r Role) Allows(min Role) bool { return r.Valid() && r.rank() >= min.rank() }

// AccessToken is an API token of a person or a system. Only the SHA-256 of
// its secret is kept (Hash): the secret is 32 random bytes, so a fast hash
// is as strong as a slow KDF against guessing (a slow one protects
// low-entropy passwords, which these are not), and it keeps the lookup of
// every request cheap.
type AccessToken struct {
	ID        uuid.UUID
	Name      string // unique among live tokens
	Role      Role
	Hash      [32]byte
	Created   time.Time // set by the store
	CreatedBy string    // the actor who created it
}

// AuditEntry is one change made through the admin API.
type AuditEntry struct {
	ID         int64     // set by the store, grows
	At         time.Time // set by the store's shared clock
	Actor      string    // the token's name ("bootstrap" for the bootstrap token)
	Action     string    // such as "approval.set", "token.create"
	Target     string    // what changed: an update ID, a group, a token ID
	Before     json.RawMessage
	After      json.RawMessage
	RemoteAddr string // the TCP peer's address
}

// AuditFilter selects audit entries; a zero field selects all. Since is
// inclusive, Until exclusive. BeforeID pages back: entries with an ID below
// it (IDs grow and are never handed out twice, so the oldest ID of one page
// is the BeforeID of the next and no entry is skipped or repeated, however
// many share a timestamp).
type AuditFilter struct {
	Actor, Action, Target string
	Since, Until          time.Time
	BeforeID              int64
	// Limit bounds the entries returned; zero or less means
	// DefaultAuditLimit, and above MaxAuditLimit is MaxAuditLimit.
	Limit int
}

// Bounds of AuditFilter.Limit.
const (
	DefaultAuditLimit = 100
	MaxAuditLimit     = 1000
)

// AccessStore is the part of the catalog store that keeps API tokens and the
// audit log. Every catalog.Store implements it.
type AccessStore interface {
	// CreateAccessToken stores t (Created set to now) and the audit entry
	// in one transaction; ErrConflict when a live token has its name or
	// hash, ErrInvalid for a bad role or name.
	CreateAccessToken(ctx context.Context, t AccessToken, audit AuditEntry) (AccessToken, error)
	// AccessTokens returns the live tokens, oldest first.
	AccessTokens(ctx context.Context) ([]AccessToken, error)
	// AccessTokenByHash returns the live token with that hash, ErrNotFound
	// when there is none.
	AccessTokenByHash(ctx context.Context, hash [32]byte) (AccessToken, error)
	// RevokeAccessToken deletes the token and stores the audit entry in one
	// transaction, and returns the token it deleted; ErrNotFound for an
	// unknown ID.
	RevokeAccessToken(ctx context.Context, id uuid.UUID, audit AuditEntry) (AccessToken, error)
	// AppendAudit stores one audit entry (ID and At set by the store) and
	// returns it.
	AppendAudit(ctx context.Context, e AuditEntry) (AuditEntry, error)
	// Audit returns the entries f selects, newest (highest ID) first.
	Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
}
