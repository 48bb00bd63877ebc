-- apisix-session PostgreSQL storage, schema version 1.
--
-- Flyway placeholders: ${schema} (default public) and ${table_prefix} (default apisix_).
-- Names must be lower-case identifiers ([a-z_][a-z0-9_]*), so they need no quoting.
-- Keys, audiences and subjects are bounded varchars (same cost as text in PostgreSQL): they are
-- primary-key columns, and the bound keeps every index entry far below btree's limit.
-- Flyway creates the schema when it is missing (createSchemas, on by default).
-- Every statement is IF NOT EXISTS: running the script over tables that are already there
-- (a baselined schema, a second runner racing the first) changes nothing.

-- One row per stored session: the engine's key "<cookie name>:<base64url session id>", the
-- value it stores (["<base64url ciphertext>"], treated as opaque bytes), when it expires.
-- Reads ignore rows past expires_at; the runners' periodic cleanup deletes them.
CREATE TABLE IF NOT EXISTS ${schema}.${table_prefix}sessions (
    key        varchar(512) NOT NULL,
    data       bytea        NOT NULL,
    expires_at timestamptz  NOT NULL,
    created_at timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT ${table_prefix}sessions_pkey PRIMARY KEY (key)
);

-- The cleanup's "expires_at < now() LIMIT n" scan.
CREATE INDEX IF NOT EXISTS ${table_prefix}sessions_expires_at_idx
    ON ${schema}.${table_prefix}sessions (expires_at);

-- Who a session belongs to, one row per (audience, subject): "all sessions of a subject".
-- Rows go with their session (logout, cleanup) through the cascading foreign key.
CREATE TABLE IF NOT EXISTS ${schema}.${table_prefix}session_metadata (
    audience varchar(256) NOT NULL,
    subject  varchar(512) NOT NULL,
    key      varchar(512) NOT NULL,
    CONSTRAINT ${table_prefix}session_metadata_pkey PRIMARY KEY (audience, subject, key),
    CONSTRAINT ${table_prefix}session_metadata_key_fkey FOREIGN KEY (key)
        REFERENCES ${schema}.${table_prefix}sessions (key) ON DELETE CASCADE ON UPDATE CASCADE
);

-- The cascade looks rows up by key: without this index every delete of a session would scan
-- the whole metadata table.
CREATE INDEX IF NOT EXISTS ${table_prefix}session_metadata_key_idx
    ON ${schema}.${table_prefix}session_metadata (key);
