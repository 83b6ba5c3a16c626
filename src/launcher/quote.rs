//! Names, quoting and percent-encoding for SQL, conninfo, the shell and URLs.

use super::*;

pub(super) fn check_name(what: &'static str, value: &str) -> Result<(), LaunchError> {
    if value.is_empty() || value.contains('\0') {
        return Err(LaunchError::InvalidName {
            what,
            value: value.to_owned(),
        });
    }
    Ok(())
}

pub(super) fn concat_os(prefix: &str, path: &Path) -> OsString {
    let mut s = OsString::from(prefix);
    s.push(path);
    s
}

/// SQL identifier quoting: `"na""me"`.
pub(super) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// SQL string literal quoting (standard_conforming_strings = on): `'it''s'`.
pub(super) fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// libpq conninfo value quoting: `'it\'s'`.
pub(super) fn conninfo_quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// POSIX shell single-quoting.
pub(super) fn shell_quote(arg: &OsStr) -> String {
    let s = arg.to_string_lossy();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(super) fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
