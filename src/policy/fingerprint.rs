//! Query fingerprints: the statement text with literals replaced by `?`,
//! comments and whitespace dropped and keywords upper-cased, hashed. Two
//! statements that differ only in their values share a fingerprint.

use sha2::{Digest, Sha256};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

/// The normalised text of `sql`, or `None` if it does not tokenize.
pub fn normalise(sql: &str) -> Option<String> {
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize().ok()?;
    let mut out = String::with_capacity(sql.len());
    for t in tokens {
        let piece = match &t {
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
    Some(out)
}

/// A short stable hash of the normalised text (of the raw text when it
/// does not tokenize).
pub fn fingerprint(sql: &str) -> String {
    let text = normalise(sql);
    let digest = Sha256::digest(text.as_deref().unwrap_or(sql).as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
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
