//! One module per subcommand; each exposes `Args` (clap) and `run`.

pub mod batch;
pub mod bench;
pub mod bench_serve;
pub mod bench_soak;
pub mod budget;
pub mod extract;
pub mod generate;
pub mod lint;
pub mod logits;
pub mod maskbench;
pub mod model;
pub mod runtime;
pub mod serve;
pub mod test;
pub mod tokenize;
