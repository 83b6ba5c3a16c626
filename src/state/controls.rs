//! Suspensions and revocations in the state database. Every change to
//! either table notifies `actgate_controls` (a statement trigger, so a
//! change made with psql counts too); each replica listens, and also
//! reads both tables every second should a notification be lost.

use super::PgState;
use crate::controls::{StateUnavailable, Suspension};
use jiff::Timestamp;

/// The channel every change is notified on.
pub const CHANNEL: &str = "actgate_controls";

/// Version 2: suspensions and revocations, with their notifications.
pub(super) const MIGRATION: &str = "CREATE TABLE actgate.suspensions (
         agent text NOT NULL,
         -- '' for the whole agent, '+' and the end user for one end user.
         scope text NOT NULL,
         subject text,
         until_us bigint NOT NULL,
         cause text NOT NULL,
         PRIMARY KEY (agent, scope)
     );
     CREATE TABLE actgate.revocations (
         token_id text PRIMARY KEY,
         revoked_at_us bigint NOT NULL
     );
     CREATE FUNCTION actgate.notify_controls() RETURNS trigger
     LANGUAGE plpgsql AS $fn$
     BEGIN
         PERFORM pg_notify('actgate_controls', TG_TABLE_NAME);
         RETURN NULL;
     END
     $fn$;
     CREATE TRIGGER suspensions_changed
         AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON actgate.suspensions
         FOR EACH STATEMENT EXECUTE FUNCTION actgate.notify_controls();
     CREATE TRIGGER revocations_changed
         AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON actgate.revocations
         FOR EACH STATEMENT EXECUTE FUNCTION actgate.notify_controls();";

fn scope(subject: Option<&str>) -> String {
    subject.map_or_else(String::new, |s| format!("+{s}"))
}

fn unavailable(what: &str) -> impl FnOnce(tokio_postgres::Error) -> StateUnavailable + '_ {
    move |e| {
        StateUnavailable(format!(
            "{what} in the state database: {}",
            super::describe(&e)
        ))
    }
}

impl PgState {
    /// Records a suspension (replacing one for the same agent and end user).
    pub async fn put_suspension(&self, s: &Suspension) -> Result<(), StateUnavailable> {
        let conn = self.connected()?;
        conn.client
            .execute(
                "INSERT INTO actgate.suspensions (agent, scope, subject, until_us, cause)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (agent, scope) DO UPDATE
                    SET subject = excluded.subject, until_us = excluded.until_us,
                        cause = excluded.cause",
                &[
                    &s.agent,
                    &scope(s.subject.as_deref()),
                    &s.subject,
                    &s.until.as_microsecond(),
                    &s.cause,
                ],
            )
            .await
            .map_err(unavailable("recording a suspension"))?;
        Ok(())
    }

    /// Lifts a suspension; whether there was one.
    pub async fn lift_suspension(
        &self,
        agent: &str,
        subject: Option<&str>,
    ) -> Result<bool, StateUnavailable> {
        let conn = self.connected()?;
        let n = conn
            .client
            .execute(
                "DELETE FROM actgate.suspensions WHERE agent = $1 AND scope = $2",
                &[&agent, &scope(subject)],
            )
            .await
            .map_err(unavailable("lifting a suspension"))?;
        Ok(n > 0)
    }

    /// The suspensions in force at `now`.
    pub async fn suspensions(&self, now: Timestamp) -> Result<Vec<Suspension>, StateUnavailable> {
        let conn = self.connected()?;
        let rows = conn
            .client
            .query(
                "SELECT agent, subject, until_us, cause FROM actgate.suspensions
                  WHERE until_us > $1",
                &[&now.as_microsecond()],
            )
            .await
            .map_err(unavailable("reading suspensions"))?;
        Ok(rows
            .iter()
            .map(|r| Suspension {
                agent: r.get(0),
                subject: r.get(1),
                until: Timestamp::from_microsecond(r.get(2)).unwrap_or(Timestamp::MAX),
                cause: r.get(3),
            })
            .collect())
    }

    /// Revokes a token id; whether it was new.
    pub async fn revoke(&self, token_id: &str, now: Timestamp) -> Result<bool, StateUnavailable> {
        let conn = self.connected()?;
        let n = conn
            .client
            .execute(
                "INSERT INTO actgate.revocations (token_id, revoked_at_us) VALUES ($1, $2)
                 ON CONFLICT (token_id) DO NOTHING",
                &[&token_id, &now.as_microsecond()],
            )
            .await
            .map_err(unavailable("revoking a token"))?;
        Ok(n > 0)
    }

    /// Every revoked token id.
    pub async fn revocations(&self) -> Result<Vec<String>, StateUnavailable> {
        let conn = self.connected()?;
        let rows = conn
            .client
            .query("SELECT token_id FROM actgate.revocations", &[])
            .await
            .map_err(unavailable("reading revocations"))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}
