//! PostgreSQL's text form of a one-dimensional array (`{42,"a b",NULL}`),
//! read the way `array_in` reads it, for the Bind-time check of
//! `col = ANY($n)`. Pure.
//!
//! Fail closed: anything this reader is not sure PostgreSQL reads the same
//! way is `None` — dimension decorations (`[1:2]={…}`), nested braces
//! (several dimensions), a quote anywhere but at the start of an element,
//! empty elements, text after the closing brace.

/// The elements of a one-dimensional array in text form, `None` for a NULL
/// element; `None` overall when the text is not such an array (or uses a
/// form this reader does not accept).
pub fn parse_text_array(text: &str) -> Option<Vec<Option<String>>> {
    let mut chars = text.chars().peekable();
    skip_space(&mut chars);
    if chars.next()? != '{' {
        return None;
    }
    let mut elements = Vec::new();
    skip_space(&mut chars);
    if chars.peek() == Some(&'}') {
        chars.next();
        return end(chars).then_some(elements);
    }
    loop {
        skip_space(&mut chars);
        let element = match chars.peek()? {
            '"' => {
                chars.next();
                Some(quoted(&mut chars)?)
            }
            '{' | '}' | ',' => return None,
            _ => unquoted(&mut chars)?,
        };
        elements.push(element);
        skip_space(&mut chars);
        match chars.next()? {
            ',' => {}
            '}' => return end(chars).then_some(elements),
            _ => return None,
        }
    }
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// The whitespace `array_in` skips (`array_isspace`).
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{0b}' | '\u{0c}')
}

fn skip_space(chars: &mut Chars<'_>) {
    while chars.peek().is_some_and(|c| is_space(*c)) {
        chars.next();
    }
}

/// Only whitespace may follow the closing brace.
fn end(mut chars: Chars<'_>) -> bool {
    skip_space(&mut chars);
    chars.next().is_none()
}

/// A double-quoted element, after its opening quote: backslash escapes
/// the next character; the closing quote must be followed by whitespace
/// and a delimiter (checked by the caller).
fn quoted(chars: &mut Chars<'_>) -> Option<String> {
    let mut out = String::new();
    loop {
        match chars.next()? {
            '\\' => out.push(chars.next()?),
            '"' => return Some(out),
            c => out.push(c),
        }
    }
}

/// An unquoted element, up to the next delimiter or closing brace:
/// backslash escapes the next character, trailing unescaped whitespace is
/// dropped, and an unescaped `NULL` (any case) is the null value. Quotes
/// and braces inside are refused.
fn unquoted(chars: &mut Chars<'_>) -> Option<Option<String>> {
    let mut out = String::new();
    // Length of `out` up to its last character that is not droppable
    // trailing whitespace.
    let mut kept = 0;
    let mut escaped = false;
    while let Some(&c) = chars.peek() {
        match c {
            ',' | '}' => break,
            '"' | '{' => return None,
            '\\' => {
                chars.next();
                out.push(chars.next()?);
                kept = out.len();
                escaped = true;
                continue;
            }
            _ => {
                out.push(c);
                if !is_space(c) {
                    kept = out.len();
                }
            }
        }
        chars.next();
    }
    out.truncate(kept);
    if out.is_empty() {
        return None;
    }
    if !escaped && out.eq_ignore_ascii_case("null") {
        return Some(None);
    }
    Some(Some(out))
}

#[cfg(test)]
mod tests {
    use super::parse_text_array;

    fn some(v: &[&str]) -> Option<Vec<Option<String>>> {
        Some(v.iter().map(|s| Some(s.to_string())).collect())
    }

    #[test]
    fn plain_arrays() {
        assert_eq!(parse_text_array("{42}"), some(&["42"]));
        assert_eq!(parse_text_array("{42,43}"), some(&["42", "43"]));
        assert_eq!(parse_text_array(" { 42 , 43 } "), some(&["42", "43"]));
        assert_eq!(parse_text_array("{}"), Some(vec![]));
        assert_eq!(parse_text_array("{ }"), Some(vec![]));
        assert_eq!(parse_text_array("{a b}"), some(&["a b"]));
        assert_eq!(parse_text_array("{\t-7\n}"), some(&["-7"]));
    }

    #[test]
    fn quoting_and_escapes() {
        assert_eq!(parse_text_array(r#"{"42"}"#), some(&["42"]));
        assert_eq!(parse_text_array(r#"{"a,b","c}d"}"#), some(&["a,b", "c}d"]));
        assert_eq!(
            parse_text_array(r#"{"a\"b","c\\d"}"#),
            some(&[r#"a"b"#, r"c\d"])
        );
        assert_eq!(parse_text_array(r#"{" 42 "}"#), some(&[" 42 "]));
        assert_eq!(parse_text_array(r#"{"", "x" }"#), some(&["", "x"]));
        assert_eq!(parse_text_array(r"{a\,b}"), some(&["a,b"]));
        assert_eq!(parse_text_array(r"{a\ }"), some(&["a "]));
        assert_eq!(parse_text_array(r"{\{}"), some(&["{"]));
    }

    #[test]
    fn nulls() {
        assert_eq!(parse_text_array("{NULL}"), Some(vec![None]));
        assert_eq!(
            parse_text_array("{42,null,NuLl}"),
            Some(vec![Some("42".into()), None, None])
        );
        // Quoted or escaped, it is the string.
        assert_eq!(parse_text_array(r#"{"NULL"}"#), some(&["NULL"]));
        assert_eq!(parse_text_array(r"{\NULL}"), some(&["NULL"]));
        assert_eq!(parse_text_array("{NULLx}"), some(&["NULLx"]));
    }

    #[test]
    fn refused_forms() {
        for bad in [
            "",
            "42",
            "{",
            "{42",
            "{42,}",
            "{,42}",
            "{42,,43}",
            "{42}x",
            "{42} {43}",
            "{{42}}",
            "{{42},{43}}",
            "{42,{43}}",
            "[1:1]={42}",
            "[0:0]={43}",
            r#"{4"2"}"#,
            r#"{"4"2}"#,
            r#"{"42" 43}"#,
            r#"{"42}"#,
            r"{42\}",
            "{4{2}",
            "{}}",
            "{}{}",
        ] {
            assert_eq!(parse_text_array(bad), None, "{bad:?}");
        }
    }
}
