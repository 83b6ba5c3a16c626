//! The per-statement cost of the firewall: SQL analysis (what a cache miss
//! pays, the referee included), the referee alone (PostgreSQL's parser
//! reading the statement again), the analysis cache (a hit: no analysis,
//! no referee), and evaluating a policy. Measures; asserts nothing about
//! time.
//!
//! `cargo bench --bench policy`

use actgate::policy::SessionState;
use actgate::policy::analyze::{AnalysisLimits, analyze};
use actgate::policy::names::Resolver;
use actgate::rules::RuleSet;
use criterion::{Criterion, black_box, criterion_group, criterion_main};
use std::path::Path;

const QUERIES: &[(&str, &str)] = &[
    ("point", "SELECT id, status FROM orders WHERE id = 42"),
    (
        "join_group",
        "SELECT c.country, count(*), sum(o.total_cents) FROM orders o JOIN customers c ON c.id = o.customer_id \
         WHERE o.created_at > now() - interval '30 days' GROUP BY c.country ORDER BY 2 DESC LIMIT 10",
    ),
    (
        "cte_window",
        "WITH r AS (SELECT order_id, sum(amount_cents) AS refunded FROM refunds GROUP BY order_id) \
         SELECT o.id, o.total_cents, r.refunded, rank() OVER (ORDER BY r.refunded DESC) \
         FROM orders o JOIN r ON r.order_id = o.id WHERE o.status = 'refunded'",
    ),
];

fn bench(c: &mut Criterion) {
    let rules_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let search_path = vec!["public".to_string()];
    let rules = RuleSet::load_dir(&rules_dir, &search_path).expect("shipped rules");
    let policy = rules
        .agent("analytics")
        .expect("analytics agent")
        .policy
        .clone();
    let resolver = Resolver {
        search_path: &search_path,
        catalog: None,
        database: Some("shop"),
    };
    let session = SessionState::default();
    for (name, sql) in QUERIES {
        c.bench_function(&format!("analyze/{name}"), |b| {
            b.iter(|| analyze(black_box(sql), &resolver, AnalysisLimits::default()))
        });
        let analysis = Ok(analyze(sql, &resolver, AnalysisLimits::default()).expect("analysable"));
        if let Ok(a) = &analysis {
            c.bench_function(&format!("referee/{name}"), |b| {
                b.iter(|| actgate::policy::referee::check(black_box(sql), a))
            });
        }
        let situation = actgate::policy::Situation::offline(None, &session, None);
        c.bench_function(&format!("evaluate/{name}"), |b| {
            b.iter(|| policy.decide_query(black_box(&analysis), &situation))
        });
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let analyzer = actgate::proxy::analysis::Analyzer::default();
    let ctx = actgate::proxy::analysis::AnalysisContext {
        database: "shop".into(),
        search_path: std::sync::Arc::new(search_path.clone()),
        catalog: None,
        limits: AnalysisLimits::default(),
        generation: 1,
    };
    runtime.block_on(analyzer.analyze(&ctx, QUERIES[1].1));
    c.bench_function("cache_hit/join_group", |b| {
        b.iter(|| runtime.block_on(analyzer.analyze(&ctx, black_box(QUERIES[1].1))))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
