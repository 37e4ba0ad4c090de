//! Network identifiers: IPv4 and IPv6 addresses, MAC addresses.

use super::plan::{Plan, after_country_code, is_digit};
use super::{Entity, Scan, context};
use crate::detect::context::standalone;
use crate::detect::static_regex::Lazy;
use crate::detect::windows::find_in;
use crate::normalize::View;

pub(super) static IPV4: Lazy = Lazy::new(
    r"\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b",
);

pub(super) static IPV6: Lazy = Lazy::new(r"(?i)(?:[0-9a-f]{1,4})?(?::[0-9a-f]{0,4}){2,7}");

pub(super) static MAC: Lazy = Lazy::new(
    r"(?i)\b[0-9a-f]{2}(?:[:\-][0-9a-f]{2}){5}\b|\b[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}\b",
);

pub(super) fn macs(scan: &mut Scan<'_>, view: &View<'_>, plan: &Plan) {
    let text = view.text;
    for m in find_in(MAC.get(), text, plan.mac.get()) {
        let s = m.as_str();
        let uniform = !(s.contains(':') && s.contains('-'));
        if uniform {
            scan.consider(
                view,
                Entity::MacAddress,
                (m.start(), m.end()),
                0.8,
                "MAC address",
            );
        }
    }
}

pub(super) fn ipv6s(scan: &mut Scan<'_>, view: &View<'_>, plan: &Plan) {
    let text = view.text;
    for m in find_in(IPV6.get(), text, plan.ipv6.get()) {
        let s = m.as_str();
        let groups = s.split(':').filter(|g| !g.is_empty()).count();
        if groups >= 3
            && s.parse::<std::net::Ipv6Addr>().is_ok()
            && standalone(text, m.start(), m.end())
            && !is_mac(s)
        {
            scan.consider(
                view,
                Entity::IpAddress,
                (m.start(), m.end()),
                0.75,
                "IPv6 address",
            );
        }
    }
}

/// Dotted quads: IPv4 candidates, and never phone numbers.
pub(super) fn quads(text: &str, plan: &Plan) -> Vec<(usize, usize)> {
    find_in(IPV4.get(), text, plan.ipv4.get())
        .needing(is_digit)
        .filter(|m| !after_country_code(text.as_bytes(), m.start()))
        .map(|m| (m.start(), m.end()))
        .collect()
}

pub(super) fn ipv4s(scan: &mut Scan<'_>, view: &View<'_>, quads: &[(usize, usize)]) {
    let text = view.text;
    for &(qs, qe) in quads {
        if !standalone(text, qs, qe) || context::version_near(text, qs, qe) {
            continue;
        }
        let base = if text[qs..qe].starts_with("0.") {
            0.3
        } else {
            0.65
        };
        scan.consider(view, Entity::IpAddress, (qs, qe), base, "IPv4 address");
    }
}

pub(super) fn is_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    parts.len() == 6 && parts.iter().all(|p| p.len() == 2)
}
