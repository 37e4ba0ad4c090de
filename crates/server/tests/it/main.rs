#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Integration tests: each test spawns the real server on port 0 with its own fresh database
//! (a temporary SQLite file, or a new PostgreSQL database when `SENTINEL_TEST_DATABASE_URL` is set).

mod client;
mod helpers;
mod triage;

mod audit;
mod auth;
mod backtest;
mod boot;
mod cluster;
mod counters;
mod dashboard;
mod demo;
mod docs;
mod engine;
mod events;
mod gateway;
mod gateway_sdk;
mod keepalive;
mod lifecycle;
mod live;
mod policies;
mod privacy;
mod rbac;
mod reports;
mod siem;
mod system;
mod upstream;
mod violations;
mod webhooks;
mod webhooks_verifier;
mod writer;
