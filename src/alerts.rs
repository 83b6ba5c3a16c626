//! Webhook alerts: high-risk statements, suspensions and approval requests
//! POSTed as JSON to the URLs in `[alerts]`.
//!
//! The data path only does a `try_send` into one bounded queue per
//! webhook. Delivery runs on its own thread (with its own small runtime),
//! one worker per webhook, retrying with exponential backoff; a slow or
//! dead webhook fills only its own queue, and what does not fit is dropped
//! and counted. Every alert's fate is audited: the event that raised it
//! says `alert: "queued"` or `"dropped"` with its `alert_id`, and the
//! worker writes `alert_sent` or `alert_failed` with the same id.

use crate::audit::{AuditEvent, AuditLog};
use crate::config::AlertsConfig;
use crate::http::HttpUrl;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error(transparent)]
    Url(#[from] crate::http::UrlError),
    #[error("cannot start the alert thread: {0}")]
    Thread(std::io::Error),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
}

/// Why one delivery attempt failed.
#[derive(Debug, thiserror::Error)]
enum DeliveryError {
    #[error("timed out after {0} ms")]
    Timeout(u64),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("answered {0}")]
    Status(String),
    #[error("invalid TLS server name {0:?}")]
    ServerName(String),
    #[error("https:// needs a CA bundle (alerts.ca_file)")]
    NoTls,
}

/// One alert, as POSTed (`Content-Type: application/json`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Alert {
    pub alert_id: String,
    /// `high_risk_statement`, `agent_suspended` or `approval_requested`.
    pub kind: &'static str,
    pub ts: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk_score: Option<u8>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub risk: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
}

/// What happened to a raised alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertStatus {
    /// No alerts configured, or the event is below the threshold.
    None,
    /// Queued for at least one webhook.
    Queued(String),
    /// Every webhook's queue was full.
    Dropped(String),
}

impl AlertStatus {
    /// `(alert, alert_id)` for the audit event that raised it.
    pub fn audit_fields(&self) -> (Option<&'static str>, Option<String>) {
        match self {
            AlertStatus::None => (None, None),
            AlertStatus::Queued(id) => (Some("queued"), Some(id.clone())),
            AlertStatus::Dropped(id) => (Some("dropped"), Some(id.clone())),
        }
    }
}

/// Counts for `/metrics`.
#[derive(Debug, Default)]
pub struct AlertStats {
    pub queued: AtomicU64,
    pub sent: AtomicU64,
    pub failed: AtomicU64,
    pub dropped: AtomicU64,
}

struct Target {
    url: HttpUrl,
    tx: mpsc::Sender<Arc<Alert>>,
}

/// Raises alerts; cheap to call on the data path.
pub struct Alerter {
    min_risk: Option<u8>,
    targets: Vec<Target>,
    pub stats: Arc<AlertStats>,
}

impl Alerter {
    /// No webhooks: nothing is ever raised.
    pub fn disabled() -> Alerter {
        Alerter {
            min_risk: None,
            targets: Vec::new(),
            stats: Arc::default(),
        }
    }

    /// Starts the delivery thread for `config`'s webhooks.
    pub fn start(config: &AlertsConfig, audit: Arc<AuditLog>) -> Result<Alerter, AlertError> {
        let tls = if config.webhooks.iter().any(|u| u.starts_with("https://")) {
            let ca = config
                .ca_file
                .clone()
                .unwrap_or_else(|| "/etc/ssl/certs/ca-certificates.crt".into());
            Some(crate::tls::load_connector(&ca)?)
        } else {
            None
        };
        let stats = Arc::new(AlertStats::default());
        let mut targets = Vec::new();
        let mut workers = Vec::new();
        for raw in &config.webhooks {
            let url = HttpUrl::parse(raw)?;
            let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
            targets.push(Target {
                url: url.clone(),
                tx,
            });
            workers.push(Worker {
                url,
                rx,
                tls: tls.clone(),
                timeout: Duration::from_millis(config.timeout_ms),
                max_attempts: config.max_attempts.max(1),
                backoff: Duration::from_millis(config.backoff_ms),
                audit: audit.clone(),
                stats: stats.clone(),
            });
        }
        std::thread::Builder::new()
            .name("actgate-alerts".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot start the alert runtime");
                        return;
                    }
                };
                rt.block_on(async move {
                    let mut set = tokio::task::JoinSet::new();
                    for w in workers {
                        set.spawn(w.run());
                    }
                    while set.join_next().await.is_some() {}
                });
            })
            .map_err(AlertError::Thread)?;
        Ok(Alerter {
            min_risk: Some(config.min_risk),
            targets,
            stats,
        })
    }

    /// Whether alerts go anywhere.
    pub fn enabled(&self) -> bool {
        !self.targets.is_empty()
    }

    /// Statement events at or above this score alert.
    pub fn min_risk(&self) -> Option<u8> {
        self.min_risk
    }

    /// Queues `alert` (its id and time are filled in) for every webhook,
    /// never waiting.
    pub fn raise(&self, mut alert: Alert) -> AlertStatus {
        if self.targets.is_empty() {
            return AlertStatus::None;
        }
        alert.alert_id = crate::hex::random::<8>();
        alert.ts = jiff::Timestamp::now().to_string();
        let id = alert.alert_id.clone();
        let alert = Arc::new(alert);
        let mut queued = false;
        for t in &self.targets {
            match t.tx.try_send(alert.clone()) {
                Ok(()) => queued = true,
                Err(_) => {
                    self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(webhook = %t.url, alert_id = %id, "alert queue full, alert dropped");
                }
            }
        }
        if queued {
            self.stats.queued.fetch_add(1, Ordering::Relaxed);
            AlertStatus::Queued(id)
        } else {
            AlertStatus::Dropped(id)
        }
    }
}

struct Worker {
    url: HttpUrl,
    rx: mpsc::Receiver<Arc<Alert>>,
    tls: Option<tokio_rustls::TlsConnector>,
    timeout: Duration,
    max_attempts: u32,
    backoff: Duration,
    audit: Arc<AuditLog>,
    stats: Arc<AlertStats>,
}

impl Worker {
    async fn run(mut self) {
        while let Some(alert) = self.rx.recv().await {
            let body = serde_json::to_vec(&*alert).unwrap_or_default();
            let mut attempt = 0;
            let outcome = loop {
                attempt += 1;
                match tokio::time::timeout(self.timeout, self.post(&body)).await {
                    Ok(Ok(())) => break Ok(()),
                    Ok(Err(e)) if attempt >= self.max_attempts => break Err(e),
                    Err(_) if attempt >= self.max_attempts => {
                        break Err(DeliveryError::Timeout(self.timeout.as_millis() as u64));
                    }
                    _ => {
                        let delay = self
                            .backoff
                            .saturating_mul(1 << (attempt - 1).min(16))
                            .min(Duration::from_secs(60));
                        tokio::time::sleep(delay).await;
                    }
                }
            };
            let (event, message) = match &outcome {
                Ok(()) => {
                    self.stats.sent.fetch_add(1, Ordering::Relaxed);
                    ("alert_sent", format!("delivered to {}", self.url))
                }
                Err(e) => {
                    self.stats.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(webhook = %self.url, alert_id = %alert.alert_id, error = %e, "alert delivery failed");
                    ("alert_failed", format!("{}: {e}", self.url))
                }
            };
            self.audit.record(&AuditEvent {
                event,
                agent: alert.agent.as_deref().map(Into::into),
                subject: alert.subject.as_deref().map(Into::into),
                alert_id: Some(alert.alert_id.as_str().into()),
                message: Some(message.into()),
                count: Some(u64::from(attempt)),
                ..Default::default()
            });
        }
    }

    /// One POST; a 2xx answer is success.
    async fn post(&self, body: &[u8]) -> Result<(), DeliveryError> {
        let tcp = tokio::net::TcpStream::connect((self.url.host.as_str(), self.url.port)).await?;
        tcp.set_nodelay(true)?;
        let host_header = if self.url.host.contains(':') {
            format!("[{}]:{}", self.url.host, self.url.port)
        } else {
            format!("{}:{}", self.url.host, self.url.port)
        };
        let mut request = format!(
            "POST {} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: actgate/{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.url.path,
            env!("CARGO_PKG_VERSION"),
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        if self.url.tls {
            let connector = self.tls.as_ref().ok_or(DeliveryError::NoTls)?;
            let name = rustls::pki_types::ServerName::try_from(self.url.host.clone())
                .map_err(|_| DeliveryError::ServerName(self.url.host.clone()))?;
            let mut stream = connector.connect(name, tcp).await?;
            exchange(&mut stream, &request).await
        } else {
            let mut stream = tcp;
            exchange(&mut stream, &request).await
        }
    }
}

/// Writes the request and reads the status line.
async fn exchange<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    stream: &mut S,
    request: &[u8],
) -> Result<(), DeliveryError> {
    stream.write_all(request).await?;
    stream.flush().await?;
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 512];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 8192 {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = head
        .split(|&b| b == b'\r')
        .next()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .unwrap_or_default();
    if crate::http::status_code(&line).is_some_and(|c| (200..300).contains(&c)) {
        Ok(())
    } else if line.is_empty() {
        Err(DeliveryError::Status("nothing".into()))
    } else {
        Err(DeliveryError::Status(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disabled_alerter_raises_nothing() {
        let a = Alerter::disabled();
        assert_eq!(a.raise(Alert::default()), AlertStatus::None);
        assert!(!a.enabled());
    }
}
