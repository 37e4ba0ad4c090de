//! Canonical slashes: collection routes end with `/`, every other API route has none. A request
//! to the other form answers `307` to the canonical one, query string kept (CONTRACT.md §0).

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Routes whose canonical form ends with a slash.
pub const COLLECTIONS: &[&str] = &[
    "/api/policies/",
    "/api/events/",
    "/api/violations/",
    "/api/policies/templates/",
    "/api/users/",
    "/api/keys/",
    "/api/audit/",
    "/api/webhooks/",
];

/// The canonical form of `path`, when it differs from `path`.
pub fn canonical(path: &str) -> Option<String> {
    if COLLECTIONS
        .iter()
        .any(|c| c.strip_suffix('/') == Some(path))
    {
        return Some(format!("{path}/"));
    }
    let is_api = path.starts_with("/api/");
    let is_root_route = matches!(path, "/health/" | "/ready/" | "/openapi.json/" | "/redoc/");
    if (is_api || is_root_route) && path.ends_with('/') && !COLLECTIONS.contains(&path) {
        let trimmed = path.trim_end_matches('/');
        if !trimmed.is_empty() {
            return Some(trimmed.to_owned());
        }
    }
    None
}

pub async fn canonical_slash(req: Request, next: Next) -> Response {
    let Some(target) = canonical(req.uri().path()) else {
        return next.run(req).await;
    };
    let location = match req.uri().query() {
        Some(q) => format!("{target}?{q}"),
        None => target,
    };
    match HeaderValue::from_str(&location) {
        Ok(value) => (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, value)]).into_response(),
        Err(_) => next.run(req).await,
    }
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn redirects_to_the_canonical_form() {
        assert_eq!(
            canonical("/api/policies").as_deref(),
            Some("/api/policies/")
        );
        assert_eq!(
            canonical("/api/policies/templates").as_deref(),
            Some("/api/policies/templates/")
        );
        assert_eq!(
            canonical("/api/policies/3/").as_deref(),
            Some("/api/policies/3")
        );
        assert_eq!(
            canonical("/api/dashboard/stats/").as_deref(),
            Some("/api/dashboard/stats")
        );
        assert_eq!(canonical("/health/").as_deref(), Some("/health"));
        assert_eq!(canonical("/api/policies/"), None);
        assert_eq!(canonical("/api/events/stats/summary"), None);
        assert_eq!(canonical("/docs/"), None);
        assert_eq!(canonical("/"), None);
    }
}
