//! The state database's schema, created and migrated by actgate: schema
//! `actgate`, its version in `actgate.schema_version`. Migrations run in
//! one transaction under an advisory lock, so replicas starting together
//! apply each once; a database whose version is newer than
//! [`MIGRATIONS`] knows is refused.

use super::StateError;
use tokio_postgres::Client;

/// The advisory lock key replicas migrate under ("actgate" in ASCII).
const MIGRATION_LOCK: i64 = 0x61_63_74_67_61_74_65;

/// Each migration, in order; version N is `MIGRATIONS[N - 1]`.
pub const MIGRATIONS: &[&str] = &[
    // 1: budgets. Rolling windows keep the times of the events still in
    // them (at most the limit per key); calendar windows a count for the
    // current period. Times are microseconds since the Unix epoch, as
    // actgate's clock gives them.
    "CREATE TABLE actgate.budget_events (
         key text NOT NULL,
         at bigint NOT NULL
     );
     CREATE INDEX budget_events_key_at ON actgate.budget_events (key, at);
     CREATE TABLE actgate.budget_periods (
         key text PRIMARY KEY,
         period_start bigint NOT NULL,
         count integer NOT NULL
     );
     CREATE FUNCTION actgate.charge(
         keys text[], limits integer[], rolling_us bigint[],
         period_start bigint[], period_end bigint[], now_us bigint
     ) RETURNS TABLE (exhausted integer, resets_at bigint)
     LANGUAGE plpgsql AS $fn$
     DECLARE
         i integer;
         need integer;
         held integer;
         oldest bigint;
         n integer := coalesce(array_length(keys, 1), 0);
     BEGIN
         -- A counter need not wait for the disk: a crash of the state
         -- server can forget the charges of its last moments (at most
         -- three wal_writer_delay), never record one twice. Approvals,
         -- suspensions and revocations keep the server's setting.
         PERFORM set_config('synchronous_commit', 'off', true);
         -- One key at a time, in one order, whoever charges.
         PERFORM pg_advisory_xact_lock(hashtextextended(k, 0))
            FROM (SELECT DISTINCT k FROM unnest(keys) AS k ORDER BY k) AS s;
         FOR i IN 1..n LOOP
             CONTINUE WHEN i > 1 AND keys[i] = ANY (keys[1:i - 1]);
             SELECT count(*) INTO need FROM unnest(keys) AS k WHERE k = keys[i];
             IF rolling_us[i] > 0 THEN
                 DELETE FROM actgate.budget_events
                  WHERE key = keys[i] AND at <= now_us - rolling_us[i];
                 SELECT count(*) INTO held FROM actgate.budget_events WHERE key = keys[i];
                 IF held + need > limits[i] THEN
                     oldest := NULL;
                     IF need <= limits[i] THEN
                         SELECT e.at INTO oldest FROM actgate.budget_events e
                          WHERE e.key = keys[i] ORDER BY e.at
                          OFFSET held + need - limits[i] - 1 LIMIT 1;
                     END IF;
                     RETURN QUERY SELECT i - 1, coalesce(oldest, now_us) + rolling_us[i];
                     RETURN;
                 END IF;
             ELSE
                 SELECT CASE WHEN p.period_start = charge.period_start[i] THEN p.count ELSE 0 END
                   INTO held FROM actgate.budget_periods p WHERE p.key = keys[i];
                 IF coalesce(held, 0) + need > limits[i] THEN
                     RETURN QUERY SELECT i - 1, period_end[i];
                     RETURN;
                 END IF;
             END IF;
         END LOOP;
         FOR i IN 1..n LOOP
             IF rolling_us[i] > 0 THEN
                 INSERT INTO actgate.budget_events (key, at) VALUES (keys[i], now_us);
             ELSE
                 INSERT INTO actgate.budget_periods AS p (key, period_start, count)
                 VALUES (keys[i], charge.period_start[i], 1)
                 ON CONFLICT (key) DO UPDATE
                    SET count = CASE WHEN p.period_start = excluded.period_start
                                     THEN p.count + 1 ELSE 1 END,
                        period_start = excluded.period_start;
             END IF;
         END LOOP;
     END
     $fn$;",
    // 2: suspensions and revocations, notified on change.
    super::controls::MIGRATION,
    // 3: approval requests, notified on change.
    super::approvals::MIGRATION,
];

/// The version this build creates and understands.
pub fn current_version() -> i32 {
    MIGRATIONS.len() as i32
}

/// Creates the schema or brings it up to [`current_version`].
pub async fn migrate(client: &Client, database: &str) -> Result<(), StateError> {
    let pg = |source| StateError::Postgres {
        database: database.to_owned(),
        source,
    };
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(pg)?;
    let outcome = migrate_locked(client, database).await;
    let unlock = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(pg);
    outcome.and(unlock.map(|_| ()))
}

async fn migrate_locked(client: &Client, database: &str) -> Result<(), StateError> {
    let pg = |source| StateError::Postgres {
        database: database.to_owned(),
        source,
    };
    client
        .batch_execute(
            "CREATE SCHEMA IF NOT EXISTS actgate;
             CREATE TABLE IF NOT EXISTS actgate.schema_version (version integer NOT NULL);",
        )
        .await
        .map_err(pg)?;
    let found: i32 = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM actgate.schema_version",
            &[],
        )
        .await
        .map_err(pg)?
        .get(0);
    let known = current_version();
    if found > known {
        return Err(StateError::NewerSchema {
            database: database.to_owned(),
            found,
            known,
        });
    }
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = i as i32 + 1;
        let script = format!(
            "BEGIN;\n{migration}\nDELETE FROM actgate.schema_version;\nINSERT INTO actgate.schema_version VALUES ({version});\nCOMMIT;"
        );
        if let Err(e) = client.batch_execute(&script).await {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(pg(e));
        }
        tracing::info!(database, version, "state schema migrated");
    }
    Ok(())
}
