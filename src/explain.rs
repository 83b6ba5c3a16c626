//! `actgate explain`: loads the rules (and, given a database URL, the live
//! catalog), analyses one statement and prints what the agent's policy
//! says about it.

use crate::config::{UpstreamConfig, UpstreamTls};
use crate::policy::analyze::{AnalysisLimits, analyze};
use crate::policy::catalog::Catalog;
use crate::policy::names::Resolver;
use crate::rules::{RuleSet, RulesError};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error(transparent)]
    Rules(#[from] RulesError),
    #[error("no agent named {0:?} in the rules")]
    UnknownAgent(String),
    #[error("invalid database URL: {0}")]
    Url(String),
    #[error(transparent)]
    Catalog(#[from] crate::catalog_load::CatalogError),
}

/// A parsed `postgres://user:password@host:port/database` URL.
pub fn parse_url(url: &str) -> Result<(UpstreamConfig, String), ExplainError> {
    let bad = |m: &str| ExplainError::Url(m.to_owned());
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
        .ok_or_else(|| bad("must start with postgres://"))?;
    let rest = rest.split('?').next().unwrap_or_default();
    let (auth, hostpart) = match rest.rsplit_once('@') {
        Some((a, h)) => (Some(a), h),
        None => (None, rest),
    };
    let (hostport, database) = hostpart
        .split_once('/')
        .ok_or_else(|| bad("missing /database"))?;
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().map_err(|_| bad("invalid port"))?),
        None => (hostport, 5432),
    };
    let (user, password) = match auth.map(|a| a.split_once(':').unwrap_or((a, ""))) {
        Some((u, p)) => (
            percent_decode(u)?,
            Some(percent_decode(p)?).filter(|p| !p.is_empty()),
        ),
        None => return Err(bad("missing user")),
    };
    Ok((
        UpstreamConfig {
            host: host.to_owned(),
            port,
            user,
            password,
            connect_timeout: Duration::from_secs(10),
            search_path: "public".into(),
            tls: UpstreamTls::Disable,
            ca_file: None,
        },
        percent_decode(database)?,
    ))
}

fn percent_decode(s: &str) -> Result<String, ExplainError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| ExplainError::Url("bad percent escape".into()))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ExplainError::Url("not UTF-8".into()))
}

/// Runs the explanation and returns the text to print.
pub async fn run(
    rules_dir: &Path,
    agent: &str,
    sql: &str,
    database_url: Option<&str>,
    search_path: &[String],
    claims: &[(String, String)],
) -> Result<String, ExplainError> {
    let mut catalogs = HashMap::new();
    let mut database = None;
    if let Some(url) = database_url {
        let (mut cfg, db) = parse_url(url)?;
        cfg.search_path = search_path.join(",");
        let catalog = crate::catalog_load::load(&cfg, None, &db, 256 << 20).await?;
        catalogs.insert(db.clone(), Arc::new(catalog));
        database = Some(db);
    }
    let rules = RuleSet::load_dir_with(rules_dir, search_path, &catalogs)?;
    let a = rules
        .agent(agent)
        .ok_or_else(|| ExplainError::UnknownAgent(agent.to_owned()))?;
    let catalog: Option<&Catalog> = database
        .as_ref()
        .and_then(|d| catalogs.get(d))
        .map(|c| c.as_ref());
    let resolver = Resolver {
        search_path,
        catalog,
        database: database.as_deref(),
    };
    let analysis = analyze(sql, &resolver, AnalysisLimits::default());
    let capability = crate::policy::StaticClaims(claims.iter().cloned().collect());
    let capability: Option<&dyn crate::policy::Capability> =
        (!claims.is_empty()).then_some(&capability as &dyn crate::policy::Capability);
    Ok(crate::policy::explain::explain(
        &a.policy, &analysis, catalog, capability,
    ))
}

/// `actgate rls`: the row-level-security SQL for a rules directory.
pub fn rls(rules_dir: &Path, search_path: &[String], role: &str) -> Result<String, ExplainError> {
    let rules = RuleSet::load_dir(rules_dir, search_path)?;
    Ok(crate::policy::rls::rls_sql(
        rules.agents().map(|a| a.policy.as_ref()),
        role,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        let (c, db) =
            parse_url("postgres://bot:p%40ss@db.local:6543/shop?sslmode=disable").unwrap();
        assert_eq!(c.user, "bot");
        assert_eq!(c.password.as_deref(), Some("p@ss"));
        assert_eq!(c.host, "db.local");
        assert_eq!(c.port, 6543);
        assert_eq!(db, "shop");
        assert!(parse_url("mysql://x@y/z").is_err());
    }
}
