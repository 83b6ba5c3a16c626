//! Approvals in the state database: held statements, operators' decisions
//! and one-time use shared by every replica. `actgate.gate(…)` looks a
//! statement up and uses, reports or records its request in one
//! transaction under a lock on its key, so an approval is used once
//! whichever replica the retry lands on; a decision is one conditional
//! UPDATE. Listing answers from the copy the sync task refreshes (on every
//! notification, and every second).

use super::PgState;
use crate::controls::{
    Approval, ApprovalError, ApprovalFuture, ApprovalRequest, ApprovalState, ApprovalStore, Gate,
    StateUnavailable,
};
use jiff::{SignedDuration, Timestamp};
use tokio_postgres::Row;

/// Version 3: approval requests, notified on change like suspensions.
pub(super) const MIGRATION: &str = "CREATE TABLE actgate.approvals (
         id text PRIMARY KEY,
         key bytea NOT NULL,
         agent text NOT NULL,
         subject text,
         rule text NOT NULL,
         sql text NOT NULL,
         params text[] NOT NULL,
         state text NOT NULL,
         requested_at_us bigint NOT NULL,
         expires_at_us bigint NOT NULL,
         ttl_us bigint NOT NULL,
         decided_by text,
         decided_at_us bigint
     );
     CREATE INDEX approvals_key ON actgate.approvals (key);
     CREATE INDEX approvals_expiry ON actgate.approvals (expires_at_us);
     CREATE FUNCTION actgate.gate(
         p_key bytea, p_agent text, p_subject text, p_rule text, p_sql text,
         p_params text[], p_ttl_us bigint, p_now_us bigint, p_id text,
         p_capacity integer, p_max_pending integer
     ) RETURNS TABLE (outcome text, id text)
     LANGUAGE plpgsql AS $fn$
     DECLARE
         live actgate.approvals;
     BEGIN
         PERFORM pg_advisory_xact_lock(hashtextextended(encode(p_key, 'hex'), 0));
         DELETE FROM actgate.approvals a WHERE a.expires_at_us <= p_now_us;
         SELECT * INTO live FROM actgate.approvals a
          WHERE a.key = p_key AND a.state <> 'used'
          ORDER BY a.requested_at_us DESC LIMIT 1;
         IF FOUND THEN
             IF live.state = 'approved' THEN
                 UPDATE actgate.approvals a SET state = 'used' WHERE a.id = live.id;
                 RETURN QUERY SELECT 'approved'::text, live.id;
                 RETURN;
             END IF;
             RETURN QUERY SELECT live.state, live.id;
             RETURN;
         END IF;
         IF (SELECT count(*) FROM actgate.approvals) >= p_capacity
            OR (SELECT count(*) FROM actgate.approvals a
                 WHERE a.state = 'pending' AND a.agent = p_agent
                   AND a.subject IS NOT DISTINCT FROM p_subject) >= p_max_pending THEN
             RETURN QUERY SELECT 'full'::text, NULL::text;
             RETURN;
         END IF;
         INSERT INTO actgate.approvals (id, key, agent, subject, rule, sql, params, state,
                                        requested_at_us, expires_at_us, ttl_us)
         VALUES (p_id, p_key, p_agent, p_subject, p_rule, p_sql, p_params, 'pending',
                 p_now_us, p_now_us + p_ttl_us, p_ttl_us);
         RETURN QUERY SELECT 'requested'::text, p_id;
     END
     $fn$;
     CREATE TRIGGER approvals_changed
         AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON actgate.approvals
         FOR EACH STATEMENT EXECUTE FUNCTION actgate.notify_controls();";

const COLUMNS: &str = "id, agent, subject, rule, sql, params, state, requested_at_us, \
     expires_at_us, ttl_us, decided_by, decided_at_us, key";

fn time(us: i64) -> Timestamp {
    Timestamp::from_microsecond(us).unwrap_or(Timestamp::MAX)
}

fn state(name: &str) -> ApprovalState {
    match name {
        "approved" => ApprovalState::Approved,
        "rejected" => ApprovalState::Rejected,
        "used" => ApprovalState::Used,
        _ => ApprovalState::Pending,
    }
}

fn approval(row: &Row) -> Approval {
    let key: Vec<u8> = row.get(12);
    Approval {
        id: row.get(0),
        agent: row.get(1),
        subject: row.get(2),
        rule: row.get(3),
        sql: row.get(4),
        params: row.get(5),
        state: state(row.get(6)),
        requested_at: time(row.get(7)),
        expires_at: time(row.get(8)),
        ttl: SignedDuration::from_micros(row.get(9)),
        decided_by: row.get(10),
        decided_at: row.get::<_, Option<i64>>(11).map(time),
        key: crate::controls::ApprovalKey::from_bytes(&key),
    }
}

fn unavailable(what: &'static str) -> impl FnOnce(tokio_postgres::Error) -> StateUnavailable {
    move |e| {
        StateUnavailable(format!(
            "{what} in the state database: {}",
            super::describe(&e)
        ))
    }
}

impl PgState {
    async fn approval_by_id(&self, id: &str) -> Result<Option<Approval>, StateUnavailable> {
        let conn = self.connected()?;
        let row = conn
            .client
            .query_opt(
                &format!("SELECT {COLUMNS} FROM actgate.approvals WHERE id = $1"),
                &[&id],
            )
            .await
            .map_err(unavailable("reading an approval"))?;
        Ok(row.as_ref().map(approval))
    }

    /// Every request not yet expired, oldest first, read now (the sync
    /// task keeps [`ApprovalStore::list`]'s copy with it).
    pub async fn read_approvals(&self, now: Timestamp) -> Result<Vec<Approval>, StateUnavailable> {
        let conn = self.connected()?;
        let rows = conn
            .client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM actgate.approvals WHERE expires_at_us > $1
                      ORDER BY requested_at_us, id"
                ),
                &[&now.as_microsecond()],
            )
            .await
            .map_err(unavailable("reading approvals"))?;
        let list: Vec<Approval> = rows.iter().map(approval).collect();
        *self.approvals.lock().unwrap_or_else(|p| p.into_inner()) = list.clone();
        Ok(list)
    }

    async fn gate_request(
        &self,
        request: ApprovalRequest,
        now: Timestamp,
    ) -> Result<Gate, StateUnavailable> {
        let conn = self.connected()?;
        let ttl_us = request.ttl.as_micros().clamp(1, i64::MAX as i128) as i64;
        let id = crate::controls::new_approval_id();
        let row = conn
            .client
            .query_one(
                "SELECT outcome, id FROM actgate.gate($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                &[
                    &request.key.as_bytes().as_slice(),
                    &request.agent,
                    &request.subject,
                    &request.rule,
                    &request.sql,
                    &request.params,
                    &ttl_us,
                    &now.as_microsecond(),
                    &id,
                    &(crate::controls::APPROVALS_CAPACITY as i32),
                    &(crate::controls::MAX_PENDING_PER_REQUESTER as i32),
                ],
            )
            .await
            .map_err(unavailable("holding a statement"))?;
        let outcome: String = row.get(0);
        let Some(id) = row.get::<_, Option<String>>(1) else {
            return Ok(Gate::Full);
        };
        let Some(a) = self.approval_by_id(&id).await? else {
            return Err(StateUnavailable(format!(
                "approval request {id} vanished while it was read"
            )));
        };
        Ok(match outcome.as_str() {
            "approved" => Gate::Approved(a),
            "pending" => Gate::Pending(a),
            "rejected" => Gate::Rejected(a),
            _ => Gate::Requested(a),
        })
    }

    async fn decide_request(
        &self,
        id: &str,
        approve: bool,
        by: &str,
        now: Timestamp,
    ) -> Result<Result<Approval, ApprovalError>, StateUnavailable> {
        let conn = self.connected()?;
        let now_us = now.as_microsecond();
        let row = conn
            .client
            .query_opt(
                &format!(
                    "UPDATE actgate.approvals
                        SET state = $2, decided_by = $3, decided_at_us = $4,
                            expires_at_us = CASE WHEN $2 = 'approved'
                                                 THEN $4 + ttl_us ELSE expires_at_us END
                      WHERE id = $1 AND state = 'pending' AND expires_at_us > $4
                  RETURNING {COLUMNS}"
                ),
                &[
                    &id,
                    &if approve { "approved" } else { "rejected" },
                    &by,
                    &now_us,
                ],
            )
            .await
            .map_err(unavailable("deciding an approval"))?;
        if let Some(row) = row {
            return Ok(Ok(approval(&row)));
        }
        Ok(Err(match self.approval_by_id(id).await? {
            Some(a) if a.expires_at > now => ApprovalError::AlreadyDecided {
                id: id.to_owned(),
                state: a.state.name(),
            },
            _ => ApprovalError::NotFound(id.to_owned()),
        }))
    }
}

impl ApprovalStore for PgState {
    fn gate(&self, request: ApprovalRequest, now: Timestamp) -> ApprovalFuture<'_, Gate> {
        Box::pin(self.bounded(self.gate_request(request, now)))
    }

    fn decide<'a>(
        &'a self,
        id: &'a str,
        approve: bool,
        by: &'a str,
        now: Timestamp,
    ) -> ApprovalFuture<'a, Result<Approval, ApprovalError>> {
        Box::pin(self.bounded(self.decide_request(id, approve, by, now)))
    }

    fn list(&self, now: Timestamp) -> Vec<Approval> {
        self.approvals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|a| a.expires_at > now)
            .cloned()
            .collect()
    }
}
