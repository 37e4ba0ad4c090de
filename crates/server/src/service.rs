//! Use cases that join the store, the engine and the live stream. Plain async functions, callable
//! from handlers, the CLI and tests.

pub mod demo;
pub mod evaluate;
pub mod events;
pub mod guard;
pub mod passwords;
pub mod policies;
pub mod violations;
