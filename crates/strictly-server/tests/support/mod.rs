//! What the integration tests share.

use std::sync::Arc;

use strictly_engine::testing::{ByteCodec, ScriptedModel};
use strictly_engine::{Engine, EngineConfig, GrammarCompiler, TextCodec};
use strictly_server::{AppState, ServerConfig};

/// A ready server with the real grammar engine, whose model favours
/// `script` wherever the constraint allows.
pub fn grammar_server(script: &str) -> AppState {
    let codec = ByteCodec::new();
    let compiler = GrammarCompiler::new(&codec, codec.vocab_size()).unwrap();
    let engine = Engine::builder(
        ScriptedModel::new(script),
        Arc::new(codec),
        Arc::new(compiler),
    )
    .config(EngineConfig::default())
    .start();
    let state = AppState::loading(ServerConfig::default());
    state.set_ready(engine, "test-model");
    state
}
