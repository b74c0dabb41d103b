package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"wsus/catalog"
)

// Schema is what a database holds of the store's schema, read without
// changing it (wsusd check): Found is the newest version recorded in
// schema_migrations (zero for a database the store never opened), Want
// the newest this program's migrations reach. Open migrates Found up to
// Want; a Found above Want is a database a newer program migrated, which
// Open refuses.
type Schema struct {
	Found, Want int
	// UpstreamURL is the saved upstream server
	// (catalog.SyncSettings.UpstreamURL), read only when Found is Want;
	// empty when none is saved.
	UpstreamURL string
}

// WantSchema returns the newest schema version d's migrations reach.
func WantSchema(d Dialect) (int, error) {
	ms, err := migrations(d)
	if err != nil {
		return 0, fmt.Errorf("%s: schema: %w", d.Name(), err)
	}
	if len(ms) == 0 {
		return 0, errors.New(d.Name() + ": schema: no migrations")
	}
	return ms[len(ms)-1].Version, nil
}

// ReadSchema reads the newest recorded schema version from db, when exists
// (the engine's own test that schema_migrations is there) says the table
// exists, zero when it does not; and with the schema current, the saved
// upstream URL. It only reads.
func ReadSchema(ctx context.Context, d Dialect, db *sql.DB, exists string) (Schema, error) {
	want, err := WantSchema(d)
	if err != nil {
		return Schema{}, err
	}
	var there bool
	if err := db.QueryRowContext(ctx, exists).Scan(&there); err != nil {
		return Schema{}, fmt.Errorf("%s: schema: %w", d.Name(), err)
	}
	if !there {
		return Schema{Want: want}, nil
	}
	var found sql.NullInt64
	if err := db.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&found); err != nil {
		return Schema{}, fmt.Errorf("%s: schema: %w", d.Name(), err)
	}
	out := Schema{Found: int(found.Int64), Want: want}
	if out.Found != want {
		return out, nil
	}
	var js sql.NullString
	err = db.QueryRowContext(ctx, "SELECT settings FROM sync_settings WHERE id = 1").Scan(&js)
	if errors.Is(err, sql.ErrNoRows) {
		return out, nil
	}
	if err != nil {
		return Schema{}, fmt.Errorf("%s: sync settings: %w", d.Name(), err)
	}
	if js.Valid {
		var st catalog.SyncSettings
		if err := json.Unmarshal([]byte(js.String), &st); err != nil {
			return Schema{}, fmt.Errorf("%s: sync settings: %w", d.Name(), err)
		}
		out.UpstreamURL = st.UpstreamURL
	}
	return out, nil
}
