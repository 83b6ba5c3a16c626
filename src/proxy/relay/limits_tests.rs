use super::*;

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
        over: true,
        query: QueryResult::Failed,
        ..Counting::default()
    };
    c.portal_rows.insert("p".into(), 7);
    c.reset();
    assert_eq!((c.forwarded, c.rows, c.over), (0, 0, false));
    assert!(c.current.is_none());
    assert_eq!(c.query, QueryResult::Failed);
    assert_eq!(c.portal_rows["p"], 7);
}
