//! Extractors whose rejections use the API's error shape (FastAPI-compatible 422 bodies).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use sentinel_api::error::ValidationIssue;
use sentinel_api::page::{MAX_LIMIT, PageParams};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;
use crate::state::AppState;

/// Turns a serde error at `path` into a 422 issue located in `part` (`body` or `query`).
fn issue(part: &str, path: &serde_path_to_error::Path, message: &str) -> ValidationIssue {
    let mut loc: Vec<Value> = vec![part.into()];
    for segment in path.iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => loc.push((*index).into()),
            serde_path_to_error::Segment::Map { key } => loc.push(key.as_str().into()),
            serde_path_to_error::Segment::Enum { variant } => loc.push(variant.as_str().into()),
            serde_path_to_error::Segment::Unknown => {}
        }
    }
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|m| m.split('`').next())
    {
        loc.push(field.into());
        return ValidationIssue::new(loc, "Field required", "missing");
    }
    let kind = if message.starts_with("unknown variant") {
        "enum"
    } else if message.starts_with("invalid type: null") {
        "null_not_allowed"
    } else if message.starts_with("invalid type") {
        "type_error"
    } else if message.starts_with("invalid digit") || message.contains("invalid digit") {
        "int_parsing"
    } else {
        "value_error"
    };
    // serde's "at line 1 column 9" suffix means nothing to a client reading `loc`.
    let msg = message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned();
    ValidationIssue::new(loc, msg, kind)
}

/// A JSON body. Malformed JSON, invalid UTF-8, a non-object body and wrong field types are 422s;
/// a body over the limit is a 413.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e: BytesRejection| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::payload_too_large(state.settings.body_limit)
                } else {
                    ApiError::bad_request(format!("Could not read the request body: {e}"))
                }
            })?;
        parse_json_body(&bytes).map(ApiJson)
    }
}

/// Parses a request body as `T`, reporting problems as 422 issues.
pub fn parse_json_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid(&["body"], "Field required", "missing"));
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        let msg = if std::str::from_utf8(bytes).is_err() {
            "Body is not valid UTF-8".to_owned()
        } else {
            format!("JSON decode error: {e}")
        };
        ApiError::validation(vec![ValidationIssue::new(
            vec!["body".into(), e.column().into()],
            msg,
            "json_invalid",
        )])
    })?;
    if !value.is_object() {
        return Err(ApiError::invalid(
            &["body"],
            "Input should be a valid dictionary or object",
            "dict_type",
        ));
    }
    if let Some(mut loc) = nul_location(&value) {
        loc.insert(0, "body".into());
        return Err(ApiError::validation(vec![ValidationIssue::new(
            loc,
            NUL_MESSAGE,
            "string_nul",
        )]));
    }
    serde_path_to_error::deserialize(value)
        .map_err(|e| ApiError::validation(vec![issue("body", e.path(), &e.inner().to_string())]))
}

const NUL_MESSAGE: &str = "Text must not contain the NUL character (U+0000)";

/// Where a string holding U+0000 sits in `value`. PostgreSQL refuses that character in text, so
/// it is turned away at the edge, on both backends alike.
fn nul_location(value: &Value) -> Option<Vec<Value>> {
    match value {
        Value::String(s) if s.contains('\0') => Some(Vec::new()),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| {
            nul_location(v).map(|mut loc| {
                loc.insert(0, i.into());
                loc
            })
        }),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                return Some(vec![k.replace('\0', "").into()]);
            }
            nul_location(v).map(|mut loc| {
                loc.insert(0, k.as_str().into());
                loc
            })
        }),
        _ => None,
    }
}

/// Query parameters. Unknown parameters are ignored; bad values are 422s at `["query", name]`.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        parse_query(query).map(ApiQuery)
    }
}

pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    // Empty values (`?status=`) mean "not given", as browsers send them from blank form fields.
    let pairs: Vec<(String, String)> = url_pairs(query)
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    if let Some((key, _)) = pairs
        .iter()
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
    {
        return Err(ApiError::validation(vec![ValidationIssue::new(
            vec!["query".into(), key.replace('\0', "").into()],
            NUL_MESSAGE,
            "string_nul",
        )]));
    }
    let encoded = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    let de = serde_urlencoded::Deserializer::new(form_parse(&encoded));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let message = e.inner().to_string();
        let mut found = issue("query", e.path(), &message);
        // Flat query structs: serde names the field only in the message for missing ones and
        // through the path for the others; make `loc` always name it.
        if let Some(field) = message.split('`').nth(1).filter(|_| found.loc.len() == 1) {
            found.loc.push(field.into());
        }
        ApiError::validation(vec![found])
    })
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap_or_default()
}

fn form_parse(encoded: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(encoded.as_bytes())
}

/// `skip`/`limit` with the contract's bounds.
pub struct Pagination(pub PageParams);

impl<S: Send + Sync> FromRequestParts<S> for Pagination {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ApiQuery(page) = ApiQuery::<PageParams>::from_request_parts(parts, state).await?;
        if i64::try_from(page.skip).is_err() {
            return Err(ApiError::invalid(
                &["query", "skip"],
                format!("Input should be less than or equal to {}", i64::MAX),
                "less_than_equal",
            ));
        }
        if page.limit > MAX_LIMIT {
            return Err(ApiError::invalid(
                &["query", "limit"],
                format!("Input should be less than or equal to {MAX_LIMIT}"),
                "less_than_equal",
            ));
        }
        Ok(Pagination(page))
    }
}

/// The numeric id in the route (the last path parameter), e.g. `{policy_id}`, as the typed id
/// the handler names (`PathId<PolicyId>`), or a plain `i64` for the ids that have no type.
pub struct PathId<T = i64>(pub T);

impl<T: From<i64> + Send, S: Send + Sync> FromRequestParts<S> for PathId<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let Some((name, value)) = params.iter().last() else {
            return Err(ApiError::bad_request("missing path parameter"));
        };
        path_int(name, value).map(|id| PathId(T::from(id)))
    }
}

fn path_int(name: &str, value: &str) -> Result<i64, ApiError> {
    value.parse::<i64>().map_err(|_| {
        ApiError::invalid(
            &["path", name],
            "Input should be a valid integer, unable to parse string as an integer",
            "int_parsing",
        )
    })
}

/// Every path parameter of the route, in order, as integers: `{policy_id}/versions/{version}`
/// is `PathInts([policy_id, version])`. The route must have exactly `N` parameters.
pub struct PathInts<const N: usize>(pub [i64; N]);

impl<const N: usize, S: Send + Sync> FromRequestParts<S> for PathInts<N> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let mut out = [0; N];
        let mut count = 0;
        for (name, value) in params.iter() {
            let slot = out
                .get_mut(count)
                .ok_or_else(|| ApiError::bad_request("unexpected path parameter"))?;
            *slot = path_int(name, value)?;
            count += 1;
        }
        if count != N {
            return Err(ApiError::bad_request("missing path parameter"));
        }
        Ok(PathInts(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sentinel_api::event::EventFilter;
    use sentinel_api::policy::PolicyCreate;

    fn detail(err: ApiError) -> Vec<ValidationIssue> {
        err.into_issues()
            .unwrap_or_else(|other| panic!("expected 422, got {other:?}"))
    }

    #[test]
    fn body_errors_point_at_the_field() {
        let d = detail(
            parse_json_body::<PolicyCreate>(br#"{"definition":"x","category":"privacy"}"#)
                .err()
                .unwrap(),
        );
        assert_eq!(d[0].loc, vec![Value::from("body"), Value::from("name")]);
        assert_eq!(d[0].kind, "missing");
        let d = detail(
            parse_json_body::<PolicyCreate>(
                br#"{"name":null,"definition":"x","category":"privacy"}"#,
            )
            .err()
            .unwrap(),
        );
        assert_eq!(d[0].loc, vec![Value::from("body"), Value::from("name")]);
        let d = detail(
            parse_json_body::<PolicyCreate>(br#"{"name":"n","definition":"x","category":"nope"}"#)
                .err()
                .unwrap(),
        );
        assert_eq!(d[0].kind, "enum");
        assert_eq!(
            detail(parse_json_body::<PolicyCreate>(b"{not json").err().unwrap())[0].kind,
            "json_invalid"
        );
        assert_eq!(
            detail(parse_json_body::<PolicyCreate>(b"[1]").err().unwrap())[0].kind,
            "dict_type"
        );
        assert_eq!(
            detail(
                parse_json_body::<PolicyCreate>(&[0xff, 0xfe])
                    .err()
                    .unwrap()
            )[0]
            .kind,
            "json_invalid"
        );
    }

    #[test]
    fn query_errors_name_the_parameter() {
        let d = detail(parse_query::<EventFilter>("status=bogus").err().unwrap());
        assert_eq!(d[0].loc, vec![Value::from("query"), Value::from("status")]);
        let f: EventFilter = parse_query("status=&severity=high").unwrap();
        assert!(f.status.is_none());
        assert_eq!(f.severity, Some(sentinel_api::Severity::High));
        let d = detail(parse_query::<PageParams>("limit=abc").err().unwrap());
        assert_eq!(d[0].loc, vec![Value::from("query"), Value::from("limit")]);
    }
}
