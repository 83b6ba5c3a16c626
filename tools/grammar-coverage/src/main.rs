//! grammar-coverage: how much of PostgreSQL's regression SQL actgate can
//! analyse. Splits the corpus (see fetch-corpus.sh) into statements with
//! PostgreSQL's own scanner, keeps the distinct ones PostgreSQL's parser
//! accepts, and runs each through actgate's analysis and decision with an
//! agent that allows everything. See README.md.

mod corpus;
mod report;
mod rules;
mod run;

use actgate::policy::analyze::shape;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

const USAGE: &str = "usage: grammar-coverage [--corpus DIR] [--failures FILE] [--json] [--rules]

  --corpus DIR     the *.sql files (default: target/grammar-corpus/postgres_regress
                   in the repository root, as fetch-corpus.sh leaves them)
  --failures FILE  write every statement that is not allowed, with its reason
  --json           print the summary as JSON instead of Markdown
  --rules          print the allow-everything rules file and exit";

struct Args {
    corpus: PathBuf,
    failures: Option<PathBuf>,
    json: bool,
    rules: bool,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        corpus: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/grammar-corpus/postgres_regress"),
        failures: None,
        json: false,
        rules: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--corpus" => a.corpus = it.next().ok_or("--corpus needs a directory")?.into(),
            "--failures" => a.failures = Some(it.next().ok_or("--failures needs a file")?.into()),
            "--json" => a.json = true,
            "--rules" => a.rules = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(a)
}

fn main() {
    // Deep expression trees recurse in the analysis: a large stack, as the
    // proxy gives long statements.
    let worker = std::thread::Builder::new()
        .stack_size(512 << 20)
        .spawn(|| main_with_args().map_err(|e| e.to_string()))
        .expect("spawn the worker thread");
    match worker.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            eprintln!("grammar-coverage: {e}");
            std::process::exit(2);
        }
        Err(_) => std::process::exit(3),
    }
}

fn main_with_args() -> Result<(), String> {
    let args = args()?;
    let started = Instant::now();
    let corpus = corpus::load(&args.corpus)?;
    if args.rules {
        print!("{}", rules::text(&corpus));
        return Ok(());
    }
    let policy = rules::policy(&corpus)?;
    let source = source(&args.corpus);
    // A panic in actgate is counted (and reported), not printed.
    std::panic::set_hook(Box::new(|_| {}));
    let mut report = report::Report::default();
    let mut failures = Vec::new();
    // The shape cache's fast scanner must cut every statement as the
    // parser's tokenizer does (or leave it to the tokenizer).
    let mut scanner_disagreements = Vec::new();
    for s in &corpus.statements {
        if shape::lift(&s.sql) != shape::lift_tokenized(&s.sql) {
            scanner_disagreements.push(s);
        }
        let m = run::measure(&policy, s);
        report.add(s, &m);
        if m.outcome != run::Outcome::Allowed {
            failures.push((s, m.outcome));
        }
    }
    let _ = std::panic::take_hook();
    if let Some(path) = &args.failures {
        write_failures(path, &failures).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    for s in &scanner_disagreements {
        eprintln!("shape scanner disagrees with the tokenizer: {} {:?}", s.file, s.sql);
    }
    eprintln!(
        "shape scanner: {} of {} statements cut otherwise than by the tokenizer",
        scanner_disagreements.len(),
        corpus.statements.len()
    );
    let elapsed = started.elapsed();
    if args.json {
        let v = report.json(&corpus, &source, elapsed);
        println!(
            "{}",
            serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?
        );
    } else {
        report.print(&corpus, &source, elapsed);
    }
    Ok(())
}

/// The corpus' origin, from fetch-corpus.sh's SOURCE file if present.
fn source(dir: &std::path::Path) -> String {
    dir.parent()
        .and_then(|p| std::fs::read_to_string(p.join("SOURCE")).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| dir.display().to_string())
}

/// One block per statement: its reason and file as SQL comments, then the
/// statement and a `;`, so the file can be fed back to a SQL tool.
fn write_failures(
    path: &std::path::Path,
    failures: &[(&corpus::Statement, run::Outcome)],
) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for (s, o) in failures {
        let detail = o.detail().replace('\n', " ");
        writeln!(out, "-- {detail}\n-- {} ({})\n{};\n", s.file, s.kind, s.sql)?;
    }
    out.flush()
}
