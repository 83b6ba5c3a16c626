//! The rules directory: one TOML file per agent, loaded strictly and all at
//! once. A directory with any bad file fails as a whole, so a bad file can
//! never half-replace a good rule set.

use crate::auth::{Credential, Verifier};
use crate::policy::Policy;
use crate::policy::catalog::Catalog;
use crate::policy::compile::{
    CompileError, RawApproval, RawCircuitBreaker, RawDeny, RawPolicy, RawRateLimit, RawRules,
    RawSchema, RawTable, compile_all,
};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("cannot read rules directory {path}: {source}")]
    ReadDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse {
        path: PathBuf,
        message: String,
        /// Line and column (1-based) of the offending text, when known.
        location: Option<(usize, usize)>,
        /// The message alone, without the quoted source.
        brief: String,
    },
    #[error("{path}: agent {name:?} is already defined in {first}")]
    Duplicate {
        path: PathBuf,
        name: String,
        first: PathBuf,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("rules directory {path} defines no agents")]
    Empty { path: PathBuf },
    #[error(transparent)]
    Compile(#[from] CompileError),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgentFile {
    agent: RawAgent,
    #[serde(default)]
    policy: RawPolicy,
    #[serde(default)]
    tables: BTreeMap<toml::Spanned<String>, RawTable>,
    #[serde(default)]
    schemas: BTreeMap<toml::Spanned<String>, RawSchema>,
    #[serde(default)]
    deny: RawDeny,
    #[serde(default)]
    rate_limits: Vec<RawRateLimit>,
    #[serde(default)]
    circuit_breaker: Option<RawCircuitBreaker>,
    #[serde(default)]
    approvals: Vec<RawApproval>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgent {
    name: String,
    #[serde(default)]
    description: String,
    databases: Vec<String>,
    /// "secret" (default) or "token".
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    secret_verifier: Option<String>,
}

/// One agent as declared by its rules file, with its compiled policy.
#[derive(Debug, Clone)]
pub struct Agent {
    pub name: String,
    pub description: String,
    pub databases: Vec<String>,
    pub credential: Credential,
    pub source: PathBuf,
    pub policy: Arc<Policy>,
}

impl Agent {
    pub fn may_use_database(&self, database: &str) -> bool {
        self.databases.iter().any(|d| d == database)
    }
}

/// All agents, by name.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    agents: HashMap<String, Agent>,
}

impl RuleSet {
    /// Loads every `*.toml` file in `dir`, in name order, compiling
    /// policies without a catalog (structure only).
    pub fn load_dir(dir: &Path, search_path: &[String]) -> Result<RuleSet, RulesError> {
        RuleSet::load_dir_with(dir, search_path, &HashMap::new())
    }

    /// Like [`RuleSet::load_dir`], checking each agent's tables and columns
    /// against the catalogs of its databases.
    pub fn load_dir_with(
        dir: &Path,
        search_path: &[String],
        catalogs: &HashMap<String, Arc<Catalog>>,
    ) -> Result<RuleSet, RulesError> {
        RuleSet::load_snapshot(&RulesSnapshot::read(dir)?, search_path, catalogs)
    }

    /// Compiles the files of a snapshot (nothing is read from disk).
    pub fn load_snapshot(
        snapshot: &RulesSnapshot,
        search_path: &[String],
        catalogs: &HashMap<String, Arc<Catalog>>,
    ) -> Result<RuleSet, RulesError> {
        let mut set = RuleSet::default();
        for file in &snapshot.files {
            let text = std::str::from_utf8(&file.text).map_err(|e| RulesError::ReadFile {
                path: file.path.clone(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            })?;
            set.add(parse_agent(text, &file.path, search_path, catalogs)?)?;
        }
        if set.agents.is_empty() {
            return Err(RulesError::Empty {
                path: snapshot.dir.clone(),
            });
        }
        Ok(set)
    }

    /// Adds an agent; names must be unique.
    pub fn add(&mut self, agent: Agent) -> Result<(), RulesError> {
        if let Some(first) = self.agents.get(&agent.name) {
            return Err(RulesError::Duplicate {
                path: agent.source.clone(),
                name: agent.name.clone(),
                first: first.source.clone(),
            });
        }
        self.agents.insert(agent.name.clone(), agent);
        Ok(())
    }

    pub fn agent(&self, name: &str) -> Option<&Agent> {
        self.agents.get(name)
    }

    pub fn agents(&self) -> impl Iterator<Item = &Agent> {
        self.agents.values()
    }

    /// Whether some agent logs in with capability tokens.
    pub fn uses_tokens(&self) -> bool {
        self.agents
            .values()
            .any(|a| matches!(a.credential, Credential::Token))
    }

    /// Every database some agent may use.
    pub fn databases(&self) -> Vec<String> {
        let mut dbs: Vec<String> = self
            .agents
            .values()
            .flat_map(|a| a.databases.iter().cloned())
            .collect();
        dbs.sort();
        dbs.dedup();
        dbs
    }
}

/// The agent files of a rules directory: its `*.toml` files, in name
/// order. Subdirectories (such as `tests/` with policy tests) are not read.
pub fn agent_files(dir: &Path) -> Result<Vec<PathBuf>, RulesError> {
    toml_files(dir).map_err(|source| RulesError::ReadDir {
        path: dir.to_owned(),
        source,
    })
}

/// The `*.toml` files directly in `dir`, in name order. Hidden files
/// (`.name.toml`: a publisher's file before it is renamed into place) are
/// not read.
pub fn toml_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|p| {
        p.extension().is_some_and(|e| e == "toml")
            && !p
                .file_name()
                .is_some_and(|n| n.as_encoded_bytes().starts_with(b"."))
            && p.is_file()
    });
    files.sort();
    Ok(files)
}

/// The agent files of a rules directory as read at one moment. A load
/// compiles a snapshot, so the files checked (and their databases' catalogs
/// loaded) are exactly the files swapped in, and two snapshots tell whether
/// the directory held still between them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesSnapshot {
    /// The directory as configured (files are named under it in errors).
    pub dir: PathBuf,
    pub files: Vec<RulesFile>,
}

/// One agent file of a [`RulesSnapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesFile {
    pub path: PathBuf,
    /// Size and modification time as the file's metadata gave them.
    pub len: u64,
    pub modified: Option<std::time::SystemTime>,
    pub text: Vec<u8>,
}

impl RulesSnapshot {
    /// Reads every agent file of `dir`. A directory symlink is resolved
    /// once, so a swap of it is read wholly before or wholly after.
    pub fn read(dir: &Path) -> Result<RulesSnapshot, RulesError> {
        let read_dir = |source| RulesError::ReadDir {
            path: dir.to_owned(),
            source,
        };
        let real = std::fs::canonicalize(dir).map_err(read_dir)?;
        let mut files = Vec::new();
        for real_path in toml_files(&real).map_err(read_dir)? {
            let path = dir.join(real_path.file_name().unwrap_or_default());
            files.push(RulesFile::read(&real_path, path)?);
        }
        Ok(RulesSnapshot {
            dir: dir.to_owned(),
            files,
        })
    }

    /// A hash of the files' names and contents (not their times): what
    /// tells whether the rules changed.
    pub fn fingerprint(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for f in &self.files {
            let name = f.path.file_name().unwrap_or_default().as_encoded_bytes();
            h.update((name.len() as u64).to_be_bytes());
            h.update(name);
            h.update((f.text.len() as u64).to_be_bytes());
            h.update(&f.text);
        }
        h.finalize().into()
    }

    /// The names of the files that differ between two snapshots (added,
    /// removed, or with another size, time or content).
    pub fn changed_files(&self, other: &RulesSnapshot) -> Vec<String> {
        let name = |f: &RulesFile| {
            f.path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        };
        let mut changed: Vec<String> = self
            .files
            .iter()
            .filter(|f| !other.files.contains(f))
            .chain(other.files.iter().filter(|f| !self.files.contains(f)))
            .map(name)
            .collect();
        changed.sort();
        changed.dedup();
        changed
    }

    /// The databases the snapshot's agents name (to know which catalogs
    /// to load), compiling without a catalog.
    pub fn databases(&self, search_path: &[String]) -> Result<Vec<String>, RulesError> {
        Ok(RuleSet::load_snapshot(self, search_path, &HashMap::new())?.databases())
    }
}

impl RulesFile {
    fn read(real_path: &Path, path: PathBuf) -> Result<RulesFile, RulesError> {
        use std::io::Read;
        let failed = |source| RulesError::ReadFile {
            path: path.clone(),
            source,
        };
        let mut file = std::fs::File::open(real_path).map_err(failed)?;
        let meta = file.metadata().map_err(failed)?;
        let mut text = Vec::new();
        file.read_to_end(&mut text).map_err(failed)?;
        Ok(RulesFile {
            len: meta.len(),
            modified: meta.modified().ok(),
            text,
            path,
        })
    }
}

/// Lists the databases named in a rules directory without compiling it
/// (to know which catalogs to load).
pub fn databases_in(dir: &Path, search_path: &[String]) -> Result<Vec<String>, RulesError> {
    RulesSnapshot::read(dir)?.databases(search_path)
}

/// Parses one agent file and compiles its policy; `path` names it in
/// errors. `catalogs` holds the live catalogs by database (may be empty).
pub fn parse_agent(
    text: &str,
    path: &Path,
    search_path: &[String],
    catalogs: &HashMap<String, Arc<Catalog>>,
) -> Result<Agent, RulesError> {
    parse_agent_all(text, path, search_path, catalogs).map_err(|mut problems| {
        // parse_agent_all never fails with an empty list.
        problems.swap_remove(0)
    })
}

/// Like [`parse_agent`], reporting every problem the compiler finds rather
/// than the first (for `actgate check`). A file that does not parse has
/// one problem: the parse error.
pub fn parse_agent_all(
    text: &str,
    path: &Path,
    search_path: &[String],
    catalogs: &HashMap<String, Arc<Catalog>>,
) -> Result<Agent, Vec<RulesError>> {
    let raw: RawAgentFile = toml::from_str(text).map_err(|e| {
        vec![RulesError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
            location: e
                .span()
                .map(|s| crate::policy::compile::line_col(text, s.start)),
            brief: e.message().trim().to_owned(),
        }]
    })?;
    parse_raw_agent(raw, text, path, search_path, catalogs)
}

fn parse_raw_agent(
    raw: RawAgentFile,
    text: &str,
    path: &Path,
    search_path: &[String],
    catalogs: &HashMap<String, Arc<Catalog>>,
) -> Result<Agent, Vec<RulesError>> {
    let invalid = |message: String| {
        vec![RulesError::Invalid {
            path: path.to_owned(),
            message,
        }]
    };
    let a = raw.agent;
    if a.name.is_empty() || a.name.len() > 63 || a.name.contains('\0') {
        return Err(invalid(format!(
            "agent.name {:?} must be 1 to 63 bytes",
            a.name
        )));
    }
    if a.databases.is_empty() {
        return Err(invalid(format!(
            "agent {:?}: databases must name at least one database",
            a.name
        )));
    }
    let credential = match (a.auth.as_deref().unwrap_or("secret"), &a.secret_verifier) {
        ("secret", Some(v)) => Credential::ScramSecret(
            Verifier::parse(v)
                .map_err(|e| invalid(format!("agent {:?}: secret_verifier: {e}", a.name)))?,
        ),
        ("secret", None) => {
            return Err(invalid(format!(
                "agent {:?}: secret_verifier is required (or set auth = \"token\")",
                a.name
            )));
        }
        ("token", None) => Credential::Token,
        ("token", Some(_)) => {
            return Err(invalid(format!(
                "agent {:?}: auth = \"token\" takes no secret_verifier",
                a.name
            )));
        }
        (other, _) => {
            return Err(invalid(format!(
                "agent {:?}: auth {other:?}: expected \"secret\" or \"token\"",
                a.name
            )));
        }
    };
    // Tables must exist in one of the agent's databases.
    let merged = merge_catalogs(a.databases.iter().filter_map(|d| catalogs.get(d)));
    let rules = RawRules {
        policy: raw.policy,
        tables: raw.tables,
        schemas: raw.schemas,
        deny: raw.deny,
        rate_limits: raw.rate_limits,
        circuit_breaker: raw.circuit_breaker,
        approvals: raw.approvals,
    };
    let policy = compile_all(&a.name, &rules, text, path, search_path, merged.as_ref()).map_err(
        |problems| {
            problems
                .into_iter()
                .map(RulesError::Compile)
                .collect::<Vec<_>>()
        },
    )?;
    Ok(Agent {
        name: a.name,
        description: a.description,
        databases: a.databases,
        credential,
        source: path.to_owned(),
        policy: Arc::new(policy),
    })
}

fn merge_catalogs<'a>(catalogs: impl Iterator<Item = &'a Arc<Catalog>>) -> Option<Catalog> {
    let mut merged: Option<Catalog> = None;
    for c in catalogs {
        match &mut merged {
            None => merged = Some((**c).clone()),
            Some(m) => m.merge(c),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp() -> Vec<String> {
        vec!["public".to_string()]
    }

    fn verifier() -> String {
        Verifier::generate("pw")
    }

    #[test]
    fn agent_file_parses() {
        let text = format!(
            "[agent]\nname = \"bot\"\ndatabases = [\"shop\"]\nsecret_verifier = \"{}\"\n",
            verifier()
        );
        let a = parse_agent(&text, Path::new("bot.toml"), &sp(), &HashMap::new()).unwrap();
        assert_eq!(a.name, "bot");
        assert!(a.may_use_database("shop"));
        assert!(!a.may_use_database("postgres"));
    }

    #[test]
    fn unknown_key_names_file_and_line() {
        let text = format!(
            "[agent]\nname = \"bot\"\ndatabases = [\"shop\"]\nsecret_verifier = \"{}\"\nread_only-true = 1\n",
            verifier()
        );
        let e =
            parse_agent(&text, Path::new("rules/bot.toml"), &sp(), &HashMap::new()).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("rules/bot.toml"), "{msg}");
        assert!(msg.contains("line 5"), "{msg}");
        assert!(msg.contains("unknown field"), "{msg}");
    }

    #[test]
    fn bad_verifier_is_rejected() {
        let text = "[agent]\nname = \"bot\"\ndatabases = [\"shop\"]\nsecret_verifier = \"plain\"\n";
        assert!(parse_agent(text, Path::new("bot.toml"), &sp(), &HashMap::new()).is_err());
    }

    #[test]
    fn subdirectories_such_as_policy_tests_are_not_agent_files() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "[agent]\nname = \"bot\"\ndatabases = [\"shop\"]\nsecret_verifier = \"{}\"\n",
            verifier()
        );
        std::fs::write(dir.path().join("bot.toml"), text).unwrap();
        std::fs::create_dir(dir.path().join("tests")).unwrap();
        std::fs::write(dir.path().join("tests/bot.toml"), "[[case]]\n").unwrap();
        // Even a directory whose name looks like an agent file.
        std::fs::create_dir(dir.path().join("old.toml")).unwrap();
        assert_eq!(
            agent_files(dir.path()).unwrap(),
            [dir.path().join("bot.toml")]
        );
        let set = RuleSet::load_dir(dir.path(), &sp()).unwrap();
        assert_eq!(set.agents().count(), 1);
    }

    #[test]
    fn the_fingerprint_covers_visible_toml_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let fingerprint = || RulesSnapshot::read(dir.path()).unwrap().fingerprint();
        std::fs::write(dir.path().join("a.toml"), "x").unwrap();
        let one = fingerprint();
        std::fs::write(dir.path().join("notes.txt"), "y").unwrap();
        std::fs::create_dir(dir.path().join("tests")).unwrap();
        std::fs::write(dir.path().join("tests/t.toml"), "z").unwrap();
        // A publisher's file before its rename, and a temporary file.
        std::fs::write(dir.path().join(".b.toml"), "half").unwrap();
        std::fs::write(dir.path().join("b.toml.tmp"), "half").unwrap();
        assert_eq!(fingerprint(), one);
        std::fs::write(dir.path().join("a.toml"), "x2").unwrap();
        let two = fingerprint();
        assert_ne!(two, one);
        std::fs::rename(dir.path().join("a.toml"), dir.path().join("b.toml")).unwrap();
        assert_ne!(fingerprint(), two);
    }

    #[test]
    fn snapshots_tell_which_files_changed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), "a").unwrap();
        std::fs::write(dir.path().join("b.toml"), "b").unwrap();
        let before = RulesSnapshot::read(dir.path()).unwrap();
        assert_eq!(RulesSnapshot::read(dir.path()).unwrap(), before);
        std::fs::write(dir.path().join("b.toml"), "b, longer").unwrap();
        std::fs::write(dir.path().join("c.toml"), "c").unwrap();
        let after = RulesSnapshot::read(dir.path()).unwrap();
        assert_ne!(after, before);
        assert_eq!(before.changed_files(&after), ["b.toml", "c.toml"]);
        assert_eq!(after.files[0].path, dir.path().join("a.toml"));
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_symlink_is_read_through_and_named_as_configured() {
        let root = tempfile::tempdir().unwrap();
        let text = format!(
            "[agent]\nname = \"bot\"\ndatabases = [\"shop\"]\nsecret_verifier = \"{}\"\n",
            verifier()
        );
        let v1 = root.path().join("rules.v1");
        std::fs::create_dir(&v1).unwrap();
        std::fs::write(v1.join("bot.toml"), &text).unwrap();
        let link = root.path().join("rules");
        std::os::unix::fs::symlink(&v1, &link).unwrap();
        let snapshot = RulesSnapshot::read(&link).unwrap();
        assert_eq!(snapshot.files[0].path, link.join("bot.toml"));
        let set = RuleSet::load_snapshot(&snapshot, &sp(), &HashMap::new()).unwrap();
        assert_eq!(set.agent("bot").unwrap().source, link.join("bot.toml"));
    }

    #[test]
    fn duplicate_names_are_rejected() {
        let text = format!(
            "[agent]\nname = \"bot\"\ndatabases = [\"shop\"]\nsecret_verifier = \"{}\"\n",
            verifier()
        );
        let mut set = RuleSet::default();
        set.add(parse_agent(&text, Path::new("a.toml"), &sp(), &HashMap::new()).unwrap())
            .unwrap();
        let e = set
            .add(parse_agent(&text, Path::new("b.toml"), &sp(), &HashMap::new()).unwrap())
            .unwrap_err();
        assert!(matches!(e, RulesError::Duplicate { .. }));
    }
}
