//! `--compile-budget-ms`, the same bound on schema compilation wherever a
//! schema is compiled: `serve`, `extract`, `batch`, `test`, `lint`,
//! `maskbench`.

use std::time::Duration;

/// How long one schema's compilation may take.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct CompileBudget {
    /// Time one schema's compilation may take before it is refused as too
    /// complex (HTTP 400 `schema_too_complex`), in milliseconds.
    #[arg(
        long = "compile-budget-ms",
        value_name = "MS",
        default_value_t = strictly_grammar::json::DEFAULT_TIME_BUDGET.as_millis() as u64
    )]
    pub millis: u64,
}

impl CompileBudget {
    pub fn duration(self) -> Duration {
        Duration::from_millis(self.millis.max(1))
    }
}
