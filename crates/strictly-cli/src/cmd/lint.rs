//! `strictly lint FILE...`: every problem of each schema (and of each GBNF
//! grammar, `.gbnf`), found by the grammar compiler without loading the
//! model. Exits non-zero when any file has an error; warnings (ignored
//! non-standard keywords) alone do not fail.

use std::path::PathBuf;

use anyhow::bail;
use serde::Serialize;
use strictly_regression::lint::{Diagnostic, GrammarCompiler, Severity, lint_text};

#[derive(clap::Args)]
pub struct Args {
    /// Schema files to check; files ending in `.gbnf` are GBNF grammars.
    #[arg(required = true)]
    schemas: Vec<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    compile_budget: super::budget::CompileBudget,
}

/// `--json` output.
#[derive(Serialize)]
struct Report {
    files: Vec<FileReport>,
    errors: usize,
    warnings: usize,
}

#[derive(Serialize)]
struct FileReport {
    path: String,
    errors: usize,
    warnings: usize,
    diagnostics: Vec<Diagnostic>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let compiler = GrammarCompiler::default().with_time_budget(args.compile_budget.duration());
    let mut files = Vec::new();
    for path in &args.schemas {
        let diagnostics = match std::fs::read_to_string(path) {
            Ok(text) if path.extension().is_some_and(|e| e == "gbnf") => compiler.lint_gbnf(&text),
            Ok(text) => lint_text(&text, &compiler),
            Err(err) => bail!("reading {}: {err}", path.display()),
        };
        let errors = diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        files.push(FileReport {
            path: path.display().to_string(),
            errors,
            warnings: diagnostics.len() - errors,
            diagnostics,
        });
    }
    let report = Report {
        errors: files.iter().map(|f| f.errors).sum(),
        warnings: files.iter().map(|f| f.warnings).sum(),
        files,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for file in &report.files {
            for d in &file.diagnostics {
                println!("{}:{}", file.path, d.line());
            }
        }
        println!(
            "{} file(s): {} error(s), {} warning(s)",
            report.files.len(),
            report.errors,
            report.warnings
        );
    }
    if report.errors > 0 {
        // The findings are the output; the exit status carries the verdict.
        std::process::exit(1);
    }
    Ok(())
}
