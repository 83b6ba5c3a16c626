//! The per-statement cost of the firewall: SQL analysis (what a cache miss
//! pays, the referee included), the referee alone (PostgreSQL's parser
//! reading the statement again), the analysis cache (an exact hit: no
//! analysis, no referee; a shape hit: the same statement with other
//! literals, its literals lifted and its template filled; and such a hit
//! decided, the whole check), lifting alone
//! (by the fast scanner, and by the parser's tokenizer for comparison),
//! and evaluating a policy (the decision). Measures; asserts nothing about
//! time.
//!
//! `cargo bench --bench policy`

use actgate::policy::SessionState;
use actgate::policy::analyze::{AnalysisLimits, analyze, shape};
use actgate::policy::names::Resolver;
use actgate::proxy::analysis::Found;
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
    for (name, sql) in QUERIES {
        runtime.block_on(analyzer.analyze(&ctx, sql));
        // The caches' answer as a session gets it: synchronously, no
        // future and no runtime in between.
        c.bench_function(&format!("cache_hit/{name}"), |b| {
            b.iter(|| {
                let (a, found) = analyzer.cached(&ctx, black_box(sql)).ok().expect("cached");
                assert_eq!(found, Found::Exact);
                a
            })
        });
        c.bench_function(&format!("lift/{name}"), |b| {
            b.iter(|| shape::lift(black_box(sql)))
        });
        // The same with the parser's tokenizer, which the fast scanner
        // stands in for on plain text.
        c.bench_function(&format!("lift_tokenized/{name}"), |b| {
            b.iter(|| shape::lift_tokenized(black_box(sql)))
        });
    }
    // Shape hits: statements of a shape seen before, every one with
    // literals of its own, so none is an exact hit (a shape hit does not
    // enter the exact cache).
    let situation = actgate::policy::Situation::offline(None, &session, None);
    for (name, text) in SHAPES {
        // Numbered from a million: none is one of QUERIES or a learning text.
        let texts: Vec<String> = (0..SHAPE_TEXTS).map(|n| text(1_000_000 + n)).collect();
        // A shape is learnt the second time it is seen.
        runtime.block_on(analyzer.analyze(&ctx, &text(SHAPE_TEXTS)));
        runtime.block_on(analyzer.analyze(&ctx, &text(SHAPE_TEXTS + 1)));
        // The next text, in turn, and its analysis from the shape.
        let mut n = 0usize;
        let mut next_hit = || {
            n = (n + 1) % SHAPE_TEXTS;
            let (a, found) = analyzer
                .cached(&ctx, black_box(&texts[n]))
                .ok()
                .expect("a shape hit");
            assert_eq!(found, Found::Shape, "{}", texts[n]);
            a
        };
        c.bench_function(&format!("shape_hit/{name}"), |b| b.iter(&mut next_hit));
        // The whole check of such a statement: its analysis from the
        // shape, then the decision.
        c.bench_function(&format!("shape_hit_decided/{name}"), |b| {
            b.iter(|| policy.decide_query(&next_hit(), &situation))
        });
    }
}

/// Distinct texts per shape in the shape-hit benchmarks.
const SHAPE_TEXTS: usize = 50_000;

/// A statement text with its literals numbered `n`.
type Numbered = fn(usize) -> String;

/// [`QUERIES`] with their literals numbered.
const SHAPES: &[(&str, Numbered)] = &[
    ("point", |n| {
        format!("SELECT id, status FROM orders WHERE id = {n}")
    }),
    ("join_group", |n| {
        format!(
            "SELECT c.country, count(*), sum(o.total_cents) FROM orders o JOIN customers c ON c.id = o.customer_id \
             WHERE o.created_at > now() - interval '{n} days' GROUP BY c.country ORDER BY 2 DESC LIMIT {n}"
        )
    }),
    ("cte_window", |n| {
        format!(
            "WITH r AS (SELECT order_id, sum(amount_cents) AS refunded FROM refunds GROUP BY order_id) \
             SELECT o.id, o.total_cents, r.refunded, rank() OVER (ORDER BY r.refunded DESC) \
             FROM orders o JOIN r ON r.order_id = o.id WHERE o.status = 'refunded {n}'"
        )
    }),
];

criterion_group!(benches, bench);
criterion_main!(benches);
