//! The destination guard against server-side request forgery: an endpoint may not be a
//! private, loopback, link-local or unique-local address unless `webhooks.allow_private_hosts`
//! names it. It runs when an endpoint is created or changed and again before every attempt, on
//! the addresses the name resolves to then; the worker's HTTP client resolves through
//! [`GuardedResolver`], so a name that changes its answer between the check and the connection
//! is refused too.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::gateway::is_private;

/// Whether `host` (as written in the URL) or `ip` is allowlisted.
fn allowed(allow: &[String], host: &str, ip: Option<IpAddr>) -> bool {
    allow.iter().any(|a| {
        a.eq_ignore_ascii_case(host)
            || ip.is_some_and(|ip| a.parse::<IpAddr>().is_ok_and(|x| x == ip))
    })
}

/// Checks `url`: `http` or `https`, a host, and only public addresses (or allowlisted ones).
/// Returns the parsed URL, or why it is refused (a sentence for the caller).
pub async fn check(url: &str, allow: &[String]) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a valid URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("the URL must start with https:// or http://".to_owned());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("the URL must not carry credentials".to_owned());
    }
    let host = parsed
        .host_str()
        .ok_or("the URL has no host")?
        .trim_matches(['[', ']'])
        .to_owned();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| format!("{host} does not resolve: {e}"))?
            .map(|a| a.ip())
            .collect(),
    };
    if addrs.is_empty() {
        return Err(format!("{host} does not resolve"));
    }
    for ip in addrs {
        if is_private(ip) && !allowed(allow, &host, Some(ip)) {
            return Err(format!(
                "{host} is (or resolves to) the private, loopback or link-local address {ip}; \
                 name it in webhooks.allow_private_hosts to allow it"
            ));
        }
    }
    Ok(parsed)
}

/// Resolves host names for the worker's client, refusing private answers that are not
/// allowlisted.
pub struct GuardedResolver {
    pub allow: Arc<Vec<String>>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| !is_private(a.ip()) || allowed(&allow, &host, Some(a.ip())))
                .collect();
            if addrs.is_empty() {
                let refused: Box<dyn std::error::Error + Send + Sync> = format!(
                    "{host} resolves to a private address (allow it in webhooks.allow_private_hosts)"
                )
                .into();
                return Err(refused);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn private_destinations_need_the_allowlist() {
        let none: Vec<String> = Vec::new();
        for url in [
            "http://127.0.0.1:9/hook",
            "http://10.1.2.3/",
            "http://192.168.0.1/",
            "http://172.16.5.4/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/",
            "http://[fe80::1]/",
            "http://[fd00::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://0.0.0.0/",
            "http://100.64.0.1/",
            "http://localhost:8080/",
        ] {
            assert!(check(url, &none).await.is_err(), "{url} was allowed");
        }
        let allow = vec!["127.0.0.1".to_owned()];
        assert!(check("http://127.0.0.1:9/hook", &allow).await.is_ok());
        assert!(check("http://10.1.2.3/", &allow).await.is_err());
        for bad in [
            "ftp://example.com/",
            "not a url",
            "http://user:pw@127.0.0.1/",
            "file:///etc/passwd",
        ] {
            assert!(check(bad, &allow).await.is_err(), "{bad}");
        }
        // A public literal passes without any lookup (never contacted here).
        assert!(check("https://93.184.215.14/hook", &none).await.is_ok());
    }
}
