//! Tallies the outcomes and prints them.

use crate::corpus::{Corpus, Statement};
use crate::run::{Measured, Outcome};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// How many failure groups the report lists.
const TOP: usize = 30;

/// Outcomes of one set of statements, by reason.
#[derive(Default)]
pub struct Tally {
    pub total: usize,
    pub analysable: usize,
    pub reasons: BTreeMap<String, usize>,
}

impl Tally {
    fn add(&mut self, o: &Outcome) {
        self.total += 1;
        self.analysable += usize::from(o.analysable());
        *self.reasons.entry(o.reason().to_owned()).or_default() += 1;
    }

    fn count(&self, reason: &str) -> usize {
        self.reasons.get(reason).copied().unwrap_or(0)
    }

    fn pct(&self, n: usize) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            100.0 * n as f64 / self.total as f64
        }
    }

    fn json(&self) -> Value {
        json!({
            "total": self.total,
            "analysable": self.analysable,
            "analysable_pct": round(self.pct(self.analysable)),
            "reasons": self.reasons,
        })
    }
}

/// A group of failures that share a message.
pub struct Group {
    pub count: usize,
    pub dml: usize,
    pub example: String,
}

/// Everything the run found.
#[derive(Default)]
pub struct Report {
    pub whole: Tally,
    pub dml: Tally,
    pub groups: HashMap<String, Group>,
    pub failing_kinds: HashMap<String, usize>,
    pub analysis: Vec<Duration>,
    pub decision: Vec<Duration>,
    pub referee: Vec<Duration>,
}

impl Report {
    pub fn add(&mut self, s: &Statement, m: &Measured) {
        self.whole.add(&m.outcome);
        if s.is_dml() {
            self.dml.add(&m.outcome);
        }
        self.analysis.push(m.analysis);
        self.decision.push(m.decision);
        self.referee.extend(m.referee);
        if m.outcome.analysable() {
            return;
        }
        *self.failing_kinds.entry(s.kind.clone()).or_default() += 1;
        let g = self
            .groups
            .entry(m.outcome.group())
            .or_insert_with(|| Group {
                count: 0,
                dml: 0,
                example: one_line(&s.sql),
            });
        g.count += 1;
        g.dml += usize::from(s.is_dml());
    }

    fn top_groups(&self) -> Vec<(&String, &Group)> {
        let mut groups: Vec<_> = self.groups.iter().collect();
        groups.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
        groups.truncate(TOP);
        groups
    }

    pub fn print(&mut self, corpus: &Corpus, source: &str, elapsed: Duration) {
        println!("# Grammar coverage\n");
        println!("corpus: {source}");
        println!(
            "{} files; {} statement texts split, {} distinct ones PostgreSQL's parser accepts ({} rejected or duplicated)\n",
            corpus.files,
            corpus.split,
            corpus.statements.len(),
            corpus.split - corpus.statements.len()
        );
        let reasons = self.reason_columns();
        let mut head = String::from("| | statements | analysable |");
        let mut rule = String::from("|---|---:|---:|");
        for r in &reasons {
            head.push_str(&format!(" {r} |"));
            rule.push_str("---:|");
        }
        println!("{head}\n{rule}");
        for (name, t) in [
            ("whole corpus", &self.whole),
            ("SELECT / WITH / INSERT / UPDATE / DELETE", &self.dml),
        ] {
            let mut row = format!(
                "| {name} | {} | {} ({:.1} %) |",
                t.total,
                t.analysable,
                t.pct(t.analysable)
            );
            for r in &reasons {
                let n = t.count(r);
                row.push_str(&format!(" {n} ({:.1} %) |", t.pct(n)));
            }
            println!("{row}");
        }
        println!(
            "\nanalysable = allowed, or analysed and then denied by the decision (a built-in refusal such as DROP ROLE)."
        );
        println!(
            "\n## Top {TOP} failures (of {} groups)\n",
            self.groups.len()
        );
        println!("| count | of them DML | failure | first example |\n|---:|---:|---|---|");
        for (msg, g) in self.top_groups() {
            println!(
                "| {} | {} | {} | `{}` |",
                g.count,
                g.dml,
                cell(msg),
                cell(&g.example)
            );
        }
        let mut kinds: Vec<_> = self.failing_kinds.iter().collect();
        kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let kinds: Vec<String> = kinds
            .iter()
            .take(15)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        println!("\nfailing statements by kind: {}", kinds.join(", "));
        let (a50, a99) = percentiles(&mut self.analysis);
        let (d50, d99) = percentiles(&mut self.decision);
        let (r50, r99) = percentiles(&mut self.referee);
        println!(
            "\nanalysis (referee included): median {:.1} µs, p99 {:.1} µs; of it the referee: median {:.1} µs, p99 {:.1} µs; decision: median {:.1} µs, p99 {:.1} µs; run {:.1} s",
            micros(a50),
            micros(a99),
            micros(r50),
            micros(r99),
            micros(d50),
            micros(d99),
            elapsed.as_secs_f64()
        );
    }

    pub fn json(&mut self, corpus: &Corpus, source: &str, elapsed: Duration) -> Value {
        let (a50, a99) = percentiles(&mut self.analysis);
        let (d50, d99) = percentiles(&mut self.decision);
        let (r50, r99) = percentiles(&mut self.referee);
        let top: Vec<Value> = self
            .top_groups()
            .into_iter()
            .map(|(m, g)| json!({"failure": m, "count": g.count, "dml": g.dml, "example": g.example}))
            .collect();
        json!({
            "corpus": source,
            "files": corpus.files,
            "split": corpus.split,
            "distinct_accepted": corpus.statements.len(),
            "whole": self.whole.json(),
            "dml": self.dml.json(),
            "top_failures": top,
            "failing_kinds": self.failing_kinds,
            "analysis_us": {"p50": round(micros(a50)), "p99": round(micros(a99))},
            "referee_us": {"p50": round(micros(r50)), "p99": round(micros(r99))},
            "decision_us": {"p50": round(micros(d50)), "p99": round(micros(d99))},
            "run_s": round(elapsed.as_secs_f64()),
        })
    }

    /// The reason columns: the analysis failures first, then the denials
    /// by count.
    fn reason_columns(&self) -> Vec<String> {
        let mut fixed = vec!["parse_error".to_owned(), "unsupported_statement".to_owned()];
        let mut rest: Vec<(&String, &usize)> = self
            .whole
            .reasons
            .iter()
            .filter(|(r, _)| *r != "allow" && !fixed.contains(r))
            .collect();
        rest.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        fixed.extend(rest.into_iter().map(|(r, _)| r.clone()));
        fixed
    }
}

fn percentiles(times: &mut [Duration]) -> (Duration, Duration) {
    if times.is_empty() {
        return (Duration::ZERO, Duration::ZERO);
    }
    times.sort_unstable();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99))
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// A statement on one line, cut to 100 characters.
fn one_line(sql: &str) -> String {
    let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(100) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat,
    }
}

/// Text safe in a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('`', "'")
}
