//! Loads the live catalog of a database from upstream (relations with
//! their columns, function names) over actgate's own upstream connection,
//! so TLS and every auth method work as for sessions.

use crate::config::UpstreamConfig;
use crate::policy::catalog::Catalog;
use crate::policy::names::QualifiedName;
use crate::protocol::{Reader, decode_frame, put_cstr, put_message};
use crate::proxy::upstream::{self, UpstreamError};
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;

const RELATIONS_SQL: &str = "SELECT n.nspname, c.relname, a.attname \
     FROM pg_catalog.pg_class c \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     LEFT JOIN pg_catalog.pg_attribute a \
       ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
     WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p') \
     ORDER BY 1, 2, a.attnum";
const FUNCTIONS_SQL: &str = "SELECT DISTINCT n.nspname, p.proname \
     FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace";

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("loading the catalog of database {database:?}: {source}")]
    Upstream {
        database: String,
        source: UpstreamError,
    },
    #[error("loading the catalog of database {database:?}: {message}")]
    Query { database: String, message: String },
}

/// Reads the catalog of `database`.
pub async fn load(
    cfg: &UpstreamConfig,
    tls: Option<&TlsConnector>,
    database: &str,
    max_message_bytes: usize,
) -> Result<Catalog, CatalogError> {
    let upstream_err = |source| CatalogError::Upstream {
        database: database.to_owned(),
        source,
    };
    let mut up = upstream::connect(cfg, tls, database, &[], &[], max_message_bytes)
        .await
        .map_err(upstream_err)?;
    let mut catalog = Catalog::default();
    let mut buf = std::mem::take(&mut up.leftover);
    for (sql, is_relations) in [(RELATIONS_SQL, true), (FUNCTIONS_SQL, false)] {
        let mut out = BytesMut::new();
        put_message(&mut out, b'Q', |b| put_cstr(b, sql));
        up.stream
            .write_all(&out)
            .await
            .map_err(|e| upstream_err(e.into()))?;
        let mut current: Option<(QualifiedName, Vec<String>)> = None;
        loop {
            let frame = loop {
                if let Some(f) =
                    decode_frame(&mut buf, max_message_bytes).map_err(|e| upstream_err(e.into()))?
                {
                    break f;
                }
                if up
                    .stream
                    .read_buf(&mut buf)
                    .await
                    .map_err(|e| upstream_err(e.into()))?
                    == 0
                {
                    return Err(upstream_err(UpstreamError::Closed));
                }
            };
            match frame.tag {
                b'D' => {
                    let cols = data_row(frame.body()).ok_or_else(|| CatalogError::Query {
                        database: database.to_owned(),
                        message: "malformed DataRow".into(),
                    })?;
                    let expected = if is_relations { 3 } else { 2 };
                    if cols.len() != expected {
                        return Err(CatalogError::Query {
                            database: database.to_owned(),
                            message: format!("expected {expected} columns, got {}", cols.len()),
                        });
                    }
                    let (Some(schema), Some(name)) = (&cols[0], &cols[1]) else {
                        continue;
                    };
                    if is_relations {
                        let q = QualifiedName::new(schema.clone(), name.clone());
                        match &mut current {
                            Some((cq, cols_acc)) if *cq == q => {
                                cols_acc.extend(cols[2].clone());
                            }
                            _ => {
                                if let Some((cq, c)) = current.take() {
                                    catalog.add_relation(cq, c);
                                }
                                current = Some((q, cols[2].clone().into_iter().collect()));
                            }
                        }
                    } else {
                        catalog.add_function(QualifiedName::new(schema.clone(), name.clone()));
                    }
                }
                b'E' => {
                    return Err(CatalogError::Query {
                        database: database.to_owned(),
                        message: "the catalog query failed".into(),
                    });
                }
                b'Z' => break,
                _ => {}
            }
        }
        if let Some((cq, c)) = current.take() {
            catalog.add_relation(cq, c);
        }
    }
    let mut out = BytesMut::new();
    put_message(&mut out, b'X', |_| {});
    let _ = up.stream.write_all(&out).await;
    Ok(catalog)
}

/// The text values of a DataRow.
fn data_row(body: &[u8]) -> Option<Vec<Option<String>>> {
    let mut r = Reader::new(body, "DataRow");
    let n = r.count16().ok()?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(
            r.value()
                .ok()?
                .map(|v| String::from_utf8_lossy(v).into_owned()),
        );
    }
    r.finish().ok()?;
    Some(out)
}
