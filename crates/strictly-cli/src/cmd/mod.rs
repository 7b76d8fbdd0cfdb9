//! One module per subcommand; each exposes `Args` (clap) and `run`.

pub mod bench;
pub mod extract;
pub mod generate;
pub mod logits;
pub mod maskbench;
pub mod model;
pub mod serve;
pub mod tokenize;
