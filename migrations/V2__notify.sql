-- apisix-session PostgreSQL storage, schema version 2: change notifications for the runners'
-- client caches (postgres.client_cache, docs/postgres.md "Client-side cache").
--
-- Every UPDATE or DELETE of a session row, whoever makes it (a runner, `sessions revoke`, the
-- expiry cleanup, an operator's psql), announces the row's key with pg_notify on the channel
-- "<schema>.<table_prefix>sessions" (or "apisix_session_<md5 of that>" when it is longer than
-- PostgreSQL's 63-byte limit); a runner LISTENs there and drops its copy of the key. An INSERT
-- of a new key announces nothing: the caches never hold "no such session". Notifications are
-- sent at commit, so a rolled-back change announces nothing.
-- Re-running is harmless: CREATE OR REPLACE for the function, and the trigger only if missing.
-- The jOOQ code generation reads only tables, so it skips this script's body.

-- [jooq ignore start]
CREATE OR REPLACE FUNCTION ${schema}.${table_prefix}sessions_notify() RETURNS trigger
    LANGUAGE plpgsql AS $notify$
DECLARE
    channel text := '${schema}.${table_prefix}sessions';
BEGIN
    IF octet_length(channel) > 63 THEN
        channel := 'apisix_session_' || md5(channel);
    END IF;
    PERFORM pg_notify(channel, OLD.key);
    RETURN NULL;
END
$notify$;

DO $trigger$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = '${schema}.${table_prefix}sessions'::regclass
                     AND tgname = '${table_prefix}sessions_notify') THEN
        CREATE TRIGGER ${table_prefix}sessions_notify
            AFTER UPDATE OR DELETE ON ${schema}.${table_prefix}sessions
            FOR EACH ROW EXECUTE FUNCTION ${schema}.${table_prefix}sessions_notify();
    END IF;
END
$trigger$;
-- [jooq ignore stop]
