//! Query fingerprints: the statement text with literals replaced by `?`,
//! comments and whitespace dropped and keywords upper-cased, hashed. Two
//! statements that differ only in their values share a fingerprint.

use sha2::{Digest, Sha256};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer, Whitespace};

/// The normalised text of `sql`, or `None` if it does not tokenize.
pub fn normalise(sql: &str) -> Option<String> {
    scan(sql).map(|(text, _)| text)
}

/// The normalised text, and whether the statement contains comments (a
/// risk signal: comments are a way to hide or split keywords).
fn scan(sql: &str) -> Option<(String, bool)> {
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize().ok()?;
    let mut out = String::with_capacity(sql.len());
    let mut comments = false;
    for t in tokens {
        let piece = match &t {
            Token::Whitespace(
                Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_),
            ) => {
                comments = true;
                continue;
            }
            Token::Whitespace(_) => continue,
            Token::Number(..)
            | Token::SingleQuotedString(_)
            | Token::DollarQuotedString(_)
            | Token::NationalStringLiteral(_)
            | Token::EscapedStringLiteral(_)
            | Token::UnicodeStringLiteral(_)
            | Token::HexStringLiteral(_)
            | Token::SingleQuotedByteStringLiteral(_) => "?".to_owned(),
            Token::Word(w) if w.quote_style.is_none() => w.value.to_ascii_uppercase(),
            other => other.to_string(),
        };
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&piece);
    }
    Some((out, comments))
}

/// A short stable hash of the normalised text (of the raw text when it
/// does not tokenize).
pub fn fingerprint(sql: &str) -> String {
    fingerprint_and_comments(sql).0
}

/// [`fingerprint`], and whether `sql` contains comments.
pub fn fingerprint_and_comments(sql: &str) -> (String, bool) {
    let scanned = scan(sql);
    let text = scanned.as_ref().map(|(t, _)| t.as_str()).unwrap_or(sql);
    let digest = Sha256::digest(text.as_bytes());
    let hash = crate::hex::encode(&digest[..8]);
    (hash, scanned.is_some_and(|(_, c)| c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_comments_and_case_do_not_matter() {
        assert_eq!(
            fingerprint("select * from orders where id = 42 -- one"),
            fingerprint("SELECT *\n  FROM orders WHERE id = 7")
        );
        assert_eq!(
            normalise("select 'a', $$b$$, 1.5e3").unwrap(),
            "SELECT ? , ? , ?"
        );
    }

    #[test]
    fn comments_are_noticed() {
        assert!(fingerprint_and_comments("select 1 -- x").1);
        assert!(fingerprint_and_comments("sel/**/ect 1").1);
        assert!(!fingerprint_and_comments("select '-- not a comment', 1").1);
    }

    #[test]
    fn different_tables_differ() {
        assert_ne!(
            fingerprint("SELECT * FROM orders"),
            fingerprint("SELECT * FROM refunds")
        );
        assert_ne!(
            fingerprint("SELECT * FROM \"Orders\""),
            fingerprint("SELECT * FROM orders")
        );
    }
}
