use super::super::lift_tokenized;
use super::*;

/// The scanner either leaves `sql` to the tokenizer or cuts it exactly as
/// the tokenizer-based lift does.
fn agrees(sql: &str) -> bool {
    match scan(sql) {
        Scan::Sure(lifted) => {
            assert_eq!(
                lifted,
                lift_tokenized(sql),
                "the fast scanner cuts {sql:?} otherwise"
            );
            true
        }
        Scan::Unsure => false,
    }
}

#[test]
fn plain_statements_are_read_by_the_scanner_as_the_tokenizer_reads_them() {
    for sql in [
        "SELECT abalance FROM pgbench_accounts WHERE aid = 48213;",
        "SELECT 1",
        "",
        "SELECT a, b FROM t WHERE id = 42 AND name = 'O''Brien' AND x > 1.5",
        "select \"Order\".\"id\" from public.\"Order\" where \"Order\".total >= 10.25 limit 5",
        "UPDATE orders SET notes = 'it''s', total = total + 1 WHERE id = $1 AND owner = 7",
        "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y') RETURNING id",
        "DELETE FROM t WHERE id IN (1, 2, 3)",
        "SELECT t.* FROM t JOIN u ON u.id = t.u_id WHERE t.x <> 3 OR t.y != 4",
        "SELECT a::text, b[1] FROM t WHERE c || 'x' = 'yx' ORDER BY 1 DESC",
        "SELECT -5, 3 - 2, 4 * 2, 9 / 3, 7 % 2, 00012, 2147483647, 2147483648",
        "SELECT 'multi\nline', 'tab\there', 'é ü'",
        "SELECT 1 = 1",
        "SELECT 'a' = 'a'",
        "SELECT x FROM t WHERE 1 = -1",
        "SELECT\n\ta\nFROM\tt\nWHERE\tid = 1",
        "SELECT \"é\" FROM t WHERE a = 1",
    ] {
        assert!(agrees(sql), "{sql:?} should be within the scanner's subset");
    }
}

#[test]
fn anything_out_of_the_plain_subset_is_left_to_the_tokenizer() {
    for sql in [
        "SELECT 1 -- comment",
        "SELECT /* c */ 1",
        "SELECT E'a\\'b'",
        "SELECT e'x'",
        "SELECT U&'d\\0061t'",
        "SELECT U&\"x\"",
        "SELECT B'101', X'1F', N'x'",
        "SELECT $$x$$",
        "SELECT $tag$x$tag$",
        "SELECT 'a\\b'",
        "SELECT 'a'\n'b'",
        "SELECT 'a' 'b'",
        "SELECT 1e6, 1.5E-3",
        "SELECT 0x1F",
        "SELECT 1_000",
        "SELECT .5",
        "SELECT 5.",
        "SELECT 1.2.3",
        "SELECT 12abc",
        "SELECT t.1 FROM t",
        "SELECT t._a FROM t",
        "SELECT \"a\"\"b\" FROM t",
        "SELECT \"\" FROM t",
        "SELECT a FROM t WHERE b =-1",
        "SELECT a->>'k' FROM t",
        "SELECT a @> b FROM t",
        "SELECT ?",
        "SELECT :name",
        "SELECT a:::b",
        "SELECT a$b FROM t",
        "SELECT é FROM t",
        "SELECT 1\r\n",
        "SELECT 'x\u{1}'",
        "SELECT \u{2}",
        "SELECT * FROM t WHERE a |/ 2",
        "SELECT 'unterminated",
        "SELECT \"unterminated",
        "SELECT $1abc",
        "SELECT `x`",
        "COPY orders FROM STDIN;\nCREATE ROLE evil SUPERUSER",
        "copy t from stdin; 1",
    ] {
        assert!(!agrees(sql), "{sql:?} should be left to the tokenizer");
    }
}

/// A deterministic generator of texts made of the pieces where scanners
/// go wrong, each compared with the tokenizer-based lift.
#[test]
fn generated_texts_are_cut_as_the_tokenizer_cuts_them_or_left_to_it() {
    const PIECES: &[&str] = &[
        " ",
        "\n",
        "\t",
        "\r",
        "'",
        "''",
        "\"",
        "1",
        "0",
        "42",
        "2147483648",
        ".",
        "5",
        "e",
        "E",
        "x",
        "U",
        "&",
        "$",
        "$1",
        "_",
        "a",
        "t",
        "SELECT",
        "=",
        "-",
        "+",
        "*",
        "/",
        "<",
        ">",
        "!",
        "|",
        "::",
        ":",
        "(",
        ")",
        ",",
        ";",
        "[",
        "]",
        "\\",
        "é",
        "--",
        "/*",
        "*/",
        "%",
        "@",
        "#",
        "?",
        "~",
        "^",
        "'a'",
        "'it''s'",
        "1.5",
        "\"x\"",
        "$2",
        " = ",
        "WHERE",
        "b",
        "COPY ",
        "FROM ",
        "STDIN",
        "stdin",
    ];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut sure, mut total) = (0, 0);
    for _ in 0..200_000 {
        let n = 1 + (next() % 12) as usize;
        let sql: String = (0..n)
            .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
            .collect();
        total += 1;
        if agrees(&sql) {
            sure += 1;
        }
    }
    // The generator reaches both sides of the subset.
    assert!(
        sure > total / 20 && sure < total,
        "{sure} of {total} within the subset"
    );
}

#[test]
fn the_operator_characters_are_postgresqls() {
    // scan.l: op_chars [\~\!\@\#\^\&\|\`\?\+\-\*\/\%\<\>\=]
    let op_chars = b"~!@#^&|`?+-*/%<>=";
    for b in 0..=u8::MAX {
        assert_eq!(
            is_operator_char(b),
            op_chars.contains(&b),
            "{:?}",
            b as char
        );
    }
}

#[test]
fn the_word_table_is_the_word_characters() {
    for b in 0..=u8::MAX {
        assert_eq!(
            is_word_char(b),
            b.is_ascii_alphanumeric() || b == b'_',
            "byte {b}"
        );
    }
}

#[test]
fn integers_are_told_from_big_integers_at_the_int4_boundary() {
    for (n, kind) in [
        ("0", Kind::Integer),
        ("999999999", Kind::Integer),
        ("000000000001", Kind::Integer),
        ("2147483647", Kind::Integer),
        ("2147483648", Kind::BigInteger),
        ("9999999999", Kind::BigInteger),
        ("99999999999999999999999", Kind::BigInteger),
    ] {
        assert_eq!(number_kind(n), Some(kind), "{n}");
    }
}
