//! Offline policy evaluation for table-driven tests: the shipped rules,
//! the test agents, and a catalog of the demo shop schema built by hand,
//! so no database is needed.

use actgate::policy::analyze::{Analysis, AnalysisError, AnalysisLimits, analyze, shape};
use actgate::policy::catalog::Catalog;
use actgate::policy::names::{QualifiedName, Resolver};
use actgate::policy::{Policy, SessionState, Situation, Verdict, reads_no_session_state};
use actgate::rules::RuleSet;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// The demo shop's tables and columns (demo/shop.sql), plus the catalogs
/// drivers read.
pub fn shop_catalog() -> Catalog {
    let mut c = Catalog::default();
    let tables: &[(&str, &[&str])] = &[
        (
            "customers",
            &[
                "id",
                "email",
                "full_name",
                "phone",
                "country",
                "loyalty_tier",
                "marketing_opt_in",
                "created_at",
            ],
        ),
        (
            "products",
            &[
                "id",
                "sku",
                "name",
                "category",
                "price_cents",
                "stock_qty",
                "active",
                "created_at",
            ],
        ),
        (
            "orders",
            &[
                "id",
                "customer_id",
                "status",
                "total_cents",
                "currency",
                "shipping_country",
                "notes",
                "created_at",
                "updated_at",
            ],
        ),
        (
            "order_items",
            &[
                "id",
                "order_id",
                "product_id",
                "quantity",
                "unit_price_cents",
            ],
        ),
        (
            "staff_users",
            &[
                "id",
                "username",
                "full_name",
                "email",
                "role",
                "password_hash",
                "is_active",
                "last_login_at",
                "created_at",
            ],
        ),
        (
            "refunds",
            &[
                "id",
                "order_id",
                "amount_cents",
                "reason",
                "created_at",
                "created_by",
            ],
        ),
        (
            "payment_methods",
            &[
                "id",
                "customer_id",
                "card_brand",
                "card_last4",
                "card_token",
                "exp_month",
                "exp_year",
                "is_default",
                "created_at",
            ],
        ),
    ];
    for (t, cols) in tables {
        c.add_relation(
            QualifiedName::new("public", *t),
            cols.iter().map(|s| s.to_string()).collect(),
        );
    }
    for t in [
        "pg_type",
        "pg_namespace",
        "pg_attribute",
        "pg_class",
        "pg_proc",
        "pg_range",
        "pg_enum",
        "pg_index",
        "pg_constraint",
        "pg_description",
        "pg_authid",
        "pg_shadow",
        "pg_roles",
        "pg_stat_activity",
        "pg_settings",
        "pg_database",
        "pg_user_mapping",
        "pg_largeobject",
        "pg_statistic",
        "pg_tables",
        "pg_event_trigger",
        "pg_ts_config",
        "pg_opfamily",
        "pg_cast",
        "pg_conversion",
        "pg_db_role_setting",
    ] {
        // Columns unknown: the catalog names the relation only.
        c.add_relation(QualifiedName::new("pg_catalog", t), vec![]);
    }
    // A catalog whose columns are known, as in a live catalog (which lists
    // no system columns).
    c.add_relation(
        QualifiedName::new("pg_catalog", "pg_language"),
        [
            "oid",
            "lanname",
            "lanowner",
            "lanispl",
            "lanpltrusted",
            "lanplcallfoid",
            "laninline",
            "lanvalidator",
            "lanacl",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    );
    for f in [
        "pg_sleep",
        "pg_notify",
        "set_config",
        "current_setting",
        "count",
        "now",
    ] {
        c.add_function(QualifiedName::new("pg_catalog", f));
    }
    for t in ["tables", "columns", "schemata"] {
        c.add_relation(QualifiedName::new("information_schema", t), vec![]);
    }
    c
}

struct Fixture {
    rules: RuleSet,
    catalog: Arc<Catalog>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for src in [root.join("rules"), root.join("tests/rules")] {
            for e in std::fs::read_dir(src).unwrap() {
                let p = e.unwrap().path();
                if p.extension().is_some_and(|x| x == "toml") {
                    std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
                }
            }
        }
        let catalog = Arc::new(shop_catalog());
        let mut catalogs = HashMap::new();
        catalogs.insert("shop".to_string(), catalog.clone());
        let rules = RuleSet::load_dir_with(dir.path(), &["public".to_string()], &catalogs)
            .unwrap_or_else(|e| panic!("rules: {e}"));
        Fixture { rules, catalog }
    })
}

/// The verdict for `sql` from `agent` in a fresh session, with the catalog.
pub fn verdict(agent: &str, sql: &str) -> Verdict {
    verdict_in(agent, sql, &SessionState::default())
}

/// `"allow"` or the reason, for a session whose credentials carry `claims`.
pub fn outcome_with_claims(agent: &str, sql: &str, claims: &[(&str, &str)]) -> String {
    let caps = actgate::policy::StaticClaims(
        claims
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    match verdict_with(agent, sql, &SessionState::default(), Some(&caps)) {
        Verdict::Allow => "allow".into(),
        Verdict::Deny(d) => d.reason.to_string(),
    }
}

pub fn verdict_in(agent: &str, sql: &str, session: &SessionState) -> Verdict {
    verdict_with(agent, sql, session, None)
}

pub fn verdict_with(
    agent: &str,
    sql: &str,
    session: &SessionState,
    capability: Option<&dyn actgate::policy::Capability>,
) -> Verdict {
    let f = fixture();
    let policy = &f
        .rules
        .agent(agent)
        .unwrap_or_else(|| panic!("no agent {agent}"))
        .policy;
    let search_path = vec!["public".to_string()];
    let resolver = Resolver {
        search_path: &search_path,
        catalog: Some(&f.catalog),
        database: Some("shop"),
    };
    let analysis = analyze(sql, &resolver, AnalysisLimits::default());
    let variant = shape_agrees(sql, &analysis, &|text| {
        analyze(text, &resolver, AnalysisLimits::default())
    });
    let prepare = analyze(
        "PREPARE q AS SELECT 1",
        &resolver,
        AnalysisLimits::default(),
    );
    let situation = Situation::offline(Some(&f.catalog), session, capability);
    reuse_agrees(policy, &analysis, situation, prepare.as_ref().ok());
    if let Some(variant) = variant {
        literals_agree(policy, &analysis, &variant, situation);
    }
    policy.decide(&analysis, Some(&f.catalog), session, capability)
}

/// Proves on every case whose shape has a template that a session may
/// reuse a decision for every analysis the template fills when the
/// policy [`Policy::reads_values`] of none: `variant`, the analysis of
/// the same shape with other literals, is decided as `analysis` is, as a
/// Query (idle or not) and at a Parse. (When the policy reads values the
/// two may differ: a scope pinned to another customer.)
pub fn literals_agree(
    policy: &Policy,
    analysis: &Result<Analysis, AnalysisError>,
    variant: &Analysis,
    situation: Situation<'_>,
) {
    let Ok(a) = analysis else { return };
    if policy.reads_values(a) {
        return;
    }
    let variant = Ok(variant.clone());
    for idle in [true, false] {
        let here = Situation { idle, ..situation };
        assert_eq!(
            policy.decide_query(analysis, &here),
            policy.decide_query(&variant, &here),
            "a session would reuse another decision about {a:?} with other literals, as a Query (idle: {idle})"
        );
        assert_eq!(
            policy.decide_prepared(analysis, &here),
            policy.decide_prepared(&variant, &here),
            "a session would reuse another decision about {a:?} with other literals, at a Parse"
        );
    }
}

/// Proves on every case that a session may reuse a decision that
/// [`reads_no_session_state`] (the proxy's `relay::ask`): decided in
/// `situation` and in a session holding an unnamed and a named statement
/// from Parse and one from SQL `PREPARE` (`prepare`, its analysis) that
/// started read-write, idle or not, a Query's and a Parse's decisions are
/// the same.
pub fn reuse_agrees(
    policy: &Policy,
    analysis: &Result<Analysis, AnalysisError>,
    situation: Situation<'_>,
    prepare: Option<&Analysis>,
) {
    let Ok(a) = analysis else { return };
    if !reads_no_session_state(a) {
        return;
    }
    let mut busy = SessionState::starting_with_read_only(Some("off"));
    busy.parsed("", Vec::new());
    busy.parsed("p", Vec::new());
    if let Some(prepare) = prepare {
        busy.executed(prepare);
    }
    for idle in [true, false] {
        let here = Situation { idle, ..situation };
        let there = Situation {
            session: &busy,
            ..here
        };
        assert_eq!(
            policy.decide_query(analysis, &here),
            policy.decide_query(analysis, &there),
            "a session would reuse another decision about {a:?} as a Query (idle: {idle})"
        );
        assert_eq!(
            policy.decide_prepared(analysis, &here),
            policy.decide_prepared(analysis, &there),
            "a session would reuse another decision about {a:?} at a Parse"
        );
    }
}

/// Proves on every case that the proxy's shape cache cannot change a
/// decision: a template learnt from a statement of the same shape with
/// other literals fills to exactly the analysis of `sql`, and there is no
/// template when `sql` cannot be analysed; and the fast scanner cuts
/// `sql` as the tokenizer does. The analysis of the other literals, when
/// there is a template.
pub fn shape_agrees(
    sql: &str,
    analysis: &Result<Analysis, AnalysisError>,
    analyze: &dyn Fn(&str) -> Result<Analysis, AnalysisError>,
) -> Option<Analysis> {
    assert_eq!(
        shape::lift(sql),
        shape::lift_tokenized(sql),
        "the fast scanner cuts {sql:?} otherwise than the tokenizer"
    );
    let lifted = shape::lift(sql).filter(|l| !l.is_empty())?;
    let variant = lifted.variant_text(sql);
    let other = shape::lift(&variant).expect("a variant has the same shape");
    assert_eq!(other.key, lifted.key, "variant of {sql}");
    let (Ok(seen), Ok(canaries)) = (analyze(&variant), analyze(&other.canary_text(&variant)))
    else {
        return None;
    };
    let template = shape::Template::derive(&other, &variant, &seen, &canaries)?;
    assert_eq!(
        template.fill(&lifted, sql).as_ref(),
        analysis.as_ref().ok(),
        "the shape cache would analyse {sql:?} differently (learnt from {variant:?})"
    );
    Some(seen)
}

/// `"allow"` or the denial's reason code.
pub fn outcome(agent: &str, sql: &str) -> String {
    match verdict(agent, sql) {
        Verdict::Allow => "allow".into(),
        Verdict::Deny(d) => d.reason.to_string(),
    }
}

/// `"allow"` or the reason, for `sql` sent as a Parse (parameter
/// conditions deferred to Bind) by a session whose credentials carry
/// `claims`, then bound to `params` as text (`None` for NULL).
pub fn outcome_at_bind(
    agent: &str,
    sql: &str,
    claims: &[(&str, &str)],
    params: &[Option<&str>],
) -> String {
    let f = fixture();
    let policy = &f
        .rules
        .agent(agent)
        .unwrap_or_else(|| panic!("no agent {agent}"))
        .policy;
    let caps = actgate::policy::StaticClaims(
        claims
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    let search_path = vec!["public".to_string()];
    let resolver = Resolver {
        search_path: &search_path,
        catalog: Some(&f.catalog),
        database: Some("shop"),
    };
    let analysis = analyze(sql, &resolver, AnalysisLimits::default());
    let mut session = SessionState::default();
    let capability: Option<&dyn actgate::policy::Capability> =
        if claims.is_empty() { None } else { Some(&caps) };
    let situation = Situation::offline(Some(&f.catalog), &session, capability);
    let parse = policy.decide_parse("s", &analysis, &situation);
    if let Verdict::Deny(d) = parse.offline_verdict(policy, None) {
        return d.reason.to_string();
    }
    session.parsed("s", parse.param_checks);
    let param = |n: usize| {
        n.checked_sub(1)
            .and_then(|i| params.get(i).copied().flatten())
            .map(str::to_owned)
    };
    let bind = policy.decide_bind("s", &session, &param, &parse.obligations.approvals);
    match bind.offline_verdict(policy, None) {
        Verdict::Allow => "allow".into(),
        Verdict::Deny(d) => d.reason.to_string(),
    }
}

/// An agent's compiled policy, from the same rules as [`verdict`].
pub fn policy(agent: &str) -> Arc<actgate::policy::Policy> {
    fixture()
        .rules
        .agent(agent)
        .unwrap_or_else(|| panic!("no agent {agent}"))
        .policy
        .clone()
}

/// The analysis of `sql` with the shop catalog (it must analyse).
pub fn analysis(sql: &str) -> actgate::policy::analyze::Analysis {
    let f = fixture();
    let search_path = vec!["public".to_string()];
    let resolver = Resolver {
        search_path: &search_path,
        catalog: Some(&f.catalog),
        database: Some("shop"),
    };
    analyze(sql, &resolver, AnalysisLimits::default()).unwrap_or_else(|e| panic!("{sql}: {e}"))
}
