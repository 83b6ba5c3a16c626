use super::*;
use analyze::{Occurrence, Pin, PinValue};

fn orders() -> QualifiedName {
    QualifiedName::new("public", "orders")
}

fn target(relation: &QualifiedName) -> ScopeTarget<'_> {
    ScopeTarget {
        relation,
        column: "tenant",
        required: "a",
        rule: "agent.toml: tables.orders.scope.tenant".into(),
    }
}

fn occurrence(access: Access) -> Occurrence {
    Occurrence {
        relation: orders().into(),
        access,
        pins: Vec::new(),
        written: Vec::new(),
        rows: None,
    }
}

fn pin(value: PinValue) -> Pin {
    Pin {
        column: "tenant".into(),
        value,
    }
}

#[test]
fn a_read_pinned_to_the_required_value_passes_and_another_value_is_refused() {
    let relation = orders();
    let mut o = occurrence(Access::Read);
    o.pins = vec![pin(PinValue::Literal("a".into()))];
    assert!(target(&relation).occurrence(&o, &mut None).is_ok());
    o.pins = vec![pin(PinValue::Literal("b".into()))];
    let d = target(&relation).occurrence(&o, &mut None).unwrap_err();
    assert_eq!(d.reason, "scope_violation");
    assert_eq!(d.rule, "agent.toml: tables.orders.scope.tenant");
}

#[test]
fn an_unpinned_read_is_refused_as_scope_missing() {
    let relation = orders();
    let d = target(&relation)
        .occurrence(&occurrence(Access::Delete), &mut None)
        .unwrap_err();
    assert_eq!(d.reason, "scope_missing");
}

#[test]
fn writing_the_scope_column_is_refused_before_the_pins_are_looked_at() {
    let relation = orders();
    let mut o = occurrence(Access::Update);
    o.written = vec![("tenant".into(), Some(PinValue::Literal("a".into())))];
    let d = target(&relation).occurrence(&o, &mut None).unwrap_err();
    assert_eq!(d.reason, "scope_column_write");
}

#[test]
fn a_parameter_becomes_a_bind_check_or_is_refused_without_a_sink() {
    let relation = orders();
    let mut o = occurrence(Access::Read);
    o.pins = vec![pin(PinValue::ParamArray(2))];
    let d = target(&relation).occurrence(&o, &mut None).unwrap_err();
    assert_eq!(d.reason, "scope_parameter");
    let mut sink = Vec::new();
    target(&relation)
        .occurrence(&o, &mut Some(&mut sink))
        .unwrap();
    assert_eq!(sink.len(), 1);
    assert_eq!(sink[0].param, 2);
    assert_eq!(sink[0].kind, ParamCheckKind::EveryElementEquals("a".into()));
}

#[test]
fn inserts_must_set_the_scope_column_in_every_evident_row() {
    let relation = orders();
    let mut o = occurrence(Access::Insert);
    let d = target(&relation).occurrence(&o, &mut None).unwrap_err();
    assert_eq!(d.reason, "scope_unverifiable");
    o.rows = Some(vec![
        vec![("tenant".into(), Some(PinValue::Literal("a".into())))],
        vec![("id".into(), Some(PinValue::Literal("1".into())))],
    ]);
    let d = target(&relation).occurrence(&o, &mut None).unwrap_err();
    assert_eq!(d.reason, "scope_missing");
    assert!(
        d.message.contains("every row must set tenant = 'a'"),
        "{}",
        d.message
    );
}

#[test]
fn other_accesses_cannot_be_verified() {
    let relation = orders();
    let d = target(&relation)
        .occurrence(&occurrence(Access::Truncate), &mut None)
        .unwrap_err();
    assert_eq!(d.reason, "scope_unverifiable");
    assert!(
        d.message
            .starts_with("actgate denied truncate on public.orders"),
        "{}",
        d.message
    );
}
