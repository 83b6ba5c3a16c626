//! The process log (not the audit log): `tracing` to standard error, as
//! text or one JSON object per line (`[log] format`), with ANSI colour only
//! when standard error is a terminal and `NO_COLOR` is not set, so nothing
//! but text reaches `docker compose logs`, the journal or a collector.

use std::io::IsTerminal;

/// `[log] format`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (the default).
    #[default]
    Text,
    /// One JSON object per line: time, level, target, message and fields,
    /// with the session span's fields (session id, client address,
    /// agent).
    Json,
}

/// Whether to write ANSI colour: only to a terminal, and never with
/// `NO_COLOR` set to anything (<https://no-color.org>).
pub fn colour(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Installs the process-wide subscriber. `RUST_LOG` filters
/// (`actgate=info` by default).
pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "actgate=info".into());
    let ansi = colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(ansi).init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

/// `[log] format` of the configuration file at `path`, read without
/// loading the rest (the log starts before the configuration is checked).
/// Whatever cannot be read is `text`: the full load reports it.
pub fn format_of(path: &std::path::Path) -> LogFormat {
    #[derive(serde::Deserialize)]
    struct Only {
        #[serde(default)]
        log: Option<Section>,
    }
    #[derive(serde::Deserialize)]
    struct Section {
        #[serde(default)]
        format: LogFormat,
    }
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| toml::from_str::<Only>(&text).ok())
        .and_then(|o| o.log)
        .map(|s| s.format)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some(OsStr::new(""))));
        assert!(!colour(true, Some(OsStr::new("1"))));
        assert!(!colour(false, None));
        assert!(!colour(false, Some(OsStr::new("1"))));
    }

    #[test]
    fn the_format_is_read_from_the_log_table_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("actgate.toml");
        std::fs::write(
            &path,
            "[log]\nformat = \"json\"\n[upstream]\nuser = \"a\"\n",
        )
        .unwrap();
        assert_eq!(format_of(&path), LogFormat::Json);
        std::fs::write(&path, "[upstream]\nuser = \"a\"\n").unwrap();
        assert_eq!(format_of(&path), LogFormat::Text);
        assert_eq!(format_of(&dir.path().join("missing.toml")), LogFormat::Text);
    }
}
