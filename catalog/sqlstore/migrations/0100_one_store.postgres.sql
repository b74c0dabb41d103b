-- 0100_one_store: the first shared schema version. From here on one store
-- (catalog/sqlstore) serves both engines, and the PostgreSQL schema takes
-- the embedded one's names and list encoding where they differed, so that
-- every query is written once. SQLite's schema already is that: this
-- version changes nothing there.

-- The assignment table names the computer's column as every other table.
ALTER TABLE computer_group RENAME COLUMN computer_id TO client_id;

-- String lists are JSON arrays of strings in text, NULL when empty (the
-- store never writes an empty array).
ALTER TABLE computer ALTER COLUMN requested_groups TYPE text USING array_to_json(requested_groups)::text;
ALTER TABLE event ALTER COLUMN replacement TYPE text USING array_to_json(replacement)::text;
ALTER TABLE event ALTER COLUMN misc_data TYPE text USING array_to_json(misc_data)::text;
