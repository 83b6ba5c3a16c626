use super::*;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

fn tautology(sql: &str) -> bool {
    let statements = Parser::new(&PostgreSqlDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements())
        .unwrap();
    statements.iter().any(has_tautology)
}

/// `o.xmin` on a table is the system column (no function call, no
/// column use); with a function of that name on the path it stays
/// attribute notation, as on a view without such a column.
#[test]
fn system_columns_unless_a_function_has_the_name() {
    use super::super::catalog::Catalog;
    let path = vec!["public".to_string()];
    let first = |catalog: &Catalog, sql: &str| {
        let resolver = Resolver {
            search_path: &path,
            catalog: Some(catalog),
            database: None,
        };
        analyze(sql, &resolver, AnalysisLimits::default())
            .unwrap()
            .statements
            .remove(0)
    };
    let mut catalog = Catalog::default();
    let orders = QualifiedName::new("public", "orders");
    catalog.add_relation(orders.clone(), vec!["id".into()]);
    let st = first(&catalog, "SELECT o.xmin, o.ctid, o.id FROM orders o");
    assert!(st.functions.is_empty(), "{st:?}");
    assert_eq!(st.columns.len(), 1, "{st:?}");
    assert_eq!(st.columns[0].column, ColumnName::Named("id".into()));
    let st = first(&catalog, "SELECT o.pg_sleep FROM orders o");
    assert_eq!(
        st.functions,
        vec![QualifiedName::new("pg_catalog", "pg_sleep")]
    );
    catalog.add_function(QualifiedName::new("public", "xmin"));
    let st = first(&catalog, "SELECT o.xmin FROM orders o");
    assert_eq!(st.functions, vec![QualifiedName::new("public", "xmin")]);
}

/// psql's `\dconfig`: current_setting of pg_settings' own names reads
/// their `setting` (so a column rule on pg_settings covers it); a
/// computed name is not judged and stays unsupported.
#[test]
fn current_setting_of_a_listed_name_reads_pg_settings() {
    use super::super::catalog::Catalog;
    let path = vec!["public".to_string()];
    let catalog = Catalog::default();
    let resolver = Resolver {
        search_path: &path,
        catalog: Some(&catalog),
        database: None,
    };
    let sql = "SELECT s.name, current_setting(s.name) FROM pg_catalog.pg_settings s";
    let st = analyze(sql, &resolver, AnalysisLimits::default())
        .unwrap()
        .statements
        .remove(0);
    let settings = QualifiedName::new("pg_catalog", "pg_settings");
    assert!(
        st.columns
            .iter()
            .any(|c| c.relation == settings && c.column == ColumnName::Named("setting".into())),
        "{st:?}"
    );
    assert!(st.settings.is_empty(), "{st:?}");
    let sql = "SELECT current_setting(s.name || '') FROM pg_catalog.pg_settings s";
    assert!(matches!(
        analyze(sql, &resolver, AnalysisLimits::default()),
        Err(AnalysisError::Unsupported(_))
    ));
}

/// Wrapper classes that only wrap another statement, and the forms
/// that stay classes of their own (EXPLAIN ANALYZE, COPY FROM).
#[test]
fn wrappers_of_reads() {
    let path = vec!["public".to_string()];
    let resolver = Resolver {
        search_path: &path,
        catalog: None,
        database: None,
    };
    let first = |sql: &str| {
        analyze(sql, &resolver, AnalysisLimits::default())
            .unwrap()
            .statements
            .remove(0)
    };
    for (sql, classes, wrappers, deferred) in [
        (
            "DECLARE c CURSOR FOR SELECT 1",
            vec![Class::Cursor, Class::Read],
            vec![Class::Cursor],
            true,
        ),
        (
            "FETCH 10 FROM c",
            vec![Class::Cursor],
            vec![Class::Cursor],
            false,
        ),
        (
            "COPY orders TO STDOUT",
            vec![Class::Copy, Class::Read],
            vec![Class::Copy],
            false,
        ),
        (
            "COPY (SELECT 1) TO STDOUT",
            vec![Class::Copy, Class::Read],
            vec![Class::Copy],
            false,
        ),
        ("COPY orders FROM STDIN", vec![Class::Copy], vec![], false),
        (
            "COPY orders TO '/tmp/x'",
            vec![Class::Copy, Class::Read],
            vec![],
            false,
        ),
        (
            "EXPLAIN SELECT 1",
            vec![Class::Explain, Class::Read],
            vec![Class::Explain],
            false,
        ),
        (
            "EXPLAIN (ANALYZE off) SELECT 1",
            vec![Class::Explain, Class::Read],
            vec![Class::Explain],
            false,
        ),
        (
            "EXPLAIN ANALYZE SELECT 1",
            vec![Class::Explain, Class::Read],
            vec![],
            false,
        ),
        (
            "EXPLAIN (ANALYZE) SELECT 1",
            vec![Class::Explain, Class::Read],
            vec![],
            false,
        ),
        (
            "EXPLAIN (ANALYZE f) SELECT 1",
            vec![Class::Explain, Class::Read],
            vec![],
            false,
        ),
        (
            "PREPARE p AS SELECT 1",
            vec![Class::Prepare, Class::Read],
            vec![Class::Prepare],
            true,
        ),
        (
            "PREPARE p AS DELETE FROM orders",
            vec![Class::Prepare, Class::Delete],
            vec![Class::Prepare],
            false,
        ),
        (
            "EXECUTE p",
            vec![Class::Execute],
            vec![Class::Execute],
            false,
        ),
    ] {
        let st = first(sql);
        assert_eq!(st.classes, classes, "{sql}");
        assert_eq!(st.wrappers, wrappers, "{sql}");
        assert_eq!(st.deferred_rows, deferred, "{sql}");
    }
}

#[test]
fn tautologies_are_noticed() {
    for sql in [
        "SELECT * FROM orders WHERE id = 5 OR 1 = 1",
        "SELECT * FROM orders WHERE name = '' OR 'a' = 'a'",
        "DELETE FROM orders WHERE id = id",
        "UPDATE orders SET x = 1 WHERE id = 2 OR true",
    ] {
        assert!(tautology(sql), "{sql}");
    }
    for sql in [
        "SELECT * FROM orders WHERE id = 5",
        "SELECT * FROM orders WHERE a = b OR c = 1",
        "SELECT true",
    ] {
        assert!(!tautology(sql), "{sql}");
    }
}

/// One statement of each group `statement_classes` dispatches to gets its
/// group's primary class; a kind no group handles is unsupported.
#[test]
fn every_statement_group_classifies_and_the_rest_is_unsupported() {
    let path = vec!["public".to_string()];
    let resolver = Resolver {
        search_path: &path,
        catalog: None,
        database: None,
    };
    let primary = |sql: &str| {
        analyze(sql, &resolver, AnalysisLimits::default())
            .unwrap()
            .statements
            .remove(0)
            .primary_class()
    };
    for (sql, class) in [
        ("TRUNCATE orders", Class::Truncate),
        ("CALL p(1)", Class::Call),
        ("DEALLOCATE ALL", Class::Deallocate),
        ("CLOSE c", Class::Cursor),
        ("SAVEPOINT s", Class::Transaction),
        ("NOTIFY ch", Class::Notify),
        ("LOCK TABLE orders", Class::Lock),
        ("GRANT SELECT ON orders TO bob", Class::Dcl),
        ("DROP ROLE bob", Class::Roles),
        ("DROP TABLE orders", Class::Ddl),
        ("CREATE EXTENSION hstore", Class::Ddl),
    ] {
        assert_eq!(primary(sql), Some(class), "{sql}");
    }
    assert_eq!(
        analyze("SHOW TABLES", &resolver, AnalysisLimits::default()),
        Err(AnalysisError::Unsupported(
            "the statement kind SHOW TABLES".into()
        ))
    );
}

/// A FROM item's alias and column aliases are folded like names.
#[test]
fn aliases_of_from_items_are_folded() {
    use super::from::{alias_columns, alias_of};
    let statements = Parser::new(&PostgreSqlDialect {})
        .try_with_sql(r#"SELECT * FROM t AS "X"(a, "B"), u Y, v"#)
        .and_then(|mut p| p.parse_statements())
        .unwrap();
    let Statement::Query(q) = &statements[0] else {
        panic!("a query");
    };
    let sqlparser::ast::SetExpr::Select(s) = q.body.as_ref() else {
        panic!("a select");
    };
    let aliases: Vec<_> = s
        .from
        .iter()
        .map(|twj| match &twj.relation {
            sqlparser::ast::TableFactor::Table { alias, .. } => {
                (alias_of(alias), alias_columns(alias))
            }
            other => panic!("{other}"),
        })
        .collect();
    assert_eq!(
        aliases,
        vec![
            (Some("X".into()), Some(vec!["a".into(), "B".into()])),
            (Some("y".into()), None),
            (None, None),
        ]
    );
}
