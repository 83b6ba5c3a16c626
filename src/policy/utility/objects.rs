//! DDL on objects that are no relation, in the forms sqlparser does not
//! read: objects of the cluster or the whole database (subscriptions,
//! servers, foreign-data wrappers, user mappings, tablespaces, event
//! triggers, languages, access methods, casts, large objects, `DROP` and
//! `REASSIGN OWNED`), refused by a built-in rule whatever their options;
//! and schema objects in forms that carry no expression (conversions,
//! aggregates, text search objects, domains); and GRANT/REVOKE on large
//! objects, foreign-data wrappers, foreign servers and languages (refused).
//!
//! A form with an expression (`ALTER DOMAIN … ADD CONSTRAINT … CHECK`,
//! `SET DEFAULT`) is not claimed here: it stays sqlparser's, which refuses
//! it, so a function call can never hide in a hand-read statement.

use super::{Utility, fail, is};
use sqlparser::tokenizer::Token;

/// Claims `verb rest…` when it is one of this module's statements.
pub(super) fn claim(verb: &str, rest: &[Token]) -> Option<Result<Utility, String>> {
    let words: Vec<String> = rest.iter().take(4).map_while(super::keyword).collect();
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let cluster = |used: usize| Some(named(&rest[used..]).map(|_| Utility::ClusterObject));
    match (verb, w.as_slice()) {
        (_, ["SUBSCRIPTION", ..]) if verb != "REASSIGN" => Some(subscription(verb, &rest[1..])),
        ("ALTER" | "DROP", ["SERVER", ..]) => cluster(1),
        ("ALTER" | "DROP", ["FOREIGN", "DATA", "WRAPPER", ..]) => cluster(3),
        ("ALTER" | "DROP", ["USER", "MAPPING", ..]) => cluster(2),
        ("CREATE" | "ALTER" | "DROP", ["EVENT", "TRIGGER", ..]) => cluster(2),
        ("CREATE" | "ALTER" | "DROP", ["TABLESPACE", ..]) => cluster(1),
        ("ALTER" | "DROP", ["LANGUAGE", ..]) => cluster(1),
        ("DROP", ["PROCEDURAL", "LANGUAGE", ..]) => cluster(2),
        ("CREATE" | "DROP", ["ACCESS", "METHOD", ..]) => cluster(2),
        ("CREATE" | "DROP", ["CAST", ..]) => cluster(1),
        ("ALTER", ["LARGE", "OBJECT", ..]) => cluster(2),
        ("DROP" | "REASSIGN", ["OWNED", "BY", ..]) => cluster(2),
        ("ALTER", ["CONVERSION", ..]) => Some(alter_common(&rest[1..])),
        ("DROP", ["CONVERSION", ..]) => Some(drop_names(&rest[1..], false)),
        ("DROP", ["AGGREGATE", ..]) => Some(drop_names(&rest[1..], true)),
        ("DROP", ["TEXT", "SEARCH", kind, ..])
            if ["PARSER", "DICTIONARY", "TEMPLATE", "CONFIGURATION"].contains(kind) =>
        {
            Some(drop_names(&rest[3..], false))
        }
        ("ALTER", ["DOMAIN", ..]) => alter_domain(&rest[1..]),
        _ => claim_more(verb, &w, rest),
    }
}

/// The statements of [`claim`] added since issue 14's operators group.
fn claim_more(verb: &str, w: &[&str], rest: &[Token]) -> Option<Result<Utility, String>> {
    let cluster = |used: usize| Some(named(&rest[used..]).map(|_| Utility::ClusterObject));
    match (verb, w) {
        // Security labels feed a label provider's access control, and a
        // foreign schema's tables come from a foreign server: refused.
        ("SECURITY", ["LABEL", ..]) => cluster(1),
        ("IMPORT", ["FOREIGN", "SCHEMA", ..]) => cluster(2),
        ("CREATE", ["LANGUAGE", ..]) => cluster(1),
        ("CREATE", ["TRUSTED" | "PROCEDURAL", "LANGUAGE", ..]) => cluster(2),
        ("CREATE", ["TRUSTED", "PROCEDURAL", "LANGUAGE", ..]) => cluster(3),
        ("CREATE", ["OR", "REPLACE", "LANGUAGE" | "TRANSFORM", ..]) => cluster(3),
        ("CREATE" | "DROP", ["TRANSFORM", ..]) => cluster(1),
        // A conversion's function runs whenever a client's encoding is
        // converted: database-wide, like a cast.
        ("CREATE", ["CONVERSION", ..]) => cluster(1),
        ("CREATE", ["DEFAULT", "CONVERSION", ..]) => cluster(2),
        ("DROP", ["DATABASE", ..]) => cluster(1),
        ("CREATE", ["USER", second, ..]) if *second != "MAPPING" => Some(role(&rest[1..])),
        ("CREATE", ["ROLE" | "GROUP", ..]) => Some(role(&rest[1..])),
        ("ALTER", ["GROUP", ..]) => Some(role(&rest[1..])),
        ("ALTER", ["TEXT", "SEARCH", "CONFIGURATION", ..]) => ts_mapping(&rest[3..]),
        _ => None,
    }
}

/// `name [WITH] option …` of a role statement, or `ALTER GROUP`'s `name
/// {ADD | DROP} USER name, …`: words, strings, numbers, commas and a
/// minus sign (`CONNECTION LIMIT -1`), never an expression.
fn role(t: &[Token]) -> Result<Utility, String> {
    let Some((Token::Word(_), rest)) = t.split_first() else {
        return fail("a role name", t);
    };
    match rest.iter().find(|t| {
        !matches!(
            t,
            Token::Word(_)
                | Token::SingleQuotedString(_)
                | Token::Number(..)
                | Token::Comma
                | Token::Minus
        )
    }) {
        Some(bad) => fail("a role option", std::slice::from_ref(bad)),
        None => Ok(Utility::Role),
    }
}

/// `ALTER TEXT SEARCH CONFIGURATION name {ADD | ALTER | DROP} MAPPING …`:
/// token types and dictionaries, names only; `None` (left to sqlparser)
/// for the other actions.
fn ts_mapping(t: &[Token]) -> Option<Result<Utility, String>> {
    let n = name(t)?;
    let t = &t[n..];
    let mapping =
        ["ADD", "ALTER", "DROP"].iter().any(|k| is(t.first(), k)) && is(t.get(1), "MAPPING");
    if !mapping {
        return None;
    }
    let names_only = t[2..]
        .iter()
        .all(|t| matches!(t, Token::Word(_) | Token::Comma | Token::Period));
    Some(if names_only {
        Ok(Utility::SchemaObject { ownership: false })
    } else {
        fail("token types and dictionaries", &t[2..])
    })
}

/// At least a name follows (the rest is the refused statement's options).
fn named(t: &[Token]) -> Result<(), String> {
    match t.first() {
        Some(Token::Word(_) | Token::LParen | Token::Number(..)) => Ok(()),
        _ => fail("a name", t),
    }
}

/// gram.y's `CreateSubscriptionStmt`, `AlterSubscriptionStmt` and
/// `DropSubscriptionStmt` after `SUBSCRIPTION`, read as far as their shape.
fn subscription(verb: &str, t: &[Token]) -> Result<Utility, String> {
    let t = match verb {
        "DROP" if is(t.first(), "IF") && is(t.get(1), "EXISTS") => &t[2..],
        _ => t,
    };
    let Some((Token::Word(_), rest)) = t.split_first() else {
        return fail("a subscription name", t);
    };
    let ok = match verb {
        "CREATE" => is(rest.first(), "CONNECTION"),
        "DROP" => drop_behaviour(rest),
        _ => [
            "CONNECTION",
            "SET",
            "ADD",
            "DROP",
            "REFRESH",
            "ENABLE",
            "DISABLE",
            "SKIP",
            "OWNER",
            "RENAME",
        ]
        .iter()
        .any(|k| is(rest.first(), k)),
    };
    if !ok {
        return fail("a subscription clause", rest);
    }
    Ok(Utility::ClusterObject)
}

/// Nothing, `CASCADE` or `RESTRICT`.
fn drop_behaviour(t: &[Token]) -> bool {
    match t {
        [] => true,
        [w] => is(Some(w), "CASCADE") || is(Some(w), "RESTRICT"),
        _ => false,
    }
}

/// A possibly qualified name: how many tokens it takes.
fn name(t: &[Token]) -> Option<usize> {
    let mut i = 0;
    loop {
        if !matches!(t.get(i), Some(Token::Word(_))) {
            return None;
        }
        i += 1;
        if !matches!(t.get(i), Some(Token::Period)) {
            return Some(i);
        }
        i += 1;
    }
}

/// `name {RENAME TO new | OWNER TO role | SET SCHEMA schema}`.
fn alter_common(t: &[Token]) -> Result<Utility, String> {
    let Some(n) = name(t) else {
        return fail("a name", t);
    };
    common_action(&t[n..]).unwrap_or_else(|| fail("RENAME TO, OWNER TO or SET SCHEMA", &t[n..]))
}

/// `RENAME TO new`, `OWNER TO role`, `SET SCHEMA schema`; `None` when the
/// tokens are none of them.
fn common_action(t: &[Token]) -> Option<Result<Utility, String>> {
    let single = matches!(t.get(2), Some(Token::Word(_))) && t.len() == 3;
    let ownership = is(t.first(), "OWNER") && is(t.get(1), "TO");
    let other = (is(t.first(), "RENAME") && is(t.get(1), "TO"))
        || (is(t.first(), "SET") && is(t.get(1), "SCHEMA"));
    (single && (ownership || other)).then_some(Ok(Utility::SchemaObject { ownership }))
}

/// `[IF EXISTS] name [(types)] [, …] [CASCADE | RESTRICT]`; the
/// parenthesised argument types only when `signature`.
fn drop_names(t: &[Token], signature: bool) -> Result<Utility, String> {
    let mut t = if is(t.first(), "IF") && is(t.get(1), "EXISTS") {
        &t[2..]
    } else {
        t
    };
    loop {
        let Some(n) = name(t) else {
            return fail("a name", t);
        };
        t = &t[n..];
        if signature {
            t = types(t)?;
        }
        match t.first() {
            Some(Token::Comma) => t = &t[1..],
            _ if drop_behaviour(t) => return Ok(Utility::SchemaObject { ownership: false }),
            _ => return fail("a comma, CASCADE or RESTRICT", t),
        }
    }
}

/// `( type, … )` of an aggregate signature: words, numbers, dots, commas,
/// brackets and `*`, never an expression.
fn types(t: &[Token]) -> Result<&[Token], String> {
    if !matches!(t.first(), Some(Token::LParen)) {
        return fail("an argument list", t);
    }
    let mut depth = 0usize;
    for (i, tok) in t.iter().enumerate() {
        match tok {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth -= 1;
                if depth == 0 {
                    return Ok(&t[i + 1..]);
                }
            }
            Token::Word(_)
            | Token::Number(..)
            | Token::Comma
            | Token::Period
            | Token::Mul
            | Token::LBracket
            | Token::RBracket => {}
            _ => return fail("an argument type", &t[i..]),
        }
    }
    fail("')'", &[])
}

/// `ALTER DOMAIN name` in the forms without an expression; `None` (left
/// to sqlparser) for the others.
fn alter_domain(t: &[Token]) -> Option<Result<Utility, String>> {
    let n = name(t)?;
    let t = &t[n..];
    if let Some(r) = common_action(t) {
        return Some(r);
    }
    let words: Vec<String> = t.iter().map_while(super::keyword).collect();
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let all_words = words.len() == t.len();
    let ok = all_words
        && match w.as_slice() {
            ["SET", "NOT", "NULL"] | ["DROP", "NOT", "NULL"] | ["DROP", "DEFAULT"] => true,
            ["VALIDATE", "CONSTRAINT", _] => true,
            ["RENAME", "CONSTRAINT", _, "TO", _] => true,
            ["DROP", "CONSTRAINT", rest @ ..] => {
                let rest = match rest {
                    ["IF", "EXISTS", rest @ ..] => rest,
                    _ => rest,
                };
                matches!(rest, [_] | [_, "CASCADE" | "RESTRICT"])
            }
            _ => false,
        };
    ok.then_some(Ok(Utility::SchemaObject { ownership: false }))
}

/// `GRANT`/`REVOKE privileges ON {LARGE OBJECT | FOREIGN DATA WRAPPER |
/// FOREIGN SERVER | LANGUAGE} …`; `None` for every other object (left to
/// sqlparser).
pub(super) fn grant(rest: &[Token]) -> Option<Result<Utility, String>> {
    // The privileges name no object of these kinds: the first ON starts
    // the object.
    let on = rest.iter().position(|t| is(Some(t), "ON"))?;
    let words: Vec<String> = rest[on + 1..]
        .iter()
        .take(3)
        .map_while(super::keyword)
        .collect();
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let used = match w.as_slice() {
        ["LARGE", "OBJECT", ..] | ["FOREIGN", "SERVER", ..] => 2,
        ["FOREIGN", "DATA", "WRAPPER"] => 3,
        ["LANGUAGE", ..] => 1,
        ["TYPE" | "DOMAIN", ..] => return schema_grant(&rest[on + 2..]),
        _ => return None,
    };
    let target = &rest[on + 1 + used..];
    let ok = !target.is_empty()
        && target
            .iter()
            .any(|t| is(Some(t), "TO") || is(Some(t), "FROM"));
    Some(if ok {
        Ok(Utility::ClusterGrant)
    } else {
        fail("an object and TO or FROM", target)
    })
}

/// `… ON {TYPE | DOMAIN} name, … {TO | FROM} roles …`: the names and
/// roles are words, periods and commas (`GRANT OPTION FOR`, `WITH GRANT
/// OPTION`, `GRANTED BY`, `CASCADE` are words too).
fn schema_grant(t: &[Token]) -> Option<Result<Utility, String>> {
    let ok = t.iter().any(|t| is(Some(t), "TO") || is(Some(t), "FROM"))
        && t.iter()
            .all(|t| matches!(t, Token::Word(_) | Token::Comma | Token::Period));
    Some(if ok {
        Ok(Utility::SchemaGrant)
    } else {
        fail("a type and TO or FROM", t)
    })
}
