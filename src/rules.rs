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
        let mut set = RuleSet::default();
        for path in agent_files(dir)? {
            let text = std::fs::read_to_string(&path).map_err(|source| RulesError::ReadFile {
                path: path.clone(),
                source,
            })?;
            set.add(parse_agent(&text, &path, search_path, catalogs)?)?;
        }
        if set.agents.is_empty() {
            return Err(RulesError::Empty {
                path: dir.to_owned(),
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

/// The `*.toml` files directly in `dir`, in name order.
pub fn toml_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file());
    files.sort();
    Ok(files)
}

/// Lists the databases named in a rules directory without compiling it
/// (to know which catalogs to load).
pub fn databases_in(dir: &Path, search_path: &[String]) -> Result<Vec<String>, RulesError> {
    Ok(RuleSet::load_dir(dir, search_path)?.databases())
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
