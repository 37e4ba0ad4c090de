//! Authentication and authorization.
//!
//! A request proves who it is with a user's access token (a short-lived HS256 JWT) or an API key,
//! in `Authorization: Bearer …` or `X-API-Key: …` (and `?token=` on the WebSocket route only).
//! Handlers state what they need with an extractor in their signature: `Auth<Read>`,
//! `Auth<Ingest>`, `Auth<Analyst>`, `Auth<Admin>` or `Auth<AnyUser>`. The matrix is written out in
//! `docs/SECURITY.md`, and a test walks every route of the OpenAPI document against it.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use sentinel_api::{KeyScope, UserId, UserRole};
use sentinel_store::{AuditContext, Store};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::service::ServiceError;

/// Visible start of every API key.
pub const KEY_PREFIX: &str = "snl_";
/// Characters of the key's random id that are stored in clear (after `snl_`).
const KEY_ID_LEN: usize = 8;
/// How long a cached user or key is trusted before the store is asked again.
const CACHE_TTL: Duration = Duration::from_secs(5);
/// `last_used_at` of a key is written at most this often.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    User {
        id: i64,
        username: String,
        role: UserRole,
    },
    Key {
        id: i64,
        prefix: String,
        scopes: Vec<KeyScope>,
        /// The application and environment the key is bound to (its gateway calls' scope).
        app: Option<String>,
        environment: Option<String>,
    },
    /// No credentials, and the operator set `SENTINEL_ANONYMOUS_ROLE`.
    Anonymous { role: UserRole },
}

impl Principal {
    /// How the principal appears in the audit trail.
    pub fn actor(&self) -> String {
        match self {
            Principal::User { username, .. } => format!("user:{username}"),
            Principal::Key { prefix, .. } => format!("key:{prefix}"),
            Principal::Anonymous { .. } => "anonymous".into(),
        }
    }

    pub fn user_id(&self) -> Option<i64> {
        match self {
            Principal::User { id, .. } => Some(*id),
            _ => None,
        }
    }

    fn role(&self) -> Option<UserRole> {
        match self {
            Principal::User { role, .. } | Principal::Anonymous { role } => Some(*role),
            Principal::Key { .. } => None,
        }
    }

    /// The application a key is bound to.
    pub fn app(&self) -> Option<&str> {
        match self {
            Principal::Key { app, .. } => app.as_deref(),
            _ => None,
        }
    }

    /// The environment a key is bound to.
    pub fn environment(&self) -> Option<&str> {
        match self {
            Principal::Key { environment, .. } => environment.as_deref(),
            _ => None,
        }
    }

    fn has_scope(&self, scope: KeyScope) -> bool {
        matches!(self, Principal::Key { scopes, .. } if scopes.contains(&scope))
    }
}

/// A permission a route requires. Implemented by the marker types below.
pub trait Requirement: Send + Sync + 'static {
    /// The name used in `docs/SECURITY.md`.
    const NAME: &'static str;
    fn allows(principal: &Principal) -> bool;
}

/// Any read route: every role, and keys with the `read` scope.
pub struct Read;
/// Guard and event ingestion: admins, analysts, and keys with the `ingest` scope.
pub struct Ingest;
/// Policy authoring and triage: admins and analysts.
pub struct Analyst;
/// Users, keys and the audit trail: admins only.
pub struct Admin;
/// Any signed-in user (not a key): `GET /api/auth/me`.
pub struct AnyUser;
/// The model gateway (`/v1/*`): keys with the `proxy` scope, and admins and analysts (to try it).
pub struct Proxy;

impl Requirement for Read {
    const NAME: &'static str = "read";
    fn allows(p: &Principal) -> bool {
        p.role().is_some() || p.has_scope(KeyScope::Read)
    }
}

impl Requirement for Ingest {
    const NAME: &'static str = "ingest";
    fn allows(p: &Principal) -> bool {
        matches!(p.role(), Some(UserRole::Admin | UserRole::Analyst))
            || p.has_scope(KeyScope::Ingest)
    }
}

impl Requirement for Analyst {
    const NAME: &'static str = "analyst";
    fn allows(p: &Principal) -> bool {
        matches!(p.role(), Some(UserRole::Admin | UserRole::Analyst))
    }
}

impl Requirement for Admin {
    const NAME: &'static str = "admin";
    fn allows(p: &Principal) -> bool {
        p.role() == Some(UserRole::Admin)
    }
}

impl Requirement for Proxy {
    const NAME: &'static str = "proxy";
    fn allows(p: &Principal) -> bool {
        matches!(p.role(), Some(UserRole::Admin | UserRole::Analyst))
            || p.has_scope(KeyScope::Proxy)
    }
}

impl Requirement for AnyUser {
    const NAME: &'static str = "user";
    fn allows(p: &Principal) -> bool {
        matches!(p, Principal::User { .. })
    }
}

/// Where a request came from: what its audit entries record besides the actor. Cheap to take
/// (an address and a reference-counted header), so read-only requests pay nothing for auditing.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    client: Option<IpAddr>,
    request_id: Option<axum::http::HeaderValue>,
}

impl Origin {
    fn of(parts: &Parts) -> Self {
        Self {
            client: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
            request_id: parts.headers.get("x-request-id").cloned(),
        }
    }

    /// The audit context of a change made by `actor` in this request.
    pub fn audit(&self, actor: String) -> AuditContext {
        AuditContext {
            actor,
            client_addr: self.client.map(|ip| ip.to_string()),
            request_id: self
                .request_id
                .as_ref()
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        }
    }
}

/// An authenticated, authorized caller and where the request came from.
pub struct Auth<R: Requirement> {
    pub principal: Principal,
    origin: Origin,
    _requirement: PhantomData<R>,
}

impl<R: Requirement> Auth<R> {
    /// The audit context of a change this caller makes.
    pub fn audit(&self) -> AuditContext {
        self.origin.audit(self.principal.actor())
    }
}

/// What the extractors need from the application state: implemented by
/// [`AppState`](crate::state::AppState), which holds an [`Authenticator`], so this module does not
/// depend on the state's module.
pub trait Credentials: Send + Sync {
    fn authenticator(&self) -> &Authenticator;
    fn store(&self) -> &Store;
}

impl<R: Requirement, S: Credentials> FromRequestParts<S> for Auth<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let principal = state
            .authenticator()
            .authenticate(parts, state.store())
            .await?;
        if !R::allows(&principal) {
            return Err(ApiError::forbidden());
        }
        Ok(Self {
            principal,
            origin: Origin::of(parts),
            _requirement: PhantomData,
        })
    }
}

/// The request's audit context for the public routes (login, refresh, logout): no principal yet.
pub struct RequestContext(pub AuditContext);

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(Self(Origin::of(parts).audit("anonymous".into())))
    }
}

/// The claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: String,
    pub name: String,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Clone)]
struct CachedUser {
    username: String,
    role: UserRole,
    active: bool,
    at: Instant,
}

#[derive(Clone)]
struct CachedKey {
    id: i64,
    key_hash: [u8; 32],
    scopes: Vec<KeyScope>,
    app: Option<String>,
    environment: Option<String>,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    revoked: bool,
    at: Instant,
    touched: Option<Instant>,
}

/// Token signing, credential checks and their caches. One per process.
pub struct Authenticator {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    anonymous_role: Option<UserRole>,
    users: Mutex<HashMap<i64, CachedUser>>,
    keys: Mutex<HashMap<String, CachedKey>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("access_ttl", &self.access_ttl)
            .field("anonymous_role", &self.anonymous_role)
            .finish_non_exhaustive()
    }
}

fn unauthenticated() -> ApiError {
    ApiError::not_authenticated()
}

fn invalid_credentials() -> ApiError {
    ApiError::invalid_credentials()
}

impl Authenticator {
    pub fn new(
        secret: &[u8],
        access_ttl: Duration,
        refresh_ttl: Duration,
        anonymous_role: Option<UserRole>,
    ) -> Self {
        // Only HS256 is accepted: a token naming `none` or another algorithm is refused.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_ttl,
            refresh_ttl,
            anonymous_role,
            users: Mutex::new(HashMap::new()),
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// Signs an access token for a user.
    pub fn issue(&self, user_id: i64, username: &str) -> Result<String, ServiceError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.to_string(),
            name: username.to_owned(),
            iat: now,
            exp: now + self.access_ttl.as_secs() as i64,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ServiceError::Internal(format!("signing a token: {e}")))
    }

    /// Forgets what is cached about a user (after a change), so the next request asks the store.
    pub fn forget_user(&self, id: UserId) {
        if let Ok(mut users) = self.users.lock() {
            users.remove(&id.get());
        }
    }

    /// Forgets a cached key (after a revocation).
    pub fn forget_key(&self, prefix: &str) {
        if let Ok(mut keys) = self.keys.lock() {
            keys.remove(prefix);
        }
    }

    async fn authenticate(&self, parts: &Parts, store: &Store) -> Result<Principal, ApiError> {
        let Some(credential) = credential(parts) else {
            return match self.anonymous_role {
                Some(role) => Ok(Principal::Anonymous { role }),
                None => Err(unauthenticated()),
            };
        };
        if credential.starts_with(KEY_PREFIX) {
            self.key(&credential, store).await
        } else {
            self.user(&credential, store).await
        }
    }

    async fn user(&self, token: &str, store: &Store) -> Result<Principal, ApiError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| invalid_credentials())?;
        let id: i64 = data.claims.sub.parse().map_err(|_| invalid_credentials())?;
        let cached = self
            .users
            .lock()
            .ok()
            .and_then(|users| users.get(&id).cloned())
            .filter(|u| u.at.elapsed() < CACHE_TTL);
        let user = match cached {
            Some(user) => user,
            None => {
                let record = match store.get_user(id).await {
                    Ok(record) => record,
                    Err(sentinel_store::StoreError::NotFound { .. }) => {
                        return Err(invalid_credentials());
                    }
                    Err(e) => return Err(e.into()),
                };
                let user = CachedUser {
                    username: record.user.username,
                    role: record.user.role,
                    active: record.user.is_active,
                    at: Instant::now(),
                };
                if let Ok(mut users) = self.users.lock() {
                    users.insert(id, user.clone());
                }
                user
            }
        };
        if !user.active {
            return Err(invalid_credentials());
        }
        Ok(Principal::User {
            id,
            username: user.username,
            role: user.role,
        })
    }

    async fn key(&self, presented: &str, store: &Store) -> Result<Principal, ApiError> {
        let prefix = key_prefix(presented).ok_or_else(invalid_credentials)?;
        let cached = self
            .keys
            .lock()
            .ok()
            .and_then(|keys| keys.get(prefix).cloned())
            .filter(|k| k.at.elapsed() < CACHE_TTL);
        let key = match cached {
            Some(key) => key,
            None => {
                let record = store
                    .find_api_key(prefix)
                    .await?
                    .ok_or_else(invalid_credentials)?;
                let key = CachedKey {
                    id: record.info.id,
                    key_hash: parse_hash(&record.key_hash).ok_or_else(invalid_credentials)?,
                    scopes: record.info.scopes,
                    app: record.info.app,
                    environment: record.info.environment,
                    expires_at: record.info.expires_at.map(|t| t.0),
                    revoked: record.info.revoked_at.is_some(),
                    at: Instant::now(),
                    touched: None,
                };
                if let Ok(mut keys) = self.keys.lock() {
                    keys.insert(prefix.to_owned(), key.clone());
                }
                key
            }
        };
        let presented_hash: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let matches: bool = presented_hash.ct_eq(&key.key_hash).into();
        let expired = key.expires_at.is_some_and(|t| t <= chrono::Utc::now());
        if !matches || key.revoked || expired {
            return Err(invalid_credentials());
        }
        self.touch(prefix, key.id, key.touched, store);
        Ok(Principal::Key {
            id: key.id,
            prefix: prefix.to_owned(),
            scopes: key.scopes,
            app: key.app,
            environment: key.environment,
        })
    }

    /// Records the key's last use, at most once a minute per key, off the request path.
    fn touch(&self, prefix: &str, id: i64, touched: Option<Instant>, store: &Store) {
        if touched.is_some_and(|t| t.elapsed() < TOUCH_EVERY) {
            return;
        }
        if let Ok(mut keys) = self.keys.lock()
            && let Some(entry) = keys.get_mut(prefix)
        {
            entry.touched = Some(Instant::now());
        }
        let store = store.clone();
        tokio::spawn(async move {
            if let Err(e) = store.touch_api_key(id, chrono::Utc::now()).await {
                tracing::warn!(error = %e, key_id = id, "could not record the key's last use");
            }
        });
    }
}

/// The credential of a request: `Authorization: Bearer`, `X-API-Key`, or `?token=` on the
/// WebSocket route (browsers cannot set headers there).
fn credential(parts: &Parts) -> Option<String> {
    // A gateway client that passes its own provider key through sends Sentinel's key here.
    if let Some(key) = parts
        .headers
        .get("x-sentinel-key")
        .and_then(|v| v.to_str().ok())
    {
        return Some(key.trim().to_owned());
    }
    if let Some(token) = bearer(&parts.headers) {
        return Some(token);
    }
    if let Some(key) = parts.headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(key.trim().to_owned());
    }
    if parts.uri.path() == "/api/events/ws" {
        let query = parts.uri.query().unwrap_or("");
        return form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned());
    }
    None
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// `snl_<8 chars>` of a key shaped `snl_<8 chars>_<secret>`.
fn key_prefix(key: &str) -> Option<&str> {
    let end = KEY_PREFIX.len() + KEY_ID_LEN;
    (key.len() > end && key.as_bytes().get(end) == Some(&b'_')).then(|| &key[..end])
}

fn parse_hash(hex: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if hex.len() != 64 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

/// SHA-256 of a secret (API key or refresh token), hex. Both carry 256 bits of randomness, so a
/// fast hash is enough; passwords use argon2id instead.
pub fn secret_hash(secret: &str) -> String {
    format!("{:x}", Sha256::digest(secret.as_bytes()))
}

/// `n` random bytes from the operating system, as URL-safe base64 or lowercase letters and digits.
pub fn random_token(bytes: usize) -> Result<String, ServiceError> {
    use base64::Engine;
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| ServiceError::Internal(format!("randomness: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf))
}

/// A new API key and its visible prefix: `snl_<8 chars>_<43 chars>`.
pub fn new_api_key() -> Result<(String, String), ServiceError> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut id = [0u8; KEY_ID_LEN];
    getrandom::fill(&mut id).map_err(|e| ServiceError::Internal(format!("randomness: {e}")))?;
    let id: String = id
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    let prefix = format!("{KEY_PREFIX}{id}");
    let key = format!("{prefix}_{}", random_token(32)?);
    Ok((key, prefix))
}

/// Login throttling, per username and per client address: after 5 failures in a row, each further
/// attempt waits an exponentially growing time (1 s, 2 s, 4 s … up to 15 min).
#[derive(Debug, Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, Failures>>,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    until: Option<Instant>,
}

const FREE_ATTEMPTS: u32 = 5;
const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);

impl Throttle {
    /// Seconds to wait before another attempt for any of `keys`, if one is locked.
    pub fn retry_after(&self, keys: &[String]) -> Option<u64> {
        let failures = self.failures.lock().ok()?;
        let now = Instant::now();
        keys.iter()
            .filter_map(|k| failures.get(k)?.until)
            .filter(|until| *until > now)
            .map(|until| {
                u64::try_from((until - now).as_millis().div_ceil(1000))
                    .unwrap_or(u64::MAX)
                    .max(1)
            })
            .max()
    }

    /// Counts a failure for each key.
    pub fn fail(&self, keys: &[String]) {
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        let now = Instant::now();
        if failures.len() > 100_000 {
            failures.retain(|_, f| now - f.last < MAX_BACKOFF);
        }
        for key in keys {
            let entry = failures.entry(key.clone()).or_insert(Failures {
                count: 0,
                last: now,
                until: None,
            });
            if now - entry.last > MAX_BACKOFF {
                entry.count = 0;
            }
            entry.count += 1;
            entry.last = now;
            if entry.count >= FREE_ATTEMPTS {
                let exponent = (entry.count - FREE_ATTEMPTS).min(10);
                let wait = Duration::from_secs(1 << exponent).min(MAX_BACKOFF);
                entry.until = Some(now + wait);
            }
        }
    }

    /// Clears the failures of a key after a success.
    pub fn succeed(&self, key: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_prefix_needs_the_separator() {
        assert_eq!(key_prefix("snl_abcd1234_secret"), Some("snl_abcd1234"));
        assert_eq!(key_prefix("snl_abcd1234"), None);
        assert_eq!(key_prefix("snl_abcd1234xsecret"), None);
        assert_eq!(key_prefix("snl_é"), None);
    }

    #[test]
    fn new_keys_parse_and_differ() {
        let (a, pa) = new_api_key().unwrap();
        let (b, _) = new_api_key().unwrap();
        assert_ne!(a, b);
        assert_eq!(key_prefix(&a), Some(pa.as_str()));
        assert_eq!(parse_hash(&secret_hash(&a)).map(|h| h.len()), Some(32));
    }

    #[test]
    fn throttle_locks_after_five_failures_and_backs_off() {
        let t = Throttle::default();
        let keys = vec!["user:a".to_owned()];
        for _ in 0..4 {
            t.fail(&keys);
            assert_eq!(t.retry_after(&keys), None);
        }
        t.fail(&keys);
        assert_eq!(t.retry_after(&keys), Some(1));
        t.fail(&keys);
        assert_eq!(t.retry_after(&keys), Some(2));
        t.succeed("user:a");
        assert_eq!(t.retry_after(&keys), None);
    }

    #[test]
    fn tokens_with_another_algorithm_or_expired_are_refused() {
        let auth = Authenticator::new(b"k", Duration::from_secs(60), Duration::from_secs(60), None);
        let good = auth.issue(1, "a").unwrap();
        assert!(jsonwebtoken::decode::<Claims>(&good, &auth.decoding, &auth.validation).is_ok());
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &Claims {
                sub: "1".into(),
                name: "a".into(),
                iat: 0,
                exp: i64::MAX / 2,
            },
            &auth.encoding,
        )
        .unwrap();
        assert!(jsonwebtoken::decode::<Claims>(&hs512, &auth.decoding, &auth.validation).is_err());
        let expired = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &Claims {
                sub: "1".into(),
                name: "a".into(),
                iat: 0,
                exp: 1000,
            },
            &auth.encoding,
        )
        .unwrap();
        assert!(
            jsonwebtoken::decode::<Claims>(&expired, &auth.decoding, &auth.validation).is_err()
        );
        // alg "none": header {"alg":"none"} with an empty signature.
        let none = format!(
            "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
            good.split('.').nth(1).unwrap()
        );
        assert!(jsonwebtoken::decode::<Claims>(&none, &auth.decoding, &auth.validation).is_err());
    }
}
