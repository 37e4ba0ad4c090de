//! The upstreams behind the gateway: which one serves a model, how to call it, and the guard
//! that keeps the gateway from being turned against private addresses.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::settings::{ApiShape, GatewaySettings, Price, UpstreamSettings};

/// One configured upstream, with its provider key read from the environment at start-up.
#[derive(Clone)]
pub struct Upstream {
    pub name: String,
    pub api: ApiShape,
    base_url: String,
    key: Option<String>,
    models: Vec<String>,
    pub pass_through_key: bool,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("name", &self.name)
            .field("api", &self.api)
            .field("base_url", &self.base_url)
            .field("models", &self.models)
            .finish_non_exhaustive()
    }
}

impl Upstream {
    fn new(s: &UpstreamSettings) -> Self {
        Upstream {
            name: s.name.clone(),
            api: s.api,
            base_url: s.base_url.trim_end_matches('/').to_owned(),
            key: s
                .key_env
                .as_deref()
                .and_then(|var| std::env::var(var).ok())
                .filter(|k| !k.is_empty()),
            models: s.models.clone(),
            pass_through_key: s.pass_through_key,
        }
    }

    /// `base_url` + `path` (`/chat/completions`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn serves(&self, model: &str) -> bool {
        self.models.iter().any(|p| glob(p, model))
    }

    /// The configured model patterns (listed by `GET /v1/models`).
    pub fn models(&self) -> &[String] {
        &self.models
    }

    /// The provider key to send, unless the client's own is passed through.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }
}

/// `*` matches any run of characters; everything else matches itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return text.is_empty();
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Whether an address is one a public upstream never has.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64 // 100.64/10, CGNAT
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link local
                || v6.to_ipv4_mapped().is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

/// Resolves upstream host names, refusing private, loopback and link-local answers unless the
/// host is allowlisted. Checking the resolved address (not the name) also defeats a name that
/// resolves to an internal address.
struct GuardedResolver {
    allowed: Arc<Vec<String>>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allowed = self.allowed.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let open = allowed.iter().any(|h| h.eq_ignore_ascii_case(&host));
            let addrs: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| open || !is_private(a.ip()))
                .collect();
            if addrs.is_empty() {
                let refused: Box<dyn std::error::Error + Send + Sync> = format!(
                    "{host} resolves to a private address (allow it in gateway.allow_private_hosts)"
                )
                .into();
                return Err(refused);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The upstreams, their pooled client, and the price table.
pub struct Upstreams {
    pub client: reqwest::Client,
    list: Vec<Upstream>,
    allow_private: Vec<String>,
    prices: Vec<(String, Price)>,
}

impl std::fmt::Debug for Upstreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstreams")
            .field("list", &self.list)
            .finish_non_exhaustive()
    }
}

/// US dollars per million tokens of common models (list prices, input / output), as of 2026-12.
/// The configuration adds to and overrides this table.
const PRICES: &[(&str, f64, f64)] = &[
    ("gpt-4o-mini*", 0.15, 0.60),
    ("gpt-4o*", 2.50, 10.00),
    ("gpt-4.1-nano*", 0.10, 0.40),
    ("gpt-4.1-mini*", 0.40, 1.60),
    ("gpt-4.1*", 2.00, 8.00),
    ("gpt-5-nano*", 0.05, 0.40),
    ("gpt-5-mini*", 0.25, 2.00),
    ("gpt-5*", 1.25, 10.00),
    ("o4-mini*", 1.10, 4.40),
    ("o3*", 2.00, 8.00),
    ("text-embedding-3-small*", 0.02, 0.0),
    ("text-embedding-3-large*", 0.13, 0.0),
    ("claude-3-5-haiku*", 0.80, 4.00),
    ("claude-haiku-4*", 1.00, 5.00),
    ("claude-3-7-sonnet*", 3.00, 15.00),
    ("claude-sonnet-4*", 3.00, 15.00),
    ("claude-opus-4*", 15.00, 75.00),
];

impl Upstreams {
    pub fn new(settings: &GatewaySettings) -> Result<Self, String> {
        // reqwest is built without a default crypto provider: use ring, already in the tree.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let allowed = Arc::new(settings.allow_private_hosts.clone());
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs_f64(settings.connect_timeout_seconds))
            .read_timeout(Duration::from_secs_f64(settings.timeout_seconds))
            .pool_idle_timeout(Duration::from_secs(90))
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver { allowed }))
            .build()
            .map_err(|e| format!("building the gateway's HTTP client: {e}"))?;
        let mut prices: Vec<(String, Price)> = settings
            .prices
            .iter()
            .map(|(p, price)| (p.clone(), *price))
            .collect();
        prices.extend(
            PRICES
                .iter()
                .map(|&(p, input, output)| (p.to_owned(), Price { input, output })),
        );
        Ok(Upstreams {
            client,
            list: settings.upstreams.iter().map(Upstream::new).collect(),
            allow_private: settings.allow_private_hosts.clone(),
            prices,
        })
    }

    /// The first upstream serving `model`.
    pub fn route(&self, model: &str, api: ApiShape) -> Option<&Upstream> {
        self.list.iter().find(|u| u.api == api && u.serves(model))
    }

    pub fn all(&self) -> &[Upstream] {
        &self.list
    }

    /// Refuses an upstream whose URL names a private address literally (the resolver never
    /// sees those).
    pub fn check_literal(&self, upstream: &Upstream) -> Result<(), String> {
        let Ok(url) = reqwest::Url::parse(&upstream.base_url) else {
            return Err(format!(
                "upstream {} has an invalid base_url",
                upstream.name
            ));
        };
        let host = url.host_str().unwrap_or("").trim_matches(['[', ']']);
        if let Ok(ip) = host.parse::<IpAddr>()
            && is_private(ip)
            && !self.allow_private.iter().any(|h| h == host)
        {
            return Err(format!(
                "upstream {} is at a private address (allow it in gateway.allow_private_hosts)",
                upstream.name
            ));
        }
        Ok(())
    }

    /// The cost in US dollars of a call, from the price table.
    pub fn cost(&self, model: &str, input_tokens: i64, output_tokens: i64) -> Option<f64> {
        let (_, price) = self.prices.iter().find(|(p, _)| glob(p, model))?;
        let dollars = (input_tokens.max(0) as f64 * price.input
            + output_tokens.max(0) as f64 * price.output)
            / 1_000_000.0;
        Some((dollars * 1e8).round() / 1e8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("gpt-*", "gpt-4o"));
        assert!(glob("*", "anything"));
        assert!(glob("claude-*-4*", "claude-sonnet-4-5"));
        assert!(glob("exact", "exact"));
        assert!(!glob("exact", "exactly"));
        assert!(!glob("gpt-*", "claude"));
        assert!(!glob("a*b*c", "acb"));
    }

    #[test]
    fn private_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.4",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "2606:4700::1111", "100.128.0.1"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }
}
