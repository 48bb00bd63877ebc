-- apisix-session PostgreSQL storage, schema version 3: state shared by every runner (issue 13).
--
-- Same conventions as V1: placeholders ${schema} and ${table_prefix}, IF NOT EXISTS everywhere.
-- Reads ignore rows whose until / expires_at has passed; the runners' periodic cleanup deletes
-- them. Every change is also announced with pg_notify on the channel
-- "<schema>_<table_prefix>state" by the statement that makes it (see docs/postgres.md).

-- Refused session ids or families (cookie-stored sessions after a logout), until they would have
-- expired anyway. A revocation is only ever made longer.
CREATE TABLE IF NOT EXISTS ${schema}.${table_prefix}revocations (
    id    varchar(1024) NOT NULL,
    until timestamptz   NOT NULL,
    CONSTRAINT ${table_prefix}revocations_pkey PRIMARY KEY (id)
);

CREATE INDEX IF NOT EXISTS ${table_prefix}revocations_until_idx
    ON ${schema}.${table_prefix}revocations (until);

-- "Log out everywhere": sessions of a subject (whole_audience false) or of a whole audience
-- (whole_audience true, subject '') issued before issued_before are refused, until until.
-- A marker only moves forward (issued_before grows), unless it has expired.
CREATE TABLE IF NOT EXISTS ${schema}.${table_prefix}subject_markers (
    audience       varchar(256) NOT NULL,
    whole_audience boolean      NOT NULL,
    subject        varchar(512) NOT NULL,
    issued_before  timestamptz  NOT NULL,
    until          timestamptz  NOT NULL,
    CONSTRAINT ${table_prefix}subject_markers_pkey PRIMARY KEY (audience, whole_audience, subject)
);

CREATE INDEX IF NOT EXISTS ${table_prefix}subject_markers_until_idx
    ON ${schema}.${table_prefix}subject_markers (until);

-- failure_limit counters shared by the runners: counting starts again at 1 once expires_at has passed.
CREATE TABLE IF NOT EXISTS ${schema}.${table_prefix}counters (
    name       varchar(1024) NOT NULL,
    value      bigint        NOT NULL,
    expires_at timestamptz   NOT NULL,
    CONSTRAINT ${table_prefix}counters_pkey PRIMARY KEY (name)
);

CREATE INDEX IF NOT EXISTS ${table_prefix}counters_expires_at_idx
    ON ${schema}.${table_prefix}counters (expires_at);
