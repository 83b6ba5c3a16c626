//! `[state]`: where the runtime controls that replicas share are kept.
//!
//! `store = "memory"` (the default) keeps them in the process, for one
//! replica; `store = "postgres"` keeps them in a database the operator
//! names by `url` (its password from `password_env` or `password_file`,
//! TLS as for `[upstream]`), where every replica reads and writes the same
//! tables (`crate::state`).

use super::{ConfigError, UpstreamConfig, UpstreamTls, password_from, raw::RawState};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// Where budgets are counted.
#[derive(Debug, Clone, Default)]
pub enum StateConfig {
    /// In this process only.
    #[default]
    Memory,
    /// In a PostgreSQL database shared by every replica.
    Postgres(StatePostgres),
}

/// The state database: how to reach it (the connection settings of an
/// upstream, so TLS and every authentication method work alike) and its
/// name.
#[derive(Debug, Clone)]
pub struct StatePostgres {
    pub server: UpstreamConfig,
    pub database: String,
}

pub(super) fn state_config(
    raw: Option<RawState>,
    path: &Path,
    base: &Path,
) -> Result<StateConfig, ConfigError> {
    let Some(raw) = raw else {
        return Ok(StateConfig::Memory);
    };
    let invalid = |message: String| ConfigError::Invalid {
        path: path.to_owned(),
        message,
    };
    match raw.store.as_str() {
        "memory" => {
            if raw.url.is_some() {
                return Err(invalid(
                    "state.url is only read with state.store = \"postgres\"".into(),
                ));
            }
            Ok(StateConfig::Memory)
        }
        "postgres" => {
            let url = raw.url.as_deref().ok_or_else(|| {
                invalid("state.store = \"postgres\" needs state.url (postgres://user@host:port/database)".into())
            })?;
            let (host, port, user, database) = parse_url(url).map_err(invalid)?;
            if raw.tls == UpstreamTls::Require && raw.ca_file.is_none() {
                return Err(invalid(
                    "state.tls = \"require\" needs state.ca_file".into(),
                ));
            }
            let password = password_from(&raw.password_env, &raw.password_file, base)?;
            Ok(StateConfig::Postgres(StatePostgres {
                server: UpstreamConfig {
                    host,
                    port,
                    user,
                    password,
                    connect_timeout: Duration::from_millis(raw.connect_timeout_ms.max(1)),
                    search_path: "pg_catalog".into(),
                    tls: raw.tls,
                    ca_file: raw.ca_file.map(|f| base.join(f)),
                },
                database,
            }))
        }
        other => Err(invalid(format!(
            "state.store {other:?} must be \"memory\" or \"postgres\""
        ))),
    }
}

/// Host, port, user and database of a `postgres://` URL with one host and
/// no password (that goes in `password_env` or `password_file`).
fn parse_url(url: &str) -> Result<(String, u16, String, String), String> {
    let bad = |why: &str| format!("state.url {url:?}: {why}");
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(bad("must start with postgres://"));
    }
    let parsed = tokio_postgres::Config::from_str(url).map_err(|e| bad(&e.to_string()))?;
    if parsed.get_password().is_some() {
        return Err(bad(
            "must not carry a password: set state.password_env or state.password_file",
        ));
    }
    let host = match parsed.get_hosts() {
        [tokio_postgres::config::Host::Tcp(h)] => h.clone(),
        [] => "127.0.0.1".into(),
        _ => return Err(bad("must name one TCP host")),
    };
    let port = match parsed.get_ports() {
        [] => 5432,
        [p] => *p,
        _ => return Err(bad("must name one port")),
    };
    let user = parsed
        .get_user()
        .ok_or_else(|| bad("must name a user (postgres://USER@host/database)"))?
        .to_owned();
    let database = parsed
        .get_dbname()
        .ok_or_else(|| bad("must name the state database (postgres://user@host/DATABASE)"))?
        .to_owned();
    Ok((host, port, user, database))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_one_host_a_user_and_a_database_and_no_password() {
        assert_eq!(
            parse_url("postgres://actgate@db.internal:5433/actgate_state").unwrap(),
            (
                "db.internal".into(),
                5433,
                "actgate".into(),
                "actgate_state".into()
            )
        );
        assert_eq!(
            parse_url("postgresql://actgate@10.0.0.5/state").unwrap(),
            ("10.0.0.5".into(), 5432, "actgate".into(), "state".into())
        );
        for (url, why) in [
            ("postgres://a:secret@h/db", "password"),
            ("postgres://a@h", "state database"),
            ("postgres://h/db", "user"),
            ("mysql://a@h/db", "postgres://"),
            ("postgres://a@h1,h2/db", "one TCP host"),
        ] {
            let e = parse_url(url).unwrap_err();
            assert!(e.contains(why), "{url}: {e}");
        }
    }
}
