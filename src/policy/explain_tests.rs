use super::*;
use crate::policy::analyze::{Pin, PinValue};
use crate::policy::names::QualifiedName;

fn occurrence(access: Access) -> Occurrence {
    Occurrence {
        relation: QualifiedName::new("public", "orders").into(),
        access,
        pins: Vec::new(),
        written: Vec::new(),
        rows: None,
    }
}

#[test]
fn use_line_without_pins_names_relation_and_access() {
    assert_eq!(
        use_line(&occurrence(Access::Read)),
        "  use       public.orders (select)"
    );
}

#[test]
fn use_line_lists_pins_written_values_and_rows() {
    let mut o = occurrence(Access::Update);
    o.pins = vec![
        Pin {
            column: "tenant".into(),
            value: PinValue::Literal("a".into()),
        },
        Pin {
            column: "id".into(),
            value: PinValue::Set(vec![PinValue::Param(1), PinValue::ParamArray(2)]),
        },
    ];
    o.written = vec![
        ("total".into(), Some(PinValue::Literal("5".into()))),
        ("note".into(), None),
    ];
    o.rows = Some(vec![Vec::new(), Vec::new()]);
    assert_eq!(
        use_line(&o),
        "  use       public.orders (update) where tenant = 'a' and id = any of \
         ($1 (checked at Bind), every element of $2 (checked at Bind)) \
         sets total := '5', note := (not evident) (2 row(s))"
    );
}

#[test]
fn column_and_setting_lines() {
    let c = ColumnUse {
        relation: QualifiedName::new("public", "orders"),
        column: ColumnName::All,
        access: ColumnAccess::Write,
    };
    assert_eq!(column_line(&c), "  column    public.orders.* (write)");
    let s = SettingUse {
        name: "search_path".into(),
        action: SettingAction::Narrow,
    };
    assert_eq!(setting_line(&s), "  setting   search_path (set, narrowing)");
    let p = SettingParam {
        param: 3,
        action: SettingAction::Reset,
    };
    assert_eq!(
        setting_param_line(&p),
        "  setting   named by $3 (set, checked at Bind)"
    );
}

#[test]
fn grouped_collects_accesses_per_relation_in_first_seen_order() {
    let rel = |s: &str, access| RelationUse {
        name: QualifiedName::new("public", s),
        access,
    };
    let g = grouped(&[
        rel("b", Access::Read),
        rel("a", Access::Update),
        rel("b", Access::Lock),
    ]);
    assert_eq!(
        g,
        vec![
            ("public.b".to_owned(), vec!["select", "lock"]),
            ("public.a".to_owned(), vec!["update"]),
        ]
    );
}
