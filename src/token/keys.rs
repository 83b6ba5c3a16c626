//! Key files: generating a pair, loading the signing key and the
//! verification keys, and which agents each verification key may sign
//! tokens for.
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

/// Names of the agents a key may sign tokens for: one agent's name, or
/// every name that starts with a prefix (`support-*`; `*` alone is every
/// agent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentPattern {
    Exact(String),
    Prefix(String),
}

impl AgentPattern {
    /// A name, or a prefix followed by one `*` at the very end.
    pub fn parse(text: &str) -> Result<AgentPattern, String> {
        let (stem, prefix) = match text.strip_suffix('*') {
            Some(stem) => (stem, true),
            None => (text, false),
        };
        if text.is_empty() || text.len() > 64 || text.contains('\0') {
            return Err(format!(
                "agent pattern {text:?} must be 1 to 64 bytes without NUL"
            ));
        }
        if stem.contains('*') {
            return Err(format!(
                "agent pattern {text:?}: `*` may only end a pattern (as in \"support-*\")"
            ));
        }
        Ok(if prefix {
            AgentPattern::Prefix(stem.to_owned())
        } else {
            AgentPattern::Exact(stem.to_owned())
        })
    }

    pub fn matches(&self, agent: &str) -> bool {
        match self {
            AgentPattern::Exact(name) => agent == name,
            AgentPattern::Prefix(stem) => agent.starts_with(stem.as_str()),
        }
    }
}

impl std::fmt::Display for AgentPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AgentPattern::Exact(name) => f.write_str(name),
            AgentPattern::Prefix(stem) => write!(f, "{stem}*"),
        }
    }
}

/// A verification key that may sign tokens only for some agents
/// (`[[tokens.keys]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyBinding {
    pub public_key: PathBuf,
    /// Not empty.
    pub agents: Vec<AgentPattern>,
}

/// Which agents one trusted key may sign for.
#[derive(Debug, Clone)]
enum Signer {
    /// Listed in `public_keys`: every agent.
    AnyAgent,
    /// Bound by `[[tokens.keys]]`: agents matching one of the patterns.
    Agents(Vec<AgentPattern>),
}

impl Signer {
    fn may_sign_for(&self, agent: &str) -> bool {
        match self {
            Signer::AnyAgent => true,
            Signer::Agents(patterns) => patterns.iter().any(|p| p.matches(agent)),
        }
    }
}

/// Verification keys, each with the agents it may sign tokens for. A
/// token is accepted if a key that may sign for its agent verifies it;
/// several keys may sign for one agent (rotation).
#[derive(Debug, Clone, Default)]
pub struct PublicKeys {
    keys: Vec<(PublicKey, Signer)>,
}

impl PublicKeys {
    /// Loads one public key per file; each may sign for every agent.
    pub fn load(paths: &[PathBuf]) -> Result<PublicKeys, TokenError> {
        PublicKeys::load_with_bindings(paths, &[])
    }

    /// `paths` may sign for every agent, each binding's key only for its
    /// agents. A key both in `paths` and bound would make the binding
    /// meaningless, and is refused.
    pub fn load_with_bindings(
        paths: &[PathBuf],
        bindings: &[KeyBinding],
    ) -> Result<PublicKeys, TokenError> {
        let mut keys = PublicKeys::default();
        for path in paths {
            keys.keys.push((load_public_key(path)?, Signer::AnyAgent));
        }
        for binding in bindings {
            let key = load_public_key(&binding.public_key)?;
            if keys.keys.iter().any(|(k, signer)| {
                matches!(signer, Signer::AnyAgent) && k.to_bytes() == key.to_bytes()
            }) {
                return Err(TokenError::Key(format!(
                    "{}: the key is also in tokens.public_keys, where it may sign for every agent; \
                     list it in one place only",
                    binding.public_key.display()
                )));
            }
            keys = keys.bind(key, binding.agents.clone());
        }
        Ok(keys)
    }

    /// Keys that may sign for every agent.
    pub fn from_keys(keys: Vec<PublicKey>) -> Self {
        PublicKeys {
            keys: keys.into_iter().map(|k| (k, Signer::AnyAgent)).collect(),
        }
    }

    /// Adds `key`, which may sign only for agents matching `agents`.
    pub fn bind(mut self, key: PublicKey, agents: Vec<AgentPattern>) -> Self {
        self.keys.push((key, Signer::Agents(agents)));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Every key, whoever it may sign for.
    pub fn iter(&self) -> impl Iterator<Item = &PublicKey> {
        self.keys.iter().map(|(k, _)| k)
    }

    /// The keys that may (`true`) or may not (`false`) sign tokens for
    /// `agent`.
    pub fn signing_for<'a>(
        &'a self,
        agent: &'a str,
        may: bool,
    ) -> impl Iterator<Item = &'a PublicKey> + 'a {
        self.keys
            .iter()
            .filter(move |(_, signer)| signer.may_sign_for(agent) == may)
            .map(|(k, _)| k)
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
    fn agent_patterns_are_names_or_trailing_star_prefixes() {
        let p = |s: &str| AgentPattern::parse(s).unwrap();
        assert_eq!(p("billing-bot"), AgentPattern::Exact("billing-bot".into()));
        assert_eq!(p("support-*"), AgentPattern::Prefix("support-".into()));
        assert!(p("billing-bot").matches("billing-bot"));
        assert!(!p("billing-bot").matches("billing-bot-2"));
        assert!(!p("billing-bot").matches("billing"));
        assert!(p("support-*").matches("support-"));
        assert!(p("support-*").matches("support-desk"));
        assert!(!p("support-*").matches("support"));
        assert!(!p("support-*").matches("Support-desk"));
        assert!(p("*").matches("anything"));
        assert_eq!(p("support-*").to_string(), "support-*");
        for bad in ["", "a*b", "**", "*a", "a\0", &"a".repeat(65)] {
            let err = AgentPattern::parse(bad).unwrap_err();
            assert!(err.contains("agent pattern"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn bound_keys_sign_only_for_their_agents() {
        let (any, support, billing) = (KeyPair::new(), KeyPair::new(), KeyPair::new());
        let keys = PublicKeys::from_keys(vec![any.public()])
            .bind(
                support.public(),
                vec![AgentPattern::parse("support-*").unwrap()],
            )
            .bind(
                billing.public(),
                vec![
                    AgentPattern::parse("billing-bot").unwrap(),
                    AgentPattern::parse("ledger").unwrap(),
                ],
            );
        let signers = |agent: &str| -> Vec<Vec<u8>> {
            keys.signing_for(agent, true)
                .map(|k| k.to_bytes())
                .collect()
        };
        let b = |k: &KeyPair| k.public().to_bytes();
        assert_eq!(signers("support-desk"), vec![b(&any), b(&support)]);
        assert_eq!(signers("billing-bot"), vec![b(&any), b(&billing)]);
        assert_eq!(signers("ledger"), vec![b(&any), b(&billing)]);
        assert_eq!(signers("analytics"), vec![b(&any)]);
        let others: Vec<Vec<u8>> = keys
            .signing_for("support-desk", false)
            .map(|k| k.to_bytes())
            .collect();
        assert_eq!(others, vec![b(&billing)]);
        assert_eq!(keys.len(), 3);
    }

    #[test]
    fn bindings_load_from_files_and_may_not_repeat_an_unbound_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = |n: &str| dir.path().join(n);
        keygen(&path("a.key"), &path("a.pub")).unwrap();
        keygen(&path("b.key"), &path("b.pub")).unwrap();
        let binding = |file: &str| KeyBinding {
            public_key: path(file),
            agents: vec![AgentPattern::parse("team-b-*").unwrap()],
        };
        let keys = PublicKeys::load_with_bindings(&[path("a.pub")], &[binding("b.pub")]).unwrap();
        let b = load_private_key(&path("b.key"))
            .unwrap()
            .public()
            .to_bytes();
        let a = load_private_key(&path("a.key"))
            .unwrap()
            .public()
            .to_bytes();
        let for_agent = |agent: &str| -> Vec<Vec<u8>> {
            keys.signing_for(agent, true)
                .map(|k| k.to_bytes())
                .collect()
        };
        assert_eq!(for_agent("team-b-bot"), vec![a.clone(), b]);
        assert_eq!(for_agent("team-a-bot"), vec![a]);
        // Only bindings: no key signs for an agent no pattern names.
        let only = PublicKeys::load_with_bindings(&[], &[binding("b.pub")]).unwrap();
        assert_eq!(only.signing_for("team-a-bot", true).count(), 0);
        assert_eq!(only.signing_for("team-a-bot", false).count(), 1);

        let err =
            PublicKeys::load_with_bindings(&[path("b.pub")], &[binding("b.pub")]).unwrap_err();
        assert!(err.to_string().contains("b.pub"), "{err}");
        assert!(err.to_string().contains("public_keys"), "{err}");
        let err = PublicKeys::load_with_bindings(&[], &[binding("missing.pub")]).unwrap_err();
        assert!(err.to_string().contains("missing.pub"), "{err}");
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
