//! Row pins: the `column = value` conjuncts of a WHERE clause, and the
//! literal or parameter values that are evident.

use super::super::names::fold;
use super::scope::{Scope, Source, SourceKind};
use super::{ColumnName, Pin, PinValue, Walker};
use sqlparser::ast::{self, Expr};

pub(super) fn strip_nested(e: &Expr) -> &Expr {
    match e {
        Expr::Nested(inner) => strip_nested(inner),
        other => other,
    }
}

/// The conjuncts of a chain of ANDs.
pub(super) fn flatten_and<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match strip_nested(e) {
        Expr::BinaryOp {
            left,
            op: ast::BinaryOperator::And,
            right,
        } => {
            flatten_and(left, out);
            flatten_and(right, out);
        }
        other => out.push(other),
    }
}

/// A literal or parameter whose value is evident, looking through casts.
pub(super) fn pin_value(e: &Expr) -> Option<PinValue> {
    match strip_nested(e) {
        Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => Some(PinValue::Literal(n.clone())),
            ast::Value::SingleQuotedString(s) => Some(PinValue::Literal(s.clone())),
            ast::Value::Placeholder(p) => p
                .strip_prefix('$')
                .and_then(|n| n.parse().ok())
                .map(PinValue::Param),
            _ => None,
        },
        // Only casts that cannot change the value count: `'42'::bit(3)::int`
        // is 2, `42::numeric(2,-1)` is 40.
        Expr::Cast {
            expr,
            data_type,
            format: None,
            ..
        } if value_preserving(data_type) => pin_value(expr),
        Expr::UnaryOp {
            op: ast::UnaryOperator::Minus,
            expr,
        } => match pin_value(expr) {
            Some(PinValue::Literal(n)) if n.parse::<f64>().is_ok() && !n.starts_with('-') => {
                Some(PinValue::Literal(format!("-{n}")))
            }
            _ => None,
        },
        _ => None,
    }
}

/// The right side of `col = ANY(…)` when every element is evident: an
/// `ARRAY[…]` of literals and parameters, or a parameter holding the whole
/// array (`ANY($1)`, `ANY($1::int[])`), looking through casts that keep
/// the values.
pub(super) fn any_array(e: &Expr) -> Option<PinValue> {
    match strip_nested(e) {
        Expr::Array(ast::Array { elem, .. }) => {
            match elem.iter().map(pin_value).collect::<Option<Vec<_>>>() {
                Some(values) if !values.is_empty() => Some(PinValue::Set(values)),
                _ => None,
            }
        }
        Expr::Value(v) => match &v.value {
            ast::Value::Placeholder(p) => placeholder(p).map(PinValue::ParamArray),
            _ => None,
        },
        Expr::Cast {
            expr,
            data_type:
                ast::DataType::Array(
                    ast::ArrayElemTypeDef::SquareBracket(elem, None)
                    | ast::ArrayElemTypeDef::AngleBracket(elem)
                    | ast::ArrayElemTypeDef::Parenthesis(elem),
                ),
            format: None,
            ..
        } if value_preserving(elem) => any_array(expr),
        _ => None,
    }
}

/// `$n` as its 1-based number.
pub(super) fn placeholder(p: &str) -> Option<usize> {
    p.strip_prefix('$')
        .and_then(|n| n.parse().ok())
        .filter(|n| *n > 0)
}

/// Casts that keep a literal's value (or fail): integer types, unbounded
/// numeric and unbounded text types.
pub(super) fn value_preserving(t: &ast::DataType) -> bool {
    use ast::DataType as T;
    matches!(
        t,
        T::SmallInt(None)
            | T::Int2(None)
            | T::Int(None)
            | T::Int4(None)
            | T::Integer(None)
            | T::Int8(None)
            | T::BigInt(None)
            | T::Numeric(ast::ExactNumberInfo::None)
            | T::Decimal(ast::ExactNumberInfo::None)
            | T::Text
            | T::Varchar(None)
            | T::CharacterVarying(None)
    )
}

impl Walker<'_> {
    /// Attaches the `column = value` conjuncts at the top of `selection`
    /// to the relations of this query level (only AND counts: OR, NOT and
    /// anything else pins nothing).
    pub(super) fn pin(&mut self, selection: &Expr, scope: &Scope<'_>) {
        let mut conjuncts = Vec::new();
        flatten_and(selection, &mut conjuncts);
        for c in conjuncts {
            let (column, value) = match c {
                Expr::BinaryOp {
                    left,
                    op: ast::BinaryOperator::Eq,
                    right,
                } => match (pin_value(left), pin_value(right)) {
                    (None, Some(v)) => (left.as_ref(), v),
                    (Some(v), None) => (right.as_ref(), v),
                    _ => continue,
                },
                Expr::In {
                    expr,
                    target: ast::InTarget::List(list),
                    negated: false,
                    ..
                } => match list.iter().map(pin_value).collect::<Option<Vec<_>>>() {
                    Some(values) if !values.is_empty() => (expr.as_ref(), PinValue::Set(values)),
                    _ => continue,
                },
                Expr::AnyOp {
                    left,
                    compare_op: ast::BinaryOperator::Eq,
                    right,
                    ..
                } => match any_array(right) {
                    Some(value) => (left.as_ref(), value),
                    None => continue,
                },
                _ => continue,
            };
            let Some((source, name)) = self.pinned_source(column, scope) else {
                continue;
            };
            let (Some(idx), SourceKind::Table(t)) = (source.occurrence, &source.kind) else {
                continue;
            };
            if let Some(ColumnName::Named(actual)) = self.table_column(&source, t, &name) {
                self.info.occurrences[idx].pins.push(Pin {
                    column: actual.into(),
                    value,
                });
            }
        }
    }

    /// The FROM item of this level (not outer ones) a column reference in a
    /// pin denotes, with the column's visible name.
    pub(super) fn pinned_source(&self, e: &Expr, scope: &Scope<'_>) -> Option<(Source, String)> {
        let e = strip_nested(e);
        match e {
            Expr::Identifier(i) => {
                let name = fold(i);
                let having: Vec<&Source> = scope
                    .sources
                    .iter()
                    .filter(|s| match &s.kind {
                        SourceKind::Table(t) => self.table_column(s, t, &name).is_some(),
                        SourceKind::Group(_) => true,
                        SourceKind::Other(cols) => cols.as_ref().is_none_or(|c| c.contains(&name)),
                    })
                    .collect();
                match having.as_slice() {
                    [one] => Some(((*one).clone(), name)),
                    _ => None,
                }
            }
            Expr::CompoundIdentifier(is) if is.len() == 2 => {
                let alias = fold(&is[0]);
                let src = scope.sources.iter().rev().find(|s| s.alias == alias)?;
                Some((src.clone(), fold(&is[1])))
            }
            _ => None,
        }
    }
}
