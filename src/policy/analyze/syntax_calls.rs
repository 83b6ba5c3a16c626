//! What sqlparser shows as a function call but PostgreSQL's grammar reads
//! as syntax: a row constructor `ROW(…)`, the SQL/XML expressions and the
//! SQL/JSON constructors. They call no function a rule could name (no
//! `pg_proc` entry, no search_path lookup), so they are not recorded as
//! calls; the expressions and subqueries inside them still are walked.

use sqlparser::ast::{
    Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgOperator, FunctionArgumentClause,
    FunctionArguments, ObjectNamePart,
};

/// The function call sqlparser makes of unqualified, unquoted `NAME(…)`
/// with a plain argument list and nothing else (no FILTER, OVER, WITHIN
/// GROUP…), for one of `names`.
pub(super) fn plain_keyword_call(f: &Function, names: &[&str]) -> bool {
    keyword_name(f, names)
        && matches!(f.args, FunctionArguments::List(_))
        && matches!(f.parameters, FunctionArguments::None)
        && f.over.is_none()
        && f.filter.is_none()
        && f.within_group.is_empty()
        && f.null_treatment.is_none()
        && !f.uses_odbc_syntax
}

/// `f` is named by one of `names`, unqualified and unquoted: in
/// PostgreSQL's grammar such a keyword cannot name a function.
fn keyword_name(f: &Function, names: &[&str]) -> bool {
    let [ObjectNamePart::Identifier(id)] = f.name.0.as_slice() else {
        return false;
    };
    id.quote_style.is_none() && names.iter().any(|n| id.value.eq_ignore_ascii_case(n))
}

/// The SQL/XML expressions sqlparser parses as calls: column-name
/// keywords of PostgreSQL since 8.3, each an `XmlExpr` node, never a call
/// of a function of that name. (`XMLELEMENT`, `XMLPI`, `XMLROOT`,
/// `XMLSERIALIZE`, `XMLEXISTS` and `IS DOCUMENT` are `Expr::Xml`, which
/// records no call either; `XMLEXISTS` (9.1) runs the built-in
/// `pg_catalog.xmlexists` the grammar names, as `SUBSTRING(… FROM …)` runs
/// `pg_catalog.substring`. `xmlagg`, `xmlcomment`, `xpath` … are ordinary
/// functions.)
const XML_KEYWORDS: &[&str] = &["xmlconcat", "xmlforest", "xmlparse"];

/// The SQL/JSON constructors, keywords since PostgreSQL 16.
const JSON_CONSTRUCTORS: &[&str] = &[
    "json_array",
    "json_arrayagg",
    "json_object",
    "json_objectagg",
];

/// Whether `f` is syntax PostgreSQL's grammar does not read as a call.
pub(super) fn is_syntax_call(f: &Function) -> bool {
    plain_keyword_call(f, &["row"])
        || plain_keyword_call(f, XML_KEYWORDS)
        || (keyword_name(f, JSON_CONSTRUCTORS) && uses_sqljson_syntax(f))
}

/// Whether the argument list of `JSON_ARRAY(…)` etc. uses syntax only the
/// SQL/JSON constructors have (`k : v`, `k VALUE v`, `FORMAT JSON`,
/// `NULL|ABSENT ON NULL`, `WITH|WITHOUT UNIQUE`, `RETURNING`, a query).
///
/// Without it, `json_array(a, b)` is a constructor on PostgreSQL 16 and
/// later but a call of whatever function `json_array` resolves to before
/// 16 (a user's, through the search_path): it stays a call, which the
/// function allow-list decides. With it, PostgreSQL before 16 rejects the
/// statement, so no function can run.
fn uses_sqljson_syntax(f: &Function) -> bool {
    let FunctionArguments::List(list) = &f.args else {
        return false;
    };
    let clause = list.clauses.iter().any(|c| {
        matches!(
            c,
            FunctionArgumentClause::JsonNullClause(_)
                | FunctionArgumentClause::JsonReturningClause(_)
                | FunctionArgumentClause::JsonUniqueKeys(_)
                | FunctionArgumentClause::JsonArrayQuery { .. }
        )
    });
    let arg = list.args.iter().any(|a| match a {
        FunctionArg::Named { operator, arg, .. } | FunctionArg::ExprNamed { operator, arg, .. } => {
            matches!(
                operator,
                FunctionArgOperator::Colon | FunctionArgOperator::Value
            ) || formatted(arg)
        }
        FunctionArg::Unnamed(arg) => formatted(arg),
    });
    clause || arg
}

fn formatted(arg: &FunctionArgExpr) -> bool {
    matches!(arg, FunctionArgExpr::Expr(Expr::JsonFormatted { .. }))
}
