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
        (name = "webhooks", description = "Signed webhook endpoints and their delivery log (admin)"),
        (name = "reports", description = "Compliance reports mapped to frameworks, and usage and cost analytics"),
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

/// Applied to the finished document (after every route is merged in).
/// Answers every operation can give besides its own: 401 and 403 on protected operations, 422
/// wherever parameters or a body are parsed, 413 wherever a body is read. Declared once here so
/// the document never under-states what a client must handle.
pub struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let response = |description: &str, schema: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name(schema)))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                let public = op
                    .security
                    .as_ref()
                    .is_some_and(|s| s.iter().all(|r| *r == SecurityRequirement::default()));
                let responses = &mut op.responses.responses;
                let mut add = |code: &str, description: &str, schema: &str| {
                    responses
                        .entry(code.to_owned())
                        .or_insert_with(|| response(description, schema).into());
                };
                if !public {
                    add("401", "Missing or invalid credentials", "ErrorBody");
                    add("403", "The credentials lack the permission", "ErrorBody");
                }
                let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
                if has_params || op.request_body.is_some() {
                    add("422", "Invalid parameters or body", "ValidationErrorBody");
                }
                if op.request_body.is_some() {
                    add("413", "The body is larger than the limit", "ErrorBody");
                }
            }
        }
    }
}
