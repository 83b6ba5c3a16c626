//! The admin endpoint: a small HTTP/1.1 server on its own address.
//!
//! `/healthz` and `/readyz` answer anyone (probes carry no secrets and
//! reveal nothing); everything else needs `Authorization: Bearer TOKEN`,
//! compared in constant time. One request per connection, bounded in size
//! and time.
//!
//! - `GET /metrics`: Prometheus text.
//! - `GET /sessions`: live agent sessions (JSON).
//! - `GET /suspensions`: suspensions in force (JSON).
//! - `POST /agents/NAME/suspend?seconds=N[&subject=S]`
//! - `POST /agents/NAME/resume[?subject=S]`
//! - `GET /status`: rules generation, last reload, sessions (JSON).
//! - `POST /reload`: reload the rules once the directory holds still (422
//!   with the errors if invalid, 409 if the directory is still changing).
//! - `GET /approvals`: statements held for approval (JSON).
//! - `POST /approvals/ID/approve[?by=NAME]`, `POST /approvals/ID/reject[?by=NAME]`

use crate::proxy::Gateway;
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Most bytes of a request head.
const MAX_REQUEST_BYTES: usize = 16 * 1024;
/// Time a client has to send its request, and to take the answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest suspension an operator can set: 30 days.
const MAX_SUSPEND_SECONDS: u64 = 30 * 86_400;

/// Serves the admin endpoint until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    token: String,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let token: Arc<str> = token.into();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let (gateway, token) = (gateway.clone(), token.clone());
                tokio::spawn(async move {
                    let _ = handle(tcp, &gateway, &token).await;
                });
            }
        }
    }
}

struct Response {
    status: u16,
    content_type: &'static str,
    body: String,
}

impl Response {
    fn text(status: u16, body: impl Into<String>) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
        }
    }

    fn json(value: &impl serde::Serialize) -> Response {
        Response {
            status: 200,
            content_type: "application/json",
            body: serde_json::to_string(value).unwrap_or_else(|_| "null".into()),
        }
    }
}

/// Reads a request head (bounded in size): the bytes read and the head's
/// length, `None` if too large; `Ok(None)` if the client went away.
async fn read_head(tcp: &mut TcpStream) -> std::io::Result<Option<(Vec<u8>, Option<usize>)>> {
    let mut buf = Vec::with_capacity(1024);
    loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return Ok(Some((buf, Some(i))));
        }
        if buf.len() >= MAX_REQUEST_BYTES {
            return Ok(Some((buf, None)));
        }
        let mut chunk = [0u8; 2048];
        let n = tcp.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// One request. Reading it and writing the answer are bounded in time;
/// the work between is not (a reload waits for the rules directory to
/// hold still, `server.rules_settle_ms`, and loads catalogs).
async fn handle(mut tcp: TcpStream, gateway: &Gateway, token: &str) -> std::io::Result<()> {
    let Ok(read) = tokio::time::timeout(REQUEST_TIMEOUT, read_head(&mut tcp)).await else {
        return Ok(());
    };
    let Some((buf, head_len)) = read? else {
        return Ok(());
    };
    let response = match head_len.and_then(|n| std::str::from_utf8(&buf[..n]).ok()) {
        None => Response::text(400, "bad request\n"),
        Some(head) => route(head, gateway, token).await,
    };
    let reason = match response.status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        422 => "Unprocessable Content",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let mut out = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        response.status,
        response.content_type,
        response.body.len()
    );
    if response.status == 401 {
        out.push_str("WWW-Authenticate: Bearer\r\n");
    }
    out.push_str("\r\n");
    out.push_str(&response.body);
    let write = async {
        tcp.write_all(out.as_bytes()).await?;
        tcp.shutdown().await
    };
    tokio::time::timeout(REQUEST_TIMEOUT, write)
        .await
        .unwrap_or(Ok(()))
}

async fn route(head: &str, gateway: &Gateway, token: &str) -> Response {
    let mut lines = head.split("\r\n");
    let mut request = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(target), Some(_version)) =
        (request.next(), request.next(), request.next())
    else {
        return Response::text(400, "bad request line\n");
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if let Some(response) = probe(method, path, gateway).await {
        return response;
    }
    if !authorized(lines, token) {
        return Response::text(401, "a valid bearer token is required\n");
    }
    operate(method, path, query, gateway).await
}

/// The probes anyone may call: `/healthz` and `/readyz`.
async fn probe(method: &str, path: &str, gateway: &Gateway) -> Option<Response> {
    match (method, path) {
        ("GET", "/healthz") => Some(Response::text(200, "ok\n")),
        ("GET", "/readyz") => {
            // Not ready while no new session could be served (upstream
            // down, or an unwritable audit log with on_failure = "block").
            // A failed reload leaves the previous rules serving: still
            // ready (taking every replica out over one bad file would be
            // an outage), but said so for whoever looks.
            let readiness = gateway.readiness().await;
            Some(Response::text(
                if readiness.ready { 200 } else { 503 },
                format!("{}\n", readiness.text),
            ))
        }
        _ => None,
    }
}

/// Whether the header lines carry `Authorization: Bearer TOKEN` with the
/// admin token, compared in constant time.
fn authorized<'a>(headers: impl Iterator<Item = &'a str>, token: &str) -> bool {
    let presented = headers
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("authorization"))
        .and_then(|(_, v)| v.trim().strip_prefix("Bearer "))
        .map(str::trim);
    presented.is_some_and(|p| bool::from(p.as_bytes().ct_eq(token.as_bytes())))
}

/// The operations that need the bearer token.
async fn operate(method: &str, path: &str, query: &str, gateway: &Gateway) -> Response {
    let params = query_params(query);
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("GET", ["metrics"]) => Response {
            status: 200,
            content_type: "text/plain; version=0.0.4",
            body: gateway.render_metrics(),
        },
        ("GET", ["sessions"]) => Response::json(&gateway.sessions()),
        ("GET", ["suspensions"]) => suspensions(gateway),
        ("POST", ["agents", agent, "suspend"]) => {
            suspend(gateway, agent, param("seconds"), param("subject"))
        }
        ("POST", ["agents", agent, "resume"]) => {
            let resumed = gateway.resume(agent, param("subject"));
            Response::json(&serde_json::json!({ "resumed": resumed }))
        }
        ("GET", ["status"]) => status(gateway),
        ("POST", ["reload"]) => reload(gateway).await,
        ("GET", ["approvals"]) => Response::json(&gateway.approvals()),
        ("POST", ["approvals", id, decision @ ("approve" | "reject")]) => {
            let by = param("by").unwrap_or("admin-api");
            match gateway
                .decide_approval(id, *decision == "approve", by)
                .await
            {
                Ok(a) => Response::json(&a),
                Err(e @ crate::controls::ApprovalError::Unavailable(_)) => {
                    Response::text(503, format!("{e}\n"))
                }
                Err(e @ crate::controls::ApprovalError::NotFound(_)) => {
                    Response::text(404, format!("{e}\n"))
                }
                Err(e) => Response::text(409, format!("{e}\n")),
            }
        }
        (_, ["metrics" | "sessions" | "suspensions" | "approvals" | "status" | "reload"])
        | (_, ["approvals", _, "approve" | "reject"])
        | (_, ["agents", _, "suspend" | "resume"]) => Response::text(405, "method not allowed\n"),
        _ => Response::text(404, "not found\n"),
    }
}

/// `GET /suspensions`.
fn suspensions(gateway: &Gateway) -> Response {
    let list: Vec<serde_json::Value> = gateway
        .suspensions()
        .iter()
        .map(|s| {
            serde_json::json!({
                "agent": s.agent,
                "subject": s.subject,
                "until": s.until.to_string(),
                "cause": s.cause,
            })
        })
        .collect();
    Response::json(&list)
}

/// `POST /agents/NAME/suspend?seconds=N[&subject=S]`.
fn suspend(
    gateway: &Gateway,
    agent: &str,
    seconds: Option<&str>,
    subject: Option<&str>,
) -> Response {
    let Some(seconds) = seconds
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|s| (1..=MAX_SUSPEND_SECONDS).contains(s))
    else {
        return Response::text(
            400,
            format!("seconds=N is required, 1 to {MAX_SUSPEND_SECONDS}\n"),
        );
    };
    let s = gateway.suspend(
        agent,
        subject,
        jiff::SignedDuration::from_secs(seconds as i64),
        "suspended by an operator".into(),
    );
    Response::json(&serde_json::json!({ "suspended": true, "until": s.until.to_string() }))
}

/// `GET /status`.
fn status(gateway: &Gateway) -> Response {
    let approvals = gateway.approvals();
    Response::json(&serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "rules": gateway.reload_status(),
        "rules_dir": gateway.config.rules_dir.display().to_string(),
        "sessions_active": gateway.sessions().len(),
        "suspensions": gateway.suspensions().len(),
        "approvals_pending": approvals
            .iter()
            .filter(|a| a.state == crate::controls::ApprovalState::Pending)
            .count(),
        "audit_dropped": gateway.audit.dropped(),
        "audit": audit_status(&gateway.audit),
        "state": gateway
            .state_health()
            .unwrap_or_else(crate::state::StateHealth::memory),
    }))
}

/// `POST /reload`.
async fn reload(gateway: &Gateway) -> Response {
    // As SIGHUP: the audit log is reopened too (log rotation).
    gateway.audit.reopen();
    match gateway.reload_rules("admin").await {
        Ok(generation) => {
            Response::json(&serde_json::json!({ "reloaded": true, "generation": generation }))
        }
        Err(e) => Response {
            // 409: the directory is being written, try again once it
            // holds still; 422: the rules themselves were refused.
            status: match e {
                crate::proxy::reload::ReloadError::StillChanging { .. } => 409,
                _ => 422,
            },
            content_type: "text/plain; charset=utf-8",
            body: format!("rules not reloaded, the previous rules stay in force: {e}\n"),
        },
    }
}

/// The audit log's state, for `/status`.
fn audit_status(audit: &crate::audit::AuditLog) -> serde_json::Value {
    use crate::audit::{AuditHealth, DropCause};
    serde_json::json!({
        "enabled": audit.enabled(),
        "on_failure": audit.on_failure().name(),
        "error": match audit.health() {
            AuditHealth::Writing => None,
            AuditHealth::Failing { error } => Some(error),
        },
        "dropped_queue_full": audit.dropped_by(DropCause::QueueFull),
        "dropped_write_failed": audit.dropped_by(DropCause::WriteFailed),
        "dropped_unreported": audit.unreported(),
        "reopened": audit.reopened(),
    })
}

/// `a=1&b=x%20y` → pairs, percent-decoded.
fn query_params(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_percent_decoded() {
        assert_eq!(
            query_params("seconds=60&subject=customer%2D42+x&bad=%zz&end=%4"),
            vec![
                ("seconds".to_owned(), "60".to_owned()),
                ("subject".to_owned(), "customer-42 x".to_owned()),
                ("bad".to_owned(), "%zz".to_owned()),
                ("end".to_owned(), "%4".to_owned()),
            ]
        );
    }
    #[test]
    fn only_the_admin_bearer_token_authorizes() {
        let ok = |headers: &str| authorized(headers.split("\r\n"), "s3cret");
        assert!(ok("Host: x\r\nAuthorization: Bearer s3cret"));
        assert!(ok("authorization:  Bearer  s3cret "));
        assert!(!ok("Authorization: Bearer s3cre"));
        assert!(!ok("Authorization: Basic s3cret"));
        assert!(!ok("X-Token: Bearer s3cret"));
        assert!(!ok(""));
    }
}
