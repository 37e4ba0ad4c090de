//! Use cases that join the store, the engine and the live stream. Plain async functions, callable
//! from handlers, the CLI and tests.

pub mod demo;
pub mod events;
pub mod passwords;
pub mod policies;
