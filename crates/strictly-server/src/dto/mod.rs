//! Wire types: the JSON the API accepts and returns, kept apart from the
//! engine's types so either can change without breaking the other.

mod chat;
mod error;
mod extract;
mod models;

pub use chat::*;
pub use error::*;
pub use extract::*;
pub use models::*;
