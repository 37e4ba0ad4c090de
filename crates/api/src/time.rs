//! Datetimes on the wire: RFC 3339 in UTC with a `Z`, fractional seconds only when non-zero.
//! Incoming values may carry an offset (converted to UTC) or none (taken as UTC).

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, SubsecRound, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

/// A UTC instant as written by the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ToSchema)]
#[schema(value_type = String, format = DateTime, example = "2026-11-26T00:46:21Z")]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    /// Now, at the microsecond precision both databases keep.
    pub fn now() -> Self {
        Self(Utc::now().trunc_subsecs(6))
    }

    /// Parses RFC 3339, or a naive `YYYY-MM-DD[T ]HH:MM:SS[.f]` taken as UTC, or a bare date.
    /// Precision is cut to microseconds, which is what both databases store.
    pub fn parse(s: &str) -> Option<Self> {
        Self::parse_exact(s).map(|t| Self(t.0.trunc_subsecs(6)))
    }

    fn parse_exact(s: &str) -> Option<Self> {
        let s = s.trim();
        if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
            return Some(Self(dt.with_timezone(&Utc)));
        }
        for fmt in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
        ] {
            if let Ok(naive) = NaiveDateTime::parse_from_str(s, fmt) {
                return Some(Self(naive.and_utc()));
            }
        }
        if let Ok(dt) = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%#z") {
            return Some(Self(dt.with_timezone(&Utc)));
        }
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|naive| Self(naive.and_utc()))
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(value: DateTime<Utc>) -> Self {
        Self(value)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Timestamp::parse(&raw).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "Input should be a valid datetime, got `{raw}` (use RFC 3339, e.g. 2026-11-26T00:46:21Z)"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_z_and_optional_fraction() {
        let t = Timestamp::parse("2026-11-26T00:46:21Z").unwrap();
        assert_eq!(t.to_string(), "2026-11-26T00:46:21Z");
        let t = Timestamp::parse("2026-11-26T02:46:21.5+02:00").unwrap();
        assert_eq!(t.to_string(), "2026-11-26T00:46:21.500Z");
        let t = Timestamp::parse("2026-11-26T00:46:21").unwrap();
        assert_eq!(t.to_string(), "2026-11-26T00:46:21Z");
        assert!(Timestamp::parse("yesterday").is_none());
    }
}
