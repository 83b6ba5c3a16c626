//! The corpus: every `*.sql` file of a directory split into statements
//! with PostgreSQL's scanner, kept if PostgreSQL's parser accepts them,
//! deduplicated.

use pg_query::NodeEnum;
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

/// One distinct statement PostgreSQL's parser accepts.
pub struct Statement {
    pub sql: String,
    /// The first file it was found in.
    pub file: String,
    /// pg_query's node name of the statement (`SelectStmt`, `CreateStmt`, …).
    pub kind: String,
}

impl Statement {
    /// SELECT (with or without WITH, set operations, VALUES), INSERT,
    /// UPDATE and DELETE: what the subset counts.
    pub fn is_dml(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "SelectStmt" | "InsertStmt" | "UpdateStmt" | "DeleteStmt"
        )
    }
}

/// The corpus and what the allow-everything agent needs to know about it.
#[derive(Default)]
pub struct Corpus {
    pub files: usize,
    /// Statement texts the scanner split out, duplicates included.
    pub split: usize,
    /// Of those, the ones PostgreSQL's parser rejects (the regression
    /// tests' deliberate errors, psql meta-commands, COPY data).
    pub rejected: usize,
    pub statements: Vec<Statement>,
    /// Schemas named in a relation, a function or a `SET` (from pg_query).
    pub schemas: BTreeSet<String>,
    /// Functions called, as pg_query names them (`f` or `s.f`).
    pub functions: BTreeSet<String>,
    /// Settings `SET`/`RESET`/`SET LOCAL` name.
    pub settings: BTreeSet<String>,
    /// Pieces of files the scanner could not split as a whole (see [`split`]).
    pub scanner_fallbacks: usize,
}

/// `piece` without the whitespace and comments before its first token
/// (the regression files comment every statement; two copies of a statement
/// under different comments are one statement).
fn strip_leading_comments(mut piece: &str) -> &str {
    loop {
        piece = piece.trim_start();
        if let Some(rest) = piece.strip_prefix("--") {
            piece = rest.split_once('\n').map_or("", |(_, after)| after);
        } else if piece.starts_with("/*") {
            // PostgreSQL's block comments nest.
            let mut depth = 0usize;
            let mut end = piece.len();
            let bytes = piece.as_bytes();
            let mut i = 0;
            while i + 1 < bytes.len() {
                match &bytes[i..i + 2] {
                    b"/*" => {
                        depth += 1;
                        i += 2;
                    }
                    b"*/" => {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => i += 1,
                }
            }
            piece = &piece[end..];
        } else {
            return piece;
        }
    }
}

/// Splits a file with PostgreSQL's scanner. A file with a token the
/// scanner rejects (`numerology.sql`'s `123a`) is cut at every `;` that ends
/// a line first, and the pieces the scanner rejects are left out (a cut
/// inside a function body leaves pieces the parser rejects).
fn split<'a>(text: &'a str, fallbacks: &mut usize) -> Vec<&'a str> {
    if let Ok(pieces) = pg_query::split_with_scanner(text) {
        return pieces;
    }
    let mut pieces = Vec::new();
    for chunk in text.split_inclusive(";\n") {
        *fallbacks += 1;
        if let Ok(p) = pg_query::split_with_scanner(chunk) {
            pieces.extend(p);
        }
    }
    pieces
}

/// Reads `dir/*.sql` in name order.
pub fn load(dir: &Path) -> Result<Corpus, String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(format!(
            "{}: no *.sql files (run tools/grammar-coverage/fetch-corpus.sh)",
            dir.display()
        ));
    }
    let mut corpus = Corpus::default();
    let mut seen = HashSet::new();
    for path in &paths {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let text = String::from_utf8_lossy(&bytes).replace('\0', "");
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        corpus.files += 1;
        for piece in split(&text, &mut corpus.scanner_fallbacks) {
            let sql = strip_leading_comments(piece).trim_end();
            if sql.is_empty() {
                continue;
            }
            corpus.split += 1;
            if !seen.insert(sql.to_owned()) {
                continue;
            }
            match pg_query::parse(sql, pg_query::ParserOptions::DEFAULT) {
                Ok(parsed) if parsed.protobuf.stmts.len() == 1 => {
                    corpus.note(&parsed);
                    corpus.statements.push(Statement {
                        sql: sql.to_owned(),
                        file: file.clone(),
                        kind: kind(&parsed),
                    });
                }
                _ => corpus.rejected += 1,
            }
        }
    }
    Ok(corpus)
}

impl Corpus {
    /// Records the schemas, functions and settings a statement names.
    fn note(&mut self, parsed: &pg_query::ParseResult) {
        for t in parsed.tables() {
            if let Some((schema, _)) = t.rsplit_once('.') {
                self.schemas.insert(schema.to_owned());
            }
        }
        for f in parsed.functions() {
            if let Some((schema, _)) = f.rsplit_once('.') {
                self.schemas.insert(schema.to_owned());
            }
            self.functions.insert(f);
        }
        for (node, ..) in parsed.protobuf.nodes() {
            if let pg_query::NodeRef::VariableSetStmt(v) = node
                && !v.name.is_empty()
            {
                self.settings.insert(v.name.to_ascii_lowercase());
            }
        }
    }
}

/// The statement's node name, from its protobuf tree.
fn kind(parsed: &pg_query::ParseResult) -> String {
    let node = parsed
        .protobuf
        .stmts
        .first()
        .and_then(|s| s.stmt.as_ref())
        .and_then(|s| s.node.as_ref());
    match node {
        Some(NodeEnum::SelectStmt(_)) => "SelectStmt".into(),
        Some(NodeEnum::InsertStmt(_)) => "InsertStmt".into(),
        Some(NodeEnum::UpdateStmt(_)) => "UpdateStmt".into(),
        Some(NodeEnum::DeleteStmt(_)) => "DeleteStmt".into(),
        Some(NodeEnum::MergeStmt(_)) => "MergeStmt".into(),
        Some(_) if !parsed.statement_types().is_empty() => parsed.statement_types()[0].to_owned(),
        Some(n) => {
            // `CreateStmt(CreateStmt { … })`: the variant's name.
            let debug = format!("{n:?}");
            debug
                .split(|c: char| !c.is_alphanumeric())
                .next()
                .unwrap_or("Other")
                .to_owned()
        }
        None => "Other".into(),
    }
}
