//! Key files: generating a pair, loading the signing key and the
//! verification keys.
//!
//! Keys are read as PEM (PKCS#8 / SPKI, as [`keygen`] writes them), as
//! biscuit's prefixed hex (`ed25519-private/…`, `ed25519/…`) or as bare
//! Ed25519 hex.

use super::TokenError;
use biscuit_auth::builder::Algorithm;
use biscuit_auth::{KeyPair, PrivateKey, PublicKey};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

/// Verification keys; a token signed by any of them is accepted (rotation).
#[derive(Debug, Clone, Default)]
pub struct PublicKeys {
    keys: Vec<PublicKey>,
}

impl PublicKeys {
    /// Loads one public key per file.
    pub fn load(paths: &[PathBuf]) -> Result<PublicKeys, TokenError> {
        let keys = paths
            .iter()
            .map(|p| load_public_key(p))
            .collect::<Result<_, _>>()?;
        Ok(PublicKeys { keys })
    }

    pub fn from_keys(keys: Vec<PublicKey>) -> Self {
        PublicKeys { keys }
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &PublicKey> {
        self.keys.iter()
    }
}

fn read(path: &Path) -> Result<String, TokenError> {
    std::fs::read_to_string(path).map_err(|source| TokenError::Io {
        path: path.to_owned(),
        source,
    })
}

fn key_error(path: &Path, what: &str, e: impl std::fmt::Display) -> TokenError {
    TokenError::Key(format!("{}: not a valid {what}: {e}", path.display()))
}

/// Loads one verification key (PEM, `ed25519/HEX` or bare hex).
pub fn load_public_key(path: &Path) -> Result<PublicKey, TokenError> {
    let text = read(path)?;
    let text = text.trim();
    let what = "public key";
    if text.contains("PRIVATE KEY") {
        return Err(TokenError::Key(format!(
            "{} holds a private key; give the public key",
            path.display()
        )));
    }
    if text.starts_with("-----BEGIN") {
        PublicKey::from_pem(text).map_err(|e| key_error(path, what, e))
    } else if text.contains('/') {
        text.parse().map_err(|e| key_error(path, what, e))
    } else {
        PublicKey::from_bytes_hex(text, Algorithm::Ed25519).map_err(|e| key_error(path, what, e))
    }
}

/// Loads the signing key (PEM, `ed25519-private/HEX` or bare hex).
pub fn load_private_key(path: &Path) -> Result<KeyPair, TokenError> {
    let text = read(path)?;
    let text = text.trim();
    let what = "private key";
    if text.starts_with("-----BEGIN") {
        KeyPair::from_private_key_pem(text).map_err(|e| key_error(path, what, e))
    } else if text.contains('/') {
        let key: PrivateKey = text.parse().map_err(|e| key_error(path, what, e))?;
        Ok(KeyPair::from(&key))
    } else {
        let key = PrivateKey::from_bytes_hex(text, Algorithm::Ed25519)
            .map_err(|e| key_error(path, what, e))?;
        Ok(KeyPair::from(&key))
    }
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> TokenError + '_ {
    move |source| TokenError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Creates `path` (which must not exist) with `mode` and writes `contents`.
fn write_new(path: &Path, contents: &[u8], mode: u32) -> Result<(), TokenError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(io_error(parent))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io_error(path))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(io_error(path))
}

/// Writes a new Ed25519 key pair: the private key as PKCS#8 PEM with mode
/// 0600, the public key as PEM. Refuses to overwrite an existing file
/// (nothing is written then). Missing parent directories are created
/// with mode 0700.
pub fn keygen(private_path: &Path, public_path: &Path) -> Result<(), TokenError> {
    if private_path == public_path {
        return Err(TokenError::Key(format!(
            "the private and public key paths are both {}",
            private_path.display()
        )));
    }
    for path in [private_path, public_path] {
        if path.symlink_metadata().is_ok() {
            return Err(TokenError::Key(format!(
                "{} already exists; refusing to overwrite it",
                path.display()
            )));
        }
    }
    let pair = KeyPair::new();
    let private_pem = pair
        .to_private_key_pem()
        .map_err(|e| TokenError::Key(format!("encoding the private key: {e}")))?;
    let public_pem = pair
        .public()
        .to_pem()
        .map_err(|e| TokenError::Key(format!("encoding the public key: {e}")))?;
    write_new(private_path, private_pem.as_bytes(), 0o600)?;
    if let Err(e) = write_new(public_path, public_pem.as_bytes(), 0o644) {
        // Do not leave half a pair behind.
        let _ = std::fs::remove_file(private_path);
        return Err(e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn keygen_writes_a_private_key_only_the_owner_can_read() {
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("keys/actgate.key");
        let public = dir.path().join("keys/actgate.pub");
        keygen(&private, &public).unwrap();
        let mode = std::fs::metadata(&private).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let pem = std::fs::read_to_string(&private).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
        let pair = load_private_key(&private).unwrap();
        let keys = PublicKeys::load(std::slice::from_ref(&public)).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(
            keys.iter().next().unwrap().to_bytes(),
            pair.public().to_bytes()
        );
    }

    #[test]
    fn keygen_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("k");
        let public = dir.path().join("k.pub");
        keygen(&private, &public).unwrap();
        let before = std::fs::read(&private).unwrap();
        assert!(matches!(
            keygen(&private, &dir.path().join("other.pub")),
            Err(TokenError::Key(_))
        ));
        assert!(matches!(
            keygen(&dir.path().join("other"), &public),
            Err(TokenError::Key(_))
        ));
        assert_eq!(std::fs::read(&private).unwrap(), before);
        assert!(!dir.path().join("other").exists());
        assert!(!dir.path().join("other.pub").exists());
        assert!(keygen(&private, &private).is_err());
    }

    #[test]
    fn keys_load_from_hex_forms() {
        let dir = tempfile::tempdir().unwrap();
        let pair = KeyPair::new();
        let prefixed = dir.path().join("prefixed");
        let bare = dir.path().join("bare");
        std::fs::write(&prefixed, pair.private().to_prefixed_string()).unwrap();
        std::fs::write(&bare, format!("{}\n", pair.private().to_bytes_hex())).unwrap();
        for p in [&prefixed, &bare] {
            let loaded = load_private_key(p).unwrap();
            assert_eq!(loaded.public().to_bytes(), pair.public().to_bytes());
        }
        let public_prefixed = dir.path().join("pub1");
        let public_bare = dir.path().join("pub2");
        std::fs::write(&public_prefixed, pair.public().to_string()).unwrap();
        std::fs::write(&public_bare, pair.public().to_bytes_hex()).unwrap();
        let keys = PublicKeys::load(&[public_prefixed, public_bare]).unwrap();
        assert!(
            keys.iter()
                .all(|k| k.to_bytes() == pair.public().to_bytes())
        );
    }

    #[test]
    fn bad_key_files_are_reported_with_their_path() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage");
        std::fs::write(&garbage, "hello").unwrap();
        let err = load_private_key(&garbage).unwrap_err();
        assert!(matches!(err, TokenError::Key(_)), "{err}");
        assert!(err.to_string().contains("garbage"), "{err}");
        let err = PublicKeys::load(&[garbage]).unwrap_err();
        assert!(matches!(err, TokenError::Key(_)), "{err}");

        let missing = dir.path().join("missing");
        let err = load_private_key(&missing).unwrap_err();
        assert!(matches!(err, TokenError::Io { .. }), "{err}");
        assert!(err.to_string().contains("missing"), "{err}");

        let private = dir.path().join("k");
        keygen(&private, &dir.path().join("k.pub")).unwrap();
        let err = PublicKeys::load(&[private]).unwrap_err();
        assert!(err.to_string().contains("private key"), "{err}");
        assert!(PublicKeys::load(&[]).unwrap().is_empty());
    }
}
