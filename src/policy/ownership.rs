//! Which statements hand an object to another role or make code run with
//! its owner's rights: `ALTER … OWNER TO`, `CREATE SCHEMA … AUTHORIZATION`
//! and `SECURITY DEFINER` functions (or functions that `SET ROLE` or the
//! session authorization when called). The analysis gives them the
//! `ownership` class on top of their own (`ddl`), so they run only for an
//! agent whose rules list that class.
//!
//! Pure: looks at one parsed statement. Statement kinds the analysis
//! refuses anyway (`ALTER VIEW`, `ALTER TYPE … OWNER TO` and the like that
//! the parser or the relation walk does not take) need no entry here.

use sqlparser::ast::{
    self, AlterFunctionAction, AlterFunctionOperation, AlterTableOperation,
    FunctionDefinitionSetParam, FunctionSecurity, Statement,
};

/// Whether `st` changes an object's owner or creates or makes
/// `SECURITY DEFINER` code.
pub fn hands_over(st: &Statement) -> bool {
    match st {
        Statement::AlterTable(t) => t
            .operations
            .iter()
            .any(|op| matches!(op, AlterTableOperation::OwnerTo { .. })),
        Statement::AlterSchema(s) => s
            .operations
            .iter()
            .any(|op| matches!(op, ast::AlterSchemaOperation::OwnerTo { .. })),
        Statement::AlterView(v) => matches!(v.operation, ast::AlterViewOperation::OwnerTo(_)),
        Statement::AlterCollation(c) => {
            matches!(c.operation, ast::AlterCollationOperation::OwnerTo(_))
        }
        Statement::AlterTextSearch(t) => {
            matches!(t.operation, ast::AlterTextSearchOperation::OwnerTo(_))
        }
        Statement::AlterOperator(o) => {
            matches!(o.operation, ast::AlterOperatorOperation::OwnerTo(_))
        }
        Statement::AlterStatistics(ast::AlterStatistics { operation, .. })
        | Statement::AlterPublication(ast::AlterPublication { operation, .. })
        | Statement::AlterSequence(ast::AlterSequence {
            operation: ast::AlterSequenceOperation::Common(operation),
            ..
        }) => matches!(operation, ast::AlterPgObjectOperation::OwnerTo(_)),
        Statement::AlterFunction(f) => match &f.operation {
            AlterFunctionOperation::OwnerTo(_) => true,
            AlterFunctionOperation::Actions { actions, .. } => actions.iter().any(|a| match a {
                AlterFunctionAction::Security { security, .. } => {
                    *security == FunctionSecurity::Definer
                }
                AlterFunctionAction::Set(param) => sets_role(param),
                _ => false,
            }),
            _ => false,
        },
        Statement::CreateFunction(f) => {
            f.security == Some(FunctionSecurity::Definer) || f.set_params.iter().any(sets_role)
        }
        Statement::CreateSchema { schema_name, .. } => {
            !matches!(schema_name, ast::SchemaName::Simple(_))
        }
        _ => false,
    }
}

/// `SET role …` or `SET session_authorization …` attached to a function:
/// the function then runs as that role.
fn sets_role(param: &FunctionDefinitionSetParam) -> bool {
    match param.name.0.as_slice() {
        [part] => part.as_ident().is_some_and(|i| {
            let name = i.value.to_ascii_lowercase();
            name == "role" || name == "session_authorization"
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    fn parsed(sql: &str) -> Statement {
        let mut v = Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap();
        assert_eq!(v.len(), 1, "{sql}");
        v.remove(0)
    }

    #[test]
    fn owner_changes_and_definer_code_are_noticed() {
        for sql in [
            "ALTER TABLE orders OWNER TO bob",
            "ALTER TABLE orders ADD COLUMN x int, OWNER TO CURRENT_USER",
            "ALTER SCHEMA public OWNER TO bob",
            "ALTER FUNCTION f() OWNER TO bob",
            "ALTER AGGREGATE a(int) OWNER TO bob",
            "ALTER COLLATION c OWNER TO bob",
            "ALTER TEXT SEARCH DICTIONARY d OWNER TO bob",
            "ALTER OPERATOR + (int, int) OWNER TO bob",
            "ALTER FUNCTION f() SECURITY DEFINER",
            "ALTER FUNCTION f() IMMUTABLE EXTERNAL SECURITY DEFINER",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1'",
            "CREATE SCHEMA s AUTHORIZATION bob",
            "CREATE SCHEMA AUTHORIZATION bob",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET role = admin AS 'SELECT 1'",
            "ALTER FUNCTION f() SET ROLE TO admin",
            "ALTER FUNCTION f() SET \"role\" = 'admin'",
            "ALTER FUNCTION f() SET session_authorization = admin",
        ] {
            assert!(hands_over(&parsed(sql)), "{sql}");
        }
    }

    #[test]
    fn other_ddl_is_not_ownership() {
        for sql in [
            "ALTER TABLE orders ADD COLUMN x int",
            "ALTER TABLE orders RENAME TO o",
            "ALTER SCHEMA public RENAME TO p",
            "ALTER FUNCTION f() RENAME TO g",
            "ALTER FUNCTION f() SECURITY INVOKER",
            "ALTER FUNCTION f() STABLE",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY INVOKER AS 'SELECT 1'",
            "CREATE SCHEMA s",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET search_path = public AS 'SELECT 1'",
            "ALTER FUNCTION f() SET work_mem = '1MB'",
            "ALTER FUNCTION f() RESET ALL",
            "CREATE TABLE t (id int)",
            "SELECT 'OWNER TO bob', 'SECURITY DEFINER'",
            "COMMENT ON TABLE orders IS 'ALTER TABLE orders OWNER TO bob'",
        ] {
            assert!(!hands_over(&parsed(sql)), "{sql}");
        }
    }
}
