//! The OpenAPI document's fixed parts; routes and schemas are collected from the handlers.

use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Password, Scopes,
    SecurityRequirement, SecurityScheme,
};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "SentinelAI AI Governance Platform",
        description = "Real-time AI behaviour monitoring and enforcement: policies, events, violations, live stream.\n\nEvery `/api/**` route needs a user's access token or an API key (`Authorization: Bearer …` or `X-API-Key: …`) unless it says otherwise; the roles each route requires are in `docs/SECURITY.md`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    modifiers(&Security),
    tags(
        (name = "system", description = "Root, health and readiness"),
        (name = "auth", description = "Sign-in, token refresh and sign-out"),
        (name = "policies", description = "Policies and templates"),
        (name = "events", description = "AI interactions and the live stream"),
        (name = "violations", description = "Breaches found by the engine, and their triage"),
        (name = "dashboard", description = "Aggregates for the dashboard"),
        (name = "guard", description = "Evaluate text against the enforced policies"),
        (name = "users", description = "User management (admin)"),
        (name = "keys", description = "API keys for AI applications (admin)"),
        (name = "audit", description = "The tamper-evident audit trail (admin)"),
    )
)]
pub struct ApiDoc;

/// The three ways to authenticate, required by default on every operation; public operations
/// override it with an empty requirement.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT or API key")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
        components.add_security_scheme(
            "oauth2",
            SecurityScheme::OAuth2(OAuth2::new([Flow::Password(Password::new(
                "/api/auth/token",
                Scopes::new(),
            ))])),
        );
        openapi.security = Some(vec![
            SecurityRequirement::new("bearer", Vec::<String>::new()),
            SecurityRequirement::new("api_key", Vec::<String>::new()),
            SecurityRequirement::new("oauth2", Vec::<String>::new()),
        ]);
    }
}
