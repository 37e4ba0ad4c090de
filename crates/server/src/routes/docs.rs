//! `/openapi.json`, Swagger UI at `/docs` and ReDoc at `/redoc`, all served from the binary so
//! they render without any network access.

use std::sync::{Arc, LazyLock};

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::OpenApi;
use utoipa_swagger_ui::Config;

use crate::state::AppState;

const REDOC_JS: &[u8] = include_bytes!("../../../../vendor/redoc/redoc.standalone.js");

/// The one address the unmodified ReDoc bundle loads from another host: the "API docs by
/// Redocly" footer logo. It is served from our own origin instead, so the page makes no request
/// to a third party (air-gapped browsers log no failure; open ones tell nobody who reads the docs).
const REDOC_FOOTER_LOGO: &str = "https://cdn.redoc.ly/redoc/logo-mini.svg";
const LOCAL_FOOTER_LOGO: &str = "/assets/logo.svg";

/// The bundle with [`REDOC_FOOTER_LOGO`] pointing at our origin, rewritten once.
static REDOC_JS_LOCAL: LazyLock<Vec<u8>> = LazyLock::new(|| {
    String::from_utf8_lossy(REDOC_JS)
        .replace(REDOC_FOOTER_LOGO, LOCAL_FOOTER_LOGO)
        .into_bytes()
});

const REDOC_HTML: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SentinelAI AI Governance Platform - ReDoc</title>
<link rel="icon" href="/assets/logo.svg" type="image/svg+xml">
<style>body { margin: 0; padding: 0; }</style>
</head>
<body>
<redoc spec-url="/openapi.json"></redoc>
<script src="/redoc/redoc.standalone.js"></script>
</body>
</html>
"#;

pub fn router(doc: OpenApi) -> Router<AppState> {
    let doc = Arc::new(doc);
    let config = Arc::new(Config::new(["/openapi.json"]));
    let swagger_index = config.clone();
    Router::new()
        .route(
            "/openapi.json",
            get(move || async move { Json(doc.as_ref().clone()) }),
        )
        .route(
            "/docs",
            get(move || swagger_file(swagger_index.clone(), String::new(), true)),
        )
        .route(
            "/docs/{*rest}",
            get(move |Path(rest): Path<String>| swagger_file(config.clone(), rest, false)),
        )
        .route("/redoc", get(|| async { Html(REDOC_HTML) }))
        .route(
            "/redoc/redoc.standalone.js",
            get(|| async {
                (
                    [(
                        header::CONTENT_TYPE,
                        "application/javascript; charset=utf-8",
                    )],
                    REDOC_JS_LOCAL.as_slice(),
                )
            }),
        )
}

/// Serves a Swagger UI file. The index is also served at `/docs` itself (no redirect), with a
/// `<base>` so its relative asset links resolve under `/docs/`.
async fn swagger_file(config: Arc<Config<'static>>, rest: String, at_root: bool) -> Response {
    match utoipa_swagger_ui::serve(&rest, config) {
        Ok(Some(file)) => {
            let mut bytes = file.bytes.to_vec();
            if at_root || rest.is_empty() || rest == "index.html" {
                let html = String::from_utf8_lossy(&bytes).replacen(
                    "<head>",
                    "<head>\n<base href=\"/docs/\">",
                    1,
                );
                bytes = html.into_bytes();
            }
            ([(header::CONTENT_TYPE, file.content_type)], bytes).into_response()
        }
        Ok(None) => (StatusCode::NOT_FOUND, "Not Found").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "could not serve swagger ui");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_served_redoc_bundle_names_no_cdn() {
        assert!(
            String::from_utf8_lossy(REDOC_JS).contains(REDOC_FOOTER_LOGO),
            "the vendored bundle changed: check what else it loads from other hosts"
        );
        let served = String::from_utf8_lossy(&REDOC_JS_LOCAL);
        assert!(!served.contains("cdn.redoc.ly"));
        assert!(served.contains(LOCAL_FOOTER_LOGO));
    }
}
