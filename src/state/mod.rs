//! The state actgate's replicas share, kept in PostgreSQL (`[state] store
//! = "postgres"`): budgets, counted in one statement per charge so that
//! all of a statement's budgets or none are charged, whichever replica
//! asks (`budgets`); statements held for approval, decided and used once
//! whichever replica sees them (`approvals`); suspensions and revoked
//! tokens, which every replica hears of through LISTEN/NOTIFY within
//! moments and reads again every second in any case ([`controls`]).
//!
//! One connection per replica, opened like an upstream connection (TCP,
//! TLS as configured, any authentication method) and driven by
//! tokio-postgres, which pipelines the charges of every session over it.
//! When it breaks, a background task reconnects with backoff; meanwhile a
//! charge fails at once with [`StateUnavailable`] (the statement is
//! refused with `control_state_unavailable`, nothing waits) and statements
//! that need no shared state are untouched. The schema is created and
//! migrated by actgate itself ([`schema`]), and a schema newer than this
//! build refuses to be used.

mod approvals;
mod budgets;
pub mod controls;
pub mod schema;

use crate::config::StatePostgres;
use crate::controls::StateUnavailable;
use arc_swap::ArcSwapOption;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::Duration;
use tokio_postgres::{AsyncMessage, Client, Statement};
use tokio_rustls::TlsConnector;
use tracing::{info, warn};

/// Longest pause between two reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Longest a request to the state database may take. Past it the
/// statement that needed it is refused (whatever the request did is kept:
/// a charge that landed late stays counted, which errs on the side of the
/// budget), and the connection is taken for dead and opened afresh.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// First pause after a connection is lost.
const MIN_BACKOFF: Duration = Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("connecting to the state database {database:?} at {addr}: {source}")]
    Connect {
        addr: String,
        database: String,
        source: crate::proxy::upstream::UpstreamError,
    },
    #[error("the state database {database:?}: {}", describe(source))]
    Postgres {
        database: String,
        source: tokio_postgres::Error,
    },
    #[error("the state database's TLS: {0}")]
    Tls(String),
    #[error(
        "the state database {database:?} has schema version {found}, newer than this actgate understands ({known}); upgrade actgate, or point [state] at another database"
    )]
    NewerSchema {
        database: String,
        found: i32,
        known: i32,
    },
}

/// A tokio-postgres error with the server's message, code and detail
/// when the server sent one (its own `Display` says only "db error").
pub fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut text = format!("{} (SQLSTATE {})", db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                text.push_str(": ");
                text.push_str(detail);
            }
            text
        }
        None => e.to_string(),
    }
}

/// A live connection and its prepared statements.
struct Connected {
    /// Which connection this is (a lost one clears only itself).
    id: u64,
    client: Client,
    charge: Statement,
}

/// The shared state store of one replica.
pub struct PgState {
    /// This store, for the tasks it starts.
    me: std::sync::Weak<PgState>,
    cfg: StatePostgres,
    tls: Option<TlsConnector>,
    conn: ArcSwapOption<Connected>,
    /// A reconnection task is running.
    reconnecting: AtomicBool,
    /// Why the store last failed, while it is down.
    last_error: std::sync::Mutex<Option<String>>,
    /// The approval requests as last read (what `list` answers).
    approvals: std::sync::Mutex<Vec<crate::controls::Approval>>,
    /// Bumped on every notification of a change to suspensions or
    /// revocations, and on every (re)connection.
    changes: Arc<tokio::sync::watch::Sender<u64>>,
    /// Where the connection and reconnection tasks run (the main runtime,
    /// whatever thread a charge comes from).
    runtime: tokio::runtime::Handle,
}

/// What `/readyz`, `/status` and `actgate status` show of the store.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StateHealth {
    pub store: &'static str,
    pub up: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl StateHealth {
    /// The memory store: in the process, always up.
    pub fn memory() -> StateHealth {
        StateHealth {
            store: "memory",
            up: true,
            error: None,
        }
    }
}

impl PgState {
    /// [`PgState::start`] with the TLS `cfg` asks for.
    pub async fn open(cfg: &StatePostgres) -> Result<Arc<PgState>, StateError> {
        let tls = match (cfg.server.tls, &cfg.server.ca_file) {
            (crate::config::UpstreamTls::Require, Some(ca)) => {
                Some(crate::tls::load_connector(ca).map_err(|e| StateError::Tls(e.to_string()))?)
            }
            _ => None,
        };
        PgState::start(cfg.clone(), tls).await
    }

    /// Connects and migrates the schema. A database that cannot be reached
    /// is not fatal (the store starts down and keeps trying); a schema newer
    /// than this build is.
    pub async fn start(
        cfg: StatePostgres,
        tls: Option<TlsConnector>,
    ) -> Result<Arc<PgState>, StateError> {
        let state = Arc::new_cyclic(|me| PgState {
            me: me.clone(),
            cfg,
            tls,
            conn: ArcSwapOption::empty(),
            reconnecting: AtomicBool::new(false),
            last_error: std::sync::Mutex::new(None),
            changes: Arc::new(tokio::sync::watch::Sender::new(0)),
            approvals: std::sync::Mutex::new(Vec::new()),
            runtime: tokio::runtime::Handle::current(),
        });
        match state.connect().await {
            Ok(conn) => state.conn.store(Some(Arc::new(conn))),
            Err(e @ StateError::NewerSchema { .. }) => return Err(e),
            Err(e) => {
                warn!(error = %e, "state database unavailable at start; retrying in the background");
                state.set_error(Some(e.to_string()));
                state.clone().reconnect_in_background();
            }
        }
        Ok(state)
    }

    async fn connect(self: &Arc<Self>) -> Result<Connected, StateError> {
        let server = &self.cfg.server;
        let database = self.cfg.database.clone();
        let stream = crate::proxy::upstream::open(server, self.tls.as_ref())
            .await
            .map_err(|source| StateError::Connect {
                addr: format!("{}:{}", server.host, server.port),
                database: database.clone(),
                source,
            })?;
        let mut config = tokio_postgres::Config::new();
        config
            .user(&server.user)
            .dbname(&database)
            .application_name("actgate-state")
            .ssl_mode(tokio_postgres::config::SslMode::Disable);
        if let Some(pw) = &server.password {
            config.password(pw);
        }
        let pg_err = |source| StateError::Postgres {
            database: database.clone(),
            source,
        };
        let (client, connection) = config
            .connect_raw(stream, tokio_postgres::NoTls)
            .await
            .map_err(pg_err)?;
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let me = self.clone();
        let changes = self.changes.clone();
        self.runtime.spawn(async move {
            let mut connection = connection;
            // Drives the connection; every notification is a change.
            let end = std::future::poll_fn(|cx| {
                loop {
                    match connection.poll_message(cx) {
                        Poll::Ready(Some(Ok(AsyncMessage::Notification(_)))) => {
                            changes.send_modify(|n| *n += 1);
                        }
                        Poll::Ready(Some(Ok(_))) => {}
                        Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                        Poll::Ready(None) => return Poll::Ready(Ok(())),
                        Poll::Pending => return Poll::Pending,
                    }
                }
            })
            .await;
            let current = me.conn.load();
            if current.as_ref().is_some_and(|c| c.id == id) {
                warn!(error = ?end.err(), "state database connection lost");
                me.set_error(Some("the connection to the state database was lost".into()));
                me.conn.compare_and_swap(&*current, None);
                me.clone().reconnect_in_background();
            }
        });
        schema::migrate(&client, &database).await?;
        let charge = client.prepare(budgets::CHARGE_SQL).await.map_err(pg_err)?;
        client
            .batch_execute(&format!("LISTEN {}", controls::CHANNEL))
            .await
            .map_err(pg_err)?;
        // Whatever changed while this replica was not listening.
        self.changes.send_modify(|n| *n += 1);
        self.set_error(None);
        info!(database = %database, "state database connected");
        Ok(Connected { id, client, charge })
    }

    /// Starts reconnecting unless a task already is.
    fn reconnect_in_background(self: Arc<Self>) {
        if self.reconnecting.swap(true, Ordering::AcqRel) {
            return;
        }
        let runtime = self.runtime.clone();
        runtime.spawn(async move {
            let mut pause = MIN_BACKOFF;
            loop {
                tokio::time::sleep(pause).await;
                match self.connect().await {
                    Ok(conn) => {
                        self.conn.store(Some(Arc::new(conn)));
                        break;
                    }
                    Err(e) => {
                        self.set_error(Some(e.to_string()));
                        pause = (pause * 2).min(MAX_BACKOFF);
                    }
                }
            }
            self.reconnecting.store(false, Ordering::Release);
        });
    }

    fn set_error(&self, error: Option<String>) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = error;
    }

    /// The live connection, or why there is none.
    fn connected(&self) -> Result<Arc<Connected>, StateUnavailable> {
        match self.conn.load_full() {
            Some(c) if !c.client.is_closed() => Ok(c),
            _ => Err(StateUnavailable(
                self.last_error
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone()
                    .unwrap_or_else(|| "the state database is not connected".into()),
            )),
        }
    }

    /// Woken on every change to suspensions or revocations (and after
    /// every reconnection).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// `request`, refused after [`REQUEST_TIMEOUT`] (and the connection
    /// replaced: a server that stopped answering is not waited for again).
    pub(crate) async fn bounded<T>(
        &self,
        request: impl std::future::Future<Output = Result<T, StateUnavailable>>,
    ) -> Result<T, StateUnavailable> {
        match tokio::time::timeout(REQUEST_TIMEOUT, request).await {
            Ok(answer) => answer,
            Err(_) => {
                let why = format!(
                    "the state database did not answer within {} s",
                    REQUEST_TIMEOUT.as_secs()
                );
                warn!("state database request timed out; reconnecting");
                self.set_error(Some(why.clone()));
                self.conn.store(None);
                if let Some(me) = self.me.upgrade() {
                    me.reconnect_in_background();
                }
                Err(StateUnavailable(why))
            }
        }
    }

    /// Whether the store answers now, and why not.
    pub fn health(&self) -> StateHealth {
        let error = self.connected().err().map(|e| e.0);
        StateHealth {
            store: "postgres",
            up: error.is_none(),
            error,
        }
    }
}
