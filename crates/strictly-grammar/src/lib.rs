//! Grammar engine.
