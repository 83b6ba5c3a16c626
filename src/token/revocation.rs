//! The revocation list: a text file of token ids and block revocation ids.

use super::TokenError;
use std::collections::HashSet;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::Path;

/// Revoked ids (token ids or block revocation ids, hex). Ids compare
/// case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevocationList {
    ids: HashSet<String>,
}

impl RevocationList {
    /// One id per line; `#` starts a comment; blank lines are ignored. A
    /// missing file is an empty list.
    pub fn load(path: &Path) -> Result<RevocationList, TokenError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(Self::parse(&text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(TokenError::Io {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Parses the file format described at [`RevocationList::load`].
    pub fn parse(text: &str) -> RevocationList {
        let ids = text
            .lines()
            .map(|line| line.split_once('#').map_or(line, |(id, _)| id).trim())
            .filter(|id| !id.is_empty())
            .map(str::to_ascii_lowercase)
            .collect();
        RevocationList { ids }
    }

    /// Every id of either list.
    pub fn union(&self, other: &RevocationList) -> RevocationList {
        RevocationList {
            ids: self.ids.union(&other.ids).cloned().collect(),
        }
    }

    pub fn from_ids<'a>(ids: impl IntoIterator<Item = &'a str>) -> RevocationList {
        RevocationList {
            ids: ids.into_iter().map(str::to_ascii_lowercase).collect(),
        }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains(&id.to_ascii_lowercase())
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// Appends an id to the revocation file, creating it (mode 0644).
pub fn revoke(path: &Path, id: &str) -> Result<(), TokenError> {
    let id = id.trim();
    if id.is_empty() || id.contains(|c: char| c.is_whitespace() || c.is_control() || c == '#') {
        return Err(TokenError::Invalid(format!("invalid revocation id {id:?}")));
    }
    let io = |source| TokenError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .map_err(io)?;
    // Keep one id per line even if the last line lacks its newline.
    let len = file.metadata().map_err(io)?.len();
    let mut line = String::new();
    if len > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1))
            .and_then(|_| file.read_exact(&mut last))
            .map_err(io)?;
        if last[0] != b'\n' {
            line.push('\n');
        }
    }
    line.push_str(id);
    line.push('\n');
    file.write_all(line.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ids_comments_and_blank_lines() {
        let list = RevocationList::parse(
            "# revoked tokens\n\nABCDEF0123\n  deadbeef  # leaked in a log\n\t\n#cafe\n",
        );
        assert_eq!(list.len(), 2);
        assert!(list.contains("abcdef0123"));
        assert!(list.contains("DEADBEEF"));
        assert!(!list.contains("cafe"));
        assert!(RevocationList::parse("").is_empty());
    }

    #[test]
    fn a_missing_file_is_an_empty_list() {
        let dir = tempfile::tempdir().unwrap();
        let list = RevocationList::load(&dir.path().join("none.txt")).unwrap();
        assert!(list.is_empty());
        // A directory is not a list.
        assert!(matches!(
            RevocationList::load(dir.path()),
            Err(TokenError::Io { .. })
        ));
    }

    #[test]
    fn revoke_appends_and_creates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("revoked.txt");
        revoke(&path, "aa11").unwrap();
        std::fs::write(&path, "aa11\n# note without newline").unwrap();
        revoke(&path, " bb22 ").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "aa11\n# note without newline\nbb22\n");
        let list = RevocationList::load(&path).unwrap();
        assert_eq!(list.len(), 2);
        assert!(list.contains("aa11") && list.contains("bb22"));
        for bad in ["", "a b", "a#b", "a\nb"] {
            assert!(
                matches!(revoke(&path, bad), Err(TokenError::Invalid(_))),
                "{bad:?}"
            );
        }
    }
}
