//! The OpenAPI document's fixed parts; routes and schemas are collected from the handlers.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "SentinelAI AI Governance Platform",
        description = "Real-time AI behaviour monitoring and enforcement: policies, events, violations, live stream.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    tags(
        (name = "system", description = "Root, health and readiness"),
        (name = "policies", description = "Policies and templates"),
        (name = "events", description = "AI interactions and the live stream"),
        (name = "violations", description = "Breaches found by the engine, and their triage"),
        (name = "dashboard", description = "Aggregates for the dashboard"),
        (name = "guard", description = "Evaluate text against the enforced policies"),
    )
)]
pub struct ApiDoc;
