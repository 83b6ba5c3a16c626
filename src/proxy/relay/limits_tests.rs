use super::*;

fn limit(max: u64, truncate: bool) -> RowLimit {
    RowLimit {
        max,
        truncate,
        rule: "agent.toml: tables.orders.max_rows".into(),
        undo: false,
        block: false,
    }
}

fn expect(portal: Option<&str>, limit: Option<RowLimit>) -> Expect {
    Expect {
        seq: 1,
        portal: portal.map(str::to_owned),
        limit,
        cap: None,
        guarded: false,
    }
}

fn passes(a: RowAction) -> bool {
    matches!(a, RowAction::Pass)
}

fn drops(a: RowAction) -> bool {
    matches!(a, RowAction::Drop)
}

#[test]
fn rows_of_an_unlimited_result_pass_uncounted() {
    let mut c = Counting::default();
    let e = expect(None, None);
    for _ in 0..5 {
        assert!(passes(c.data_row(&e)));
    }
    assert_eq!((c.rows, c.forwarded, c.result), (0, 0, ResultState::Within));
}

#[test]
fn rows_beyond_the_limit_are_dropped_and_mark_the_result_over() {
    let mut c = Counting::default();
    let e = expect(None, Some(limit(2, true)));
    assert!(passes(c.data_row(&e)));
    assert!(passes(c.data_row(&e)));
    assert_eq!(c.result, ResultState::Within);
    assert!(drops(c.data_row(&e)));
    assert!(drops(c.data_row(&e)));
    assert_eq!((c.rows, c.forwarded, c.result), (4, 2, ResultState::Over));
}

#[test]
fn a_portal_counts_its_rows_across_executes_separately_from_a_query() {
    let mut c = Counting::default();
    let e = expect(Some("p1"), Some(limit(2, false)));
    assert!(passes(c.data_row(&e)));
    assert!(passes(c.data_row(&e)));
    // The next Execute of the same portal continues its count.
    assert!(drops(c.data_row(&e)));
    assert_eq!(c.portal_rows.get("p1"), Some(&3));
    assert_eq!(c.rows, 0);
    let other = expect(Some("p2"), Some(limit(2, false)));
    c.result = ResultState::Within;
    assert!(passes(c.data_row(&other)));
    assert_eq!(c.portal_rows.get("p2"), Some(&1));
}

#[test]
fn completion_tags_give_and_take_their_row_counts() {
    assert_eq!(command_rows(b"UPDATE 12\0"), Some(12));
    assert_eq!(command_rows(b"INSERT 0 3\0"), Some(3));
    assert_eq!(command_rows(b"BEGIN\0"), None);
    assert_eq!(command_rows(b"UPDATE 12"), None);
    assert_eq!(retag(b"SELECT 250\0", 10), Some(b"SELECT 10\0".to_vec()));
    assert_eq!(retag(b"INSERT 0 3\0", 1), Some(b"INSERT 0 1\0".to_vec()));
    assert_eq!(retag(b"LISTEN\0", 1), None);
}

#[test]
fn a_truncated_result_ends_with_a_notice_and_a_recounted_completion() {
    let out = truncated(b"SELECT 250\0", 10, &limit(10, true));
    let mut expected = BytesMut::new();
    ErrorFields::new(
        Severity::Notice,
        "01000",
        "actgate truncated the result to 10 rows (row limit)".to_owned(),
    )
    .with_hint("add LIMIT or narrow the WHERE clause to see the rows you need")
    .encode(&mut expected);
    put_message(&mut expected, b'C', |b| b.put_slice(b"SELECT 10\0"));
    assert_eq!(out, expected.freeze());
    assert_eq!(out[0], b'N');
}

#[test]
fn a_completion_without_a_count_is_kept_as_it_was() {
    let out = truncated(b"FETCH\0", 4, &limit(4, true));
    assert!(out.ends_with(b"C\0\0\0\x0aFETCH\0"), "{out:?}");
}

#[test]
fn the_row_count_of_a_completion_tag() {
    assert_eq!(command_rows(b"UPDATE 12\0"), Some(12));
    assert_eq!(command_rows(b"INSERT 0 3\0"), Some(3));
    assert_eq!(command_rows(b"SELECT 0\0"), Some(0));
    assert_eq!(command_rows(b"BEGIN\0"), None);
    assert_eq!(command_rows(b"UPDATE 12"), None);
}

#[test]
fn retag_replaces_only_the_row_count() {
    assert_eq!(
        retag(b"SELECT 25\0", 10).as_deref(),
        Some(&b"SELECT 10\0"[..])
    );
    assert_eq!(
        retag(b"INSERT 0 25\0", 10).as_deref(),
        Some(&b"INSERT 0 10\0"[..])
    );
    assert_eq!(retag(b"BEGIN\0", 10), None);
}

#[test]
fn a_ready_for_query_resets_the_result_but_not_the_query_or_portals() {
    let mut c = Counting {
        forwarded: 3,
        rows: 4,
        result: ResultState::Over,
        query: QueryResult::Failed,
        ..Counting::default()
    };
    c.portal_rows.insert("p".into(), 7);
    c.reset();
    assert_eq!((c.forwarded, c.rows, c.result), (0, 0, ResultState::Within));
    assert!(c.current.is_none());
    assert_eq!(c.query, QueryResult::Failed);
    assert_eq!(c.portal_rows["p"], 7);
}
