//! The rules reference (docs/rules.md) cannot go stale: every TOML example
//! in it loads with actgate's own rules loader (the one `actgate explain`
//! uses without a database), and every key the loader accepts is named on
//! the page and used in an example.
//!
//! Fences by info string:
//! - `toml`: a whole rules file, loaded as it is;
//! - `toml fragment`: part of one, loaded after [`FRAGMENT_AGENT`];
//! - `... rejected`: must fail to load, with the error its `# error: TEXT`
//!   line names.
//!
//! In README.md only fences whose info string has the word `rules`
//! (`toml rules`, `toml rules fragment`) are checked: the README also shows
//! actgate.toml snippets and abbreviated files.

use actgate::rules::RuleSet;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Put in front of a fragment to make it a whole agent file.
const FRAGMENT_AGENT: &str =
    "[agent]\nname = \"docs-example\"\ndatabases = [\"shop\"]\nauth = \"token\"\n\n";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// One fenced code block.
#[derive(Debug)]
struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    info: Vec<String>,
    text: String,
}

/// Every top-level fenced block of a Markdown text.
fn fenced_blocks(markdown: &str, file: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    // (line, fence length, info words, text) of the open block.
    let mut open: Option<(usize, usize, Vec<String>, String)> = None;
    for (i, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        let ticks = trimmed.chars().take_while(|&c| c == '`').count();
        match &mut open {
            None if ticks >= 3 => {
                let info = &trimmed[ticks..];
                open = Some((
                    i + 1,
                    ticks,
                    info.split_whitespace().map(str::to_owned).collect(),
                    String::new(),
                ));
            }
            None => {}
            Some((start, fence, info, text)) => {
                if ticks >= *fence && trimmed[ticks..].trim().is_empty() {
                    blocks.push(Block {
                        line: *start,
                        info: std::mem::take(info),
                        text: std::mem::take(text),
                    });
                    open = None;
                } else {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
    }
    assert!(
        open.is_none(),
        "{file}: the code block opened at line {} is never closed",
        open.map(|o| o.0).unwrap_or_default()
    );
    blocks
}

/// How a checked block is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Whole,
    Fragment,
}

/// A block to load: where it is, how, and whether it must load.
struct Example<'a> {
    file: &'static str,
    block: &'a Block,
    kind: Kind,
    rejected: bool,
}

impl Example<'_> {
    fn file_text(&self) -> String {
        match self.kind {
            Kind::Whole => self.block.text.clone(),
            Kind::Fragment => format!("{FRAGMENT_AGENT}{}", self.block.text),
        }
    }
}

/// Sorts blocks into examples; panics on a toml block of unknown kind.
fn examples<'a>(file: &'static str, blocks: &'a [Block], only_marked: bool) -> Vec<Example<'a>> {
    let mut out = Vec::new();
    for block in blocks {
        if block.info.first().map(String::as_str) != Some("toml") {
            continue;
        }
        let words: BTreeSet<&str> = block.info[1..].iter().map(String::as_str).collect();
        if only_marked && !words.contains("rules") {
            continue;
        }
        let unknown: Vec<&&str> = words
            .iter()
            .filter(|w| !["rules", "fragment", "rejected"].contains(w))
            .collect();
        assert!(
            unknown.is_empty(),
            "{file}:{}: unknown word(s) {unknown:?} in the info string; use `toml`, `toml fragment` \
             or `toml fragment rejected`",
            block.line
        );
        let kind = if words.contains("fragment") {
            Kind::Fragment
        } else {
            Kind::Whole
        };
        if kind == Kind::Fragment {
            assert!(
                !block.text.lines().any(|l| l.trim() == "[agent]"),
                "{file}:{}: a fragment gets its [agent] table from the test; mark a block with \
                 [agent] as a whole file (```toml)",
                block.line
            );
        }
        out.push(Example {
            file,
            block,
            kind,
            rejected: words.contains("rejected"),
        });
    }
    out
}

/// Loads one example as the only file of a rules directory, the way
/// `actgate explain` loads rules without a database.
fn load(example: &Example<'_>) -> Result<RuleSet, String> {
    let dir = tempfile::tempdir().expect("temp rules dir");
    std::fs::write(dir.path().join("example.toml"), example.file_text()).expect("write example");
    RuleSet::load_dir(dir.path(), &["public".to_owned()]).map_err(|e| e.to_string())
}

/// Loads every example, collecting failures with the block's line.
fn check_examples(examples: &[Example<'_>]) -> Vec<String> {
    let mut failures = Vec::new();
    for ex in examples {
        let at = format!("{}:{}", ex.file, ex.block.line);
        match (load(ex), ex.rejected) {
            (Ok(set), false) => {
                let agents = set.agents().count();
                if agents != 1 {
                    failures.push(format!("{at}: loaded {agents} agents, expected 1"));
                }
            }
            (Err(e), false) => failures.push(format!(
                "{at}: this example does not load: {e}\n--- as loaded ---\n{}",
                ex.file_text()
            )),
            (Err(e), true) => {
                let expected = ex
                    .block
                    .text
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("# error: "));
                match expected {
                    None => failures.push(format!(
                        "{at}: a `rejected` example needs a `# error: TEXT` line naming the error"
                    )),
                    Some(want) if !e.contains(want) => failures.push(format!(
                        "{at}: rejected with {e:?}, which does not contain {want:?}"
                    )),
                    Some(_) => {}
                }
            }
            (Ok(_), true) => failures.push(format!(
                "{at}: this example is marked `rejected` but loads\n--- as loaded ---\n{}",
                ex.file_text()
            )),
        }
    }
    failures
}

#[test]
fn every_toml_example_in_the_rules_reference_loads() {
    let text = read("docs/rules.md");
    let blocks = fenced_blocks(&text, "docs/rules.md");
    let examples = examples("docs/rules.md", &blocks, false);
    let whole = examples.iter().filter(|e| e.kind == Kind::Whole).count();
    let fragments = examples.iter().filter(|e| e.kind == Kind::Fragment).count();
    let rejected = examples.iter().filter(|e| e.rejected).count();
    assert!(
        whole >= 1 && fragments >= 1 && rejected >= 1,
        "docs/rules.md should have whole-file, fragment and rejected examples; found {whole}, \
         {fragments}, {rejected}"
    );
    let failures = check_examples(&examples);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn marked_rules_examples_in_the_readme_load() {
    let text = read("README.md");
    let blocks = fenced_blocks(&text, "README.md");
    let examples = examples("README.md", &blocks, true);
    let failures = check_examples(&examples);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn fences_are_classified_as_documented() {
    let md = "a\n```toml\n[agent]\n```\n\n```toml fragment rejected\n[policy]\n```\n\
              ````sh\n```toml\n````\n```toml rules\nx = 1\n```\n";
    let blocks = fenced_blocks(md, "test.md");
    let lines: Vec<usize> = blocks.iter().map(|b| b.line).collect();
    assert_eq!(lines, [2, 6, 9, 12]);
    assert_eq!(
        blocks[2].text, "```toml\n",
        "a longer fence holds a shorter one"
    );
    let all = examples("test.md", &blocks, false);
    assert_eq!(all.len(), 3);
    assert_eq!(
        (all[1].kind, all[1].rejected),
        (Kind::Fragment, true),
        "fragment rejected"
    );
    let marked = examples("test.md", &blocks, true);
    assert_eq!(marked.len(), 1);
    assert_eq!(marked[0].block.line, 12);
}

#[test]
fn a_broken_example_is_reported_with_its_line() {
    let md = "intro\n\n```toml fragment\n[policy]\nstatements = [\"reed\"]\n```\n\
              ```toml fragment rejected\n# error: no such error\n[policy]\nmode = \"x\"\n```\n\
              ```toml fragment rejected\n# error: expected \"enforce\"\n[policy]\nmode = \"x\"\n```\n";
    let blocks = fenced_blocks(md, "docs/rules.md");
    let failures = check_examples(&examples("docs/rules.md", &blocks, false));
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(
        failures[0].starts_with("docs/rules.md:3: "),
        "{}",
        failures[0]
    );
    assert!(
        failures[0].contains("unknown statement class"),
        "{}",
        failures[0]
    );
    assert!(
        failures[1].starts_with("docs/rules.md:7: "),
        "{}",
        failures[1]
    );
    assert!(failures[1].contains("no such error"), "{}", failures[1]);
}

/// A `Raw*` struct of the rules loader: its keys and the types they hold.
#[derive(Debug)]
struct RawStruct {
    source: PathBuf,
    /// key → field type (as written).
    fields: Vec<(String, String)>,
    /// Types of `#[serde(flatten)]` fields, whose keys are this struct's.
    flattened: Vec<String>,
}

/// Every `struct Raw…` deriving `Deserialize` in a Rust source file.
fn raw_structs(path: &Path, out: &mut BTreeMap<String, RawStruct>) {
    let text = std::fs::read_to_string(path).expect("read source");
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        let name = line
            .strip_prefix("pub(crate) ")
            .or_else(|| line.strip_prefix("pub "))
            .unwrap_or(line)
            .strip_prefix("struct ")
            .and_then(|r| r.strip_suffix('{'))
            .map(str::trim)
            .filter(|n| n.starts_with("Raw"));
        let Some(name) = name else {
            i += 1;
            continue;
        };
        // Look back over the attributes for the derive.
        let derives = lines[..i]
            .iter()
            .rev()
            .take_while(|l| {
                let t = l.trim();
                t.starts_with("#[") || t.starts_with("///") || t.starts_with("//")
            })
            .any(|l| l.contains("derive(") && l.contains("Deserialize"));
        let mut fields = Vec::new();
        let mut flattened = Vec::new();
        let mut attrs = String::new();
        i += 1;
        while i < lines.len() && lines[i].trim() != "}" {
            let t = lines[i].trim();
            i += 1;
            if t.starts_with("//") || t.is_empty() {
                continue;
            }
            if t.starts_with("#[") {
                attrs.push_str(t);
                continue;
            }
            let field = t
                .trim_start_matches("pub(crate) ")
                .trim_start_matches("pub ");
            let Some((key, ty)) = field.split_once(':') else {
                panic!("{}: cannot read field line {t:?}", path.display());
            };
            let ty = ty.trim().trim_end_matches(',').to_owned();
            let attributes = std::mem::take(&mut attrs);
            if attributes.contains("skip") {
                continue;
            }
            if attributes.contains("flatten") {
                flattened.push(ty);
                continue;
            }
            let key = match attributes.split_once("rename = \"") {
                Some((_, rest)) => rest.split('"').next().unwrap_or_default().to_owned(),
                None => key.trim().to_owned(),
            };
            fields.push((key, ty));
        }
        if derives {
            let previous = out.insert(
                name.to_owned(),
                RawStruct {
                    source: path.to_owned(),
                    fields,
                    flattened,
                },
            );
            if let Some(p) = previous {
                panic!(
                    "two structs named {name} ({} and {}): the key scan cannot tell them apart",
                    p.source.display(),
                    path.display()
                );
            }
        }
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("src entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The `Raw…` type names in a field type (`Option<Vec<Spanned<RawX>>>`).
fn raw_types(ty: &str) -> Vec<String> {
    ty.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("Raw"))
        .map(str::to_owned)
        .collect()
}

/// Every key a rules file accepts, by the struct that declares it, found
/// by following field types from the file's root struct.
fn rules_keys() -> BTreeMap<String, Vec<String>> {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    // actgate.toml has Raw structs of its own (RawServer…): not rules keys.
    files.retain(|f| !f.ends_with("src/config.rs"));
    files.sort();
    let mut structs = BTreeMap::new();
    for f in &files {
        raw_structs(f, &mut structs);
    }
    let mut keys = BTreeMap::new();
    let mut todo = vec!["RawAgentFile".to_owned()];
    while let Some(name) = todo.pop() {
        if keys.contains_key(&name) {
            continue;
        }
        let s = structs.get(&name).unwrap_or_else(|| {
            panic!("struct {name} (a rules-file type) not found under src/ by the key scan")
        });
        let mut names = Vec::new();
        for (key, ty) in &s.fields {
            names.push(key.clone());
            todo.extend(raw_types(ty));
        }
        for ty in &s.flattened {
            todo.extend(raw_types(ty));
        }
        keys.insert(name, names);
    }
    keys
}

/// Whether a TOML text uses `key` as a key: a table header naming it, or
/// `key =` at the start of a line or inside an inline table.
fn uses_key(toml_text: &str, key: &str) -> bool {
    toml_text.lines().any(|line| {
        let t = line.trim();
        if t.starts_with('[') {
            let path = t.trim_matches(|c| c == '[' || c == ']');
            return path.split('.').next().map(str::trim) == Some(key);
        }
        let t = t.split('#').next().unwrap_or_default();
        t.match_indices(key).any(|(at, _)| {
            let before = t[..at].trim_end();
            let after = t[at + key.len()..].trim_start();
            (before.is_empty() || before.ends_with('{') || before.ends_with(','))
                && after.starts_with('=')
        })
    })
}

#[test]
fn every_rules_key_is_documented_and_shown() {
    let keys = rules_keys();
    let all: BTreeSet<&String> = keys.values().flatten().collect();
    // The scan must see the file's sections and some nested keys, or it
    // has silently stopped working.
    for expected in ["agent", "policy", "tables", "operations", "budget", "in"] {
        assert!(
            all.iter().any(|k| k.as_str() == expected),
            "the key scan of src/ no longer finds {expected:?}: {keys:?}"
        );
    }
    let doc = read("docs/rules.md");
    let blocks = fenced_blocks(&doc, "docs/rules.md");
    let examples: String = examples("docs/rules.md", &blocks, false)
        .iter()
        .filter(|e| !e.rejected)
        .map(|e| e.block.text.clone())
        .collect();
    let mut missing = Vec::new();
    for (owner, names) in &keys {
        for key in names {
            if !doc.contains(&format!("`{key}`")) {
                missing.push(format!(
                    "{owner}.{key}: not named as `{key}` in docs/rules.md"
                ));
            }
            if !uses_key(&examples, key) {
                missing.push(format!(
                    "{owner}.{key}: used in no loading example in docs/rules.md"
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "rules keys without docs:\n{}",
        missing.join("\n")
    );
}

#[test]
fn key_use_is_recognised_in_headers_lines_and_inline_tables() {
    let text = "[[rate_limits]]\nbudget = \"1/day\"\n[tables.orders]\n\
                limits = { amount = { min = 1, in = [\"a\"] } }\n# max = 3\n";
    for key in ["rate_limits", "budget", "tables", "limits", "min", "in"] {
        assert!(uses_key(text, key), "{key}");
    }
    for key in ["max", "orders", "amount_cents", "domain"] {
        assert!(!uses_key(text, key), "{key}");
    }
}
