//! The one configuration type, and where each value comes from.
//!
//! Layers, lowest first: the embedded `config.default.toml` (which is also the documentation of
//! every key), the file given with `--config`, `SENTINEL_*` environment variables, and the flags
//! of the command line. The keys are the fields of [`Settings`]: a new setting is a field here
//! plus its commented line in `config.default.toml` (a test keeps the two equal), and it can then
//! come from any layer without another list of names.

use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use sentinel_api::UserRole;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The embedded defaults, with a comment on every key.
pub const DEFAULTS_TOML: &str = include_str!("../config.default.toml");

/// Prefix of the environment variables that set settings (`SENTINEL_BIND` sets `bind`).
pub const ENV_PREFIX: &str = "SENTINEL_";

/// How much of an event's text the database keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreContent {
    /// Prompt, completion and event data as received.
    #[default]
    Full,
    /// The text as the policies' redaction leaves it: detected values replaced.
    Redacted,
    /// No prompt, completion or event data at all; findings keep their offsets and types only.
    None,
}

/// Log output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// A secret setting. Its `Debug` and its serialised form are masked, so printing the settings
/// (logs, `sentinel config show`) never shows it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(********)")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("********")
    }
}

/// A database URL. Its `Debug` and its serialised form hide the password.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&sentinel_store::redact_url(&self.0))
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&sentinel_store::redact_url(&self.0))
    }
}

/// Every setting of the server and the CLI. The meaning and default of each field is written in
/// `config.default.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub bind: String,
    pub data_dir: PathBuf,
    pub database_url: Option<DatabaseUrl>,
    #[serde(deserialize_with = "list_or_commas")]
    pub cors_origins: Vec<String>,
    pub body_limit: usize,
    pub log_format: LogFormat,
    pub jwt_secret: Option<Secret>,
    pub admin_password: Option<Secret>,
    pub access_token_minutes: u64,
    pub refresh_token_days: u64,
    pub anonymous_role: Option<UserRole>,
    pub store_content: StoreContent,
    pub retention_days: Option<u32>,
    pub demo: bool,
    pub demo_seed: u64,
    pub demo_traffic: f64,
    pub live_queue: usize,
    pub gateway: GatewaySettings,
    pub webhooks: WebhookSettings,
    pub siem: SiemSettings,
    pub reports: ReportSettings,
}

/// Compliance reports.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ReportSettings {
    /// Framework mappings added to (or extending) the embedded ones.
    pub frameworks: Vec<crate::service::reports::frameworks::Framework>,
}

/// The API an upstream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiShape {
    /// OpenAI's chat completions, responses, embeddings and models.
    Openai,
    /// Anthropic's messages.
    Anthropic,
}

/// What the gateway does with a request part it cannot scan (an image, an unknown content type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unscannable {
    /// Answer 400: nothing unread reaches the model.
    #[default]
    Refuse,
    /// Forward it; the event records `scanned: false` and why.
    Forward,
}

/// One model provider behind the gateway.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct UpstreamSettings {
    pub name: String,
    pub api: ApiShape,
    /// Up to the version segment: `https://api.openai.com/v1`, `https://api.anthropic.com/v1`.
    pub base_url: String,
    /// The environment variable that holds the provider key (never the key itself).
    #[serde(default)]
    pub key_env: Option<String>,
    /// Model name patterns this upstream serves (`*` matches any run of characters).
    pub models: Vec<String>,
    /// Forward the client's own provider key instead of `key_env`'s (the client then sends its
    /// Sentinel key as `X-Sentinel-Key`).
    #[serde(default)]
    pub pass_through_key: bool,
}

/// The model gateway (`/v1/*`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct GatewaySettings {
    pub upstreams: Vec<UpstreamSettings>,
    pub unscannable: Unscannable,
    pub connect_timeout_seconds: f64,
    pub timeout_seconds: f64,
    /// Upstream hosts that may resolve to private, loopback or link-local addresses.
    pub allow_private_hosts: Vec<String>,
    pub checkpoint_bytes: usize,
    pub hold_bytes: usize,
    /// Whether a call's answer waits until its event is committed (otherwise the event is
    /// queued to the writer before the answer goes out, and committed just after).
    pub record_before_answer: bool,
    /// US dollars per million tokens, by model pattern: `{ input = 2.5, output = 10.0 }`; added
    /// to (and overriding) the built-in table.
    pub prices: std::collections::BTreeMap<String, Price>,
}

/// The price of a model, in US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
pub struct Price {
    pub input: f64,
    pub output: f64,
}

/// Webhook delivery (`/api/webhooks/`, docs/ALERTS.md).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct WebhookSettings {
    /// Hosts (names or addresses, as written in the URL or as resolved) allowed to be private,
    /// loopback, link-local or unique-local; every other such destination is refused.
    #[serde(deserialize_with = "list_or_commas")]
    pub allow_private_hosts: Vec<String>,
    pub connect_timeout_seconds: f64,
    /// For the whole attempt, answer included.
    pub timeout_seconds: f64,
    /// Deliveries in flight at once per endpoint (so a slow one holds only its own).
    pub concurrency_per_endpoint: usize,
    /// The first retry waits this long; each next one twice as long (with jitter), up to
    /// `retry_max_seconds`.
    pub retry_first_seconds: f64,
    pub retry_max_seconds: f64,
    /// A delivery still failing this long after it was queued is `dead`.
    pub give_up_hours: f64,
    /// An endpoint failing without a single success for this long is disabled (and audited).
    pub disable_after_hours: f64,
    /// How long a rotated-out secret keeps signing beside the new one.
    pub rotation_overlap_hours: f64,
    /// How often the worker looks for new messages when nothing woke it.
    pub poll_ms: u64,
    /// While the event writers spend more than half their time writing (ingestion near its
    /// limit), an endpoint starts at most one wave (`concurrency_per_endpoint` deliveries) per
    /// this many milliseconds, the outbox is fanned out at most every four times this (one
    /// batch, when an endpoint runs short) and ended attempts are recorded once per this, so
    /// that deliveries slow ingestion down less; the backlog is sent at full speed once
    /// ingestion eases. 0: never hold back.
    pub busy_wave_ms: u64,
    /// The longest an alert is held back that way: once an endpoint's next delivery's message
    /// was written longer ago than this many milliseconds, the endpoint sends at its share of
    /// `busy_deliveries_per_event` while ingestion stays busy, and at full speed once it eases
    /// (the outbox is still fanned out one batch at a time, as endpoints run short). A minute by
    /// default: deliveries step aside for the first minute of a saturated ingestion (measured:
    /// 20 s of it lost no speed).
    pub busy_max_lag_ms: u64,
    /// While ingestion is busy, the most deliveries the endpoints start together per event it
    /// writes (measured over about the last second), shared evenly by the enabled endpoints: an
    /// endpoint sends at most `busy_deliveries_per_event × events a second ÷ endpoints`, and at
    /// least one wave per 10 s. Before its alerts are overdue (`busy_max_lag_ms`) an endpoint
    /// goes no faster than one wave per `busy_wave_ms` either. 0.05 by default: with 5
    /// endpoints, each sends one delivery per 100 events ingested, so a 1,000-event-a-second
    /// saturated ingestion lets each send 10 a second and an endpoint that receives 1% of the
    /// events keeps up. A share rather than a fixed rate, so that the deliveries cost about the
    /// same part of a slow machine's ingestion as of a fast one's: the fixed 50 a second this
    /// replaced cost 4.1% over 17 minutes on one machine and 14.3% over half an hour on a slower
    /// one (BENCHMARKS.md, "Saturated for about half an hour"). 0: no limit (overdue endpoints
    /// at full speed), which cost 24–46% ("Overdue deliveries at a bounded rate").
    pub busy_deliveries_per_event: f64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_private_hosts: Vec::new(),
            connect_timeout_seconds: 5.0,
            timeout_seconds: 15.0,
            concurrency_per_endpoint: 4,
            retry_first_seconds: 5.0,
            retry_max_seconds: 3600.0,
            give_up_hours: 24.0,
            disable_after_hours: 24.0,
            rotation_overlap_hours: 24.0,
            poll_ms: 500,
            busy_wave_ms: 250,
            busy_max_lag_ms: 60_000,
            busy_deliveries_per_event: 0.05,
        }
    }
}

/// SIEM export (docs/ALERTS.md, "SIEM sinks"): each sink streams the outbox from its own
/// persisted cursor.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct SiemSettings {
    /// Messages read from the outbox per send (while ingestion keeps the event writers busy,
    /// up to ten such batches are read at once and the cursor moves once after them).
    pub batch: usize,
    /// How often a sink looks for new messages.
    pub poll_ms: u64,
    /// The first retry of a failed send waits this long, each next one twice as long (with
    /// jitter), at most `retry_max_seconds`. A sink never skips a message.
    pub retry_first_seconds: f64,
    pub retry_max_seconds: f64,
    /// Seconds to connect and for one send (syslog, Splunk).
    pub timeout_seconds: f64,
    /// Outbox messages every reader is done with are deleted once they are this old.
    pub prune_after_hours: f64,
    /// How often the pruning runs.
    pub prune_every_seconds: f64,
    /// One node sends for a sink at a time, holding a lease this long (renewed while it runs);
    /// when the holder dies another node takes over once it expires. More than
    /// `timeout_seconds`, so a send always ends inside the lease.
    pub lease_seconds: f64,
    pub sinks: Vec<SinkSettings>,
}

impl Default for SiemSettings {
    fn default() -> Self {
        Self {
            batch: 200,
            poll_ms: 500,
            retry_first_seconds: 1.0,
            retry_max_seconds: 300.0,
            timeout_seconds: 10.0,
            prune_after_hours: 24.0,
            prune_every_seconds: 60.0,
            lease_seconds: 30.0,
            sinks: Vec::new(),
        }
    }
}

/// The message types a sink can take: the webhook ones and `decision` (one per stored event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SinkMessageType {
    NewViolation,
    ViolationUpdated,
    PolicyChanged,
    Audit,
    Decision,
}

impl SinkMessageType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NewViolation => "new_violation",
            Self::ViolationUpdated => "violation_updated",
            Self::PolicyChanged => "policy_changed",
            Self::Audit => "audit",
            Self::Decision => "decision",
        }
    }
}

/// How a sink writes each record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SinkFormat {
    /// OCSF 1.3.0 JSON.
    Ocsf,
    /// ArcSight Common Event Format.
    Cef,
    /// Sentinel's own JSON, one object per record.
    Json,
}

/// The syslog transport's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SyslogProtocol {
    /// One datagram per message (RFC 5426).
    Udp,
    /// Octet-counted frames (RFC 6587).
    Tcp,
    /// Octet-counted frames over TLS (RFC 5425).
    Tls,
}

/// Where a sink sends, and how.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SinkTransport {
    /// RFC 5424 syslog.
    Syslog {
        protocol: SyslogProtocol,
        /// `host:port`.
        address: String,
        /// PEM file of the CAs trusted for TLS; unset: the system's.
        #[serde(default)]
        ca_file: Option<PathBuf>,
        /// The TLS server name; unset: the host of `address`.
        #[serde(default)]
        server_name: Option<String>,
    },
    /// Splunk HTTP Event Collector (`/services/collector/event`).
    Splunk {
        /// Up to the port: `https://splunk.internal:8088`.
        url: String,
        /// The environment variable holding the HEC token (never the token itself).
        token_env: String,
        #[serde(default)]
        index: Option<String>,
        #[serde(default)]
        sourcetype: Option<String>,
    },
    /// A local file, rotated by size.
    File {
        path: PathBuf,
        /// Rotate when a write would take the file past this size.
        #[serde(default = "default_max_bytes")]
        max_bytes: u64,
        /// Rotated files kept (`path.1` newest … `path.N`).
        #[serde(default = "default_keep_files")]
        keep_files: usize,
    },
}

fn default_max_bytes() -> u64 {
    100 * 1024 * 1024
}

fn default_keep_files() -> usize {
    5
}

/// One SIEM sink.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct SinkSettings {
    /// Unique; names the sink's cursor, so renaming a sink starts it again.
    pub name: String,
    pub format: SinkFormat,
    /// Empty: every type but `decision`.
    #[serde(default)]
    pub message_types: Vec<SinkMessageType>,
    /// Messages with a lower severity are not sent (those without one pass).
    #[serde(default)]
    pub min_severity: Option<sentinel_api::Severity>,
    pub transport: SinkTransport,
}

impl SinkSettings {
    /// Whether this sink takes a message of this type and severity.
    pub fn wants(&self, message_type: &str, severity: Option<sentinel_api::Severity>) -> bool {
        let type_ok = if self.message_types.is_empty() {
            [
                SinkMessageType::NewViolation,
                SinkMessageType::ViolationUpdated,
                SinkMessageType::PolicyChanged,
                SinkMessageType::Audit,
            ]
            .iter()
            .any(|t| t.as_str() == message_type)
        } else {
            self.message_types
                .iter()
                .any(|t| t.as_str() == message_type)
        };
        let severity_ok = match (self.min_severity, severity) {
            (Some(min), Some(s)) => s >= min,
            _ => true,
        };
        type_ok && severity_ok
    }

    /// Whether it asks for decisions (then stored events write them to the outbox).
    pub fn wants_decisions(&self) -> bool {
        self.message_types.contains(&SinkMessageType::Decision)
    }
}

impl Default for GatewaySettings {
    fn default() -> Self {
        Self {
            upstreams: Vec::new(),
            unscannable: Unscannable::Refuse,
            connect_timeout_seconds: 10.0,
            timeout_seconds: 600.0,
            allow_private_hosts: Vec::new(),
            checkpoint_bytes: 256,
            hold_bytes: 48,
            record_before_answer: false,
            prices: std::collections::BTreeMap::new(),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8000".into(),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            cors_origins: Vec::new(),
            body_limit: 1024 * 1024,
            log_format: LogFormat::Text,
            jwt_secret: None,
            admin_password: None,
            access_token_minutes: 15,
            refresh_token_days: 14,
            anonymous_role: None,
            store_content: StoreContent::Full,
            retention_days: None,
            demo: false,
            demo_seed: 42,
            demo_traffic: 3.0,
            live_queue: 1024,
            gateway: GatewaySettings::default(),
            webhooks: WebhookSettings::default(),
            siem: SiemSettings::default(),
            reports: ReportSettings::default(),
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("reading the configuration: {0}")]
    Read(#[from] Box<figment::Error>),
    #[error("{0}")]
    Invalid(&'static str),
    /// A configured framework mapping that cannot be used.
    #[error("{0}")]
    Mapping(String),
    /// A SIEM sink that cannot be used, with its name.
    #[error("siem: {0}")]
    Siem(String),
    #[error("--set {0}: expected KEY=VALUE with KEY one of the settings in config.default.toml")]
    BadSet(String),
}

impl SiemSettings {
    /// Checks what the types cannot: ranges, unique names, addresses, URLs.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let bad = |why: String| Err(SettingsError::Siem(why));
        if !(1..=10_000).contains(&self.batch) || !(10..=60_000).contains(&self.poll_ms) {
            return bad("batch must be 1 to 10000 and poll_ms 10 to 60000".into());
        }
        let positive = [
            self.retry_first_seconds,
            self.retry_max_seconds,
            self.timeout_seconds,
        ];
        if positive.iter().any(|v| !(*v > 0.0 && v.is_finite()))
            || self.retry_max_seconds < self.retry_first_seconds
            || !(self.prune_after_hours >= 0.0 && self.prune_after_hours.is_finite())
            || !(0.1..=86_400.0).contains(&self.prune_every_seconds)
        {
            return bad(
                "retry_first_seconds, retry_max_seconds and timeout_seconds must be positive \
                 (retry_max_seconds at least retry_first_seconds), prune_after_hours at least 0, \
                 prune_every_seconds 0.1 to 86400"
                    .into(),
            );
        }
        if !(self.lease_seconds > self.timeout_seconds && self.lease_seconds <= 86_400.0) {
            return bad(format!(
                "lease_seconds ({}) must be more than timeout_seconds ({}) and at most 86400",
                self.lease_seconds, self.timeout_seconds
            ));
        }
        let mut names = std::collections::HashSet::new();
        for sink in &self.sinks {
            let name = sink.name.trim();
            if name.is_empty() || name.len() > 64 {
                return bad("every sink needs a name of 1 to 64 characters".into());
            }
            if !names.insert(name) {
                return bad(format!("two sinks are named `{name}`"));
            }
            match &sink.transport {
                SinkTransport::Syslog { address, .. } => {
                    if split_host_port(address).is_none() {
                        return bad(format!(
                            "sink `{name}`: address `{address}` is not HOST:PORT"
                        ));
                    }
                }
                SinkTransport::Splunk { url, token_env, .. } => {
                    if !(url.starts_with("https://") || url.starts_with("http://")) {
                        return bad(format!(
                            "sink `{name}`: url must start with https:// or http://"
                        ));
                    }
                    if token_env.trim().is_empty() {
                        return bad(format!(
                            "sink `{name}`: token_env must name the environment variable holding the HEC token"
                        ));
                    }
                }
                SinkTransport::File {
                    path,
                    max_bytes,
                    keep_files,
                } => {
                    if path.as_os_str().is_empty() || *max_bytes < 1024 || *keep_files > 1000 {
                        return bad(format!(
                            "sink `{name}`: a file sink needs a path, max_bytes of at least 1024 and keep_files at most 1000"
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// `host:port` (or `[v6]:port`) split, when it is one.
pub fn split_host_port(address: &str) -> Option<(String, u16)> {
    let (host, port) = address.rsplit_once(':')?;
    let port: u16 = port.parse().ok().filter(|p| *p > 0)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then(|| (host.to_owned(), port))
}

/// Where a value came from, as `sentinel config show` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `config.default.toml` (or no value at all).
    Default,
    /// The `--config` file.
    File(PathBuf),
    /// An environment variable, by name.
    Env(String),
    /// A command-line flag, by name.
    Flag(String),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File(path) => write!(f, "file {}", path.display()),
            Origin::Env(name) => write!(f, "env {name}"),
            Origin::Flag(name) => write!(f, "flag {name}"),
        }
    }
}

const DEFAULTS_NAME: &str = "default";
const ENV_NAME: &str = "environment variable";
const FLAG_NAME: &str = "command-line flag";

impl Settings {
    /// The layers: embedded defaults < `file` < `SENTINEL_*` < flags. `flags` serialises to
    /// the dedicated flags actually given, named like the settings (absent ones skipped); `set`
    /// holds the `KEY=VALUE` of `--set`, which reaches every setting.
    pub fn figment(
        file: Option<&Path>,
        flags: impl Serialize,
        set: &[String],
    ) -> Result<Figment, SettingsError> {
        let mut figment = Figment::from(Defaults);
        if let Some(file) = file {
            if !file.exists() {
                return Err(SettingsError::MissingFile(file.to_owned()));
            }
            figment = figment.merge(Toml::file(file));
        }
        Ok(figment
            .merge(Environment)
            .merge(SetFlags::parse(set)?)
            .merge(Flags(flags)))
    }

    /// The names of the settings (the keys of `config.default.toml`).
    pub fn keys() -> Vec<String> {
        match serde_json::to_value(Settings::default()) {
            Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// The validated settings of `figment`.
    pub fn from_figment(figment: &Figment) -> Result<Self, SettingsError> {
        // Lossy: environment values arrive as text (`SENTINEL_DEMO=1`, `SENTINEL_BODY_LIMIT=2048`).
        let settings: Settings = figment.extract_lossy().map_err(Box::new)?;
        // Settings that were replaced: refused by name rather than silently ignored.
        if figment.contains("webhooks.busy_overdue_per_second") {
            return Err(SettingsError::Invalid(
                "webhooks.busy_overdue_per_second was replaced by webhooks.busy_deliveries_per_event: the deliveries all endpoints together may start per event while ingestion is busy (0.05 by default; docs/ALERTS.md)",
            ));
        }
        settings.validate()?;
        Ok(settings)
    }

    /// [`Settings::figment`] then [`Settings::from_figment`].
    pub fn load(
        file: Option<&Path>,
        flags: impl Serialize,
        set: &[String],
    ) -> Result<Self, SettingsError> {
        Self::from_figment(&Self::figment(file, flags, set)?)
    }

    /// Checks the ranges the types cannot express.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let invalid = |why| Err(SettingsError::Invalid(why));
        if self.body_limit < 1024 {
            return invalid("body_limit must be at least 1024 bytes");
        }
        if !(1..=24 * 60).contains(&self.access_token_minutes) {
            return invalid("access_token_minutes must be between 1 and 1440");
        }
        if !(1..=365).contains(&self.refresh_token_days) {
            return invalid("refresh_token_days must be between 1 and 365");
        }
        if self.retention_days == Some(0) {
            return invalid(
                "retention_days must be at least 1 (leave it unset to keep everything)",
            );
        }
        if self
            .jwt_secret
            .as_ref()
            .is_some_and(|s| s.expose().len() < 32)
        {
            return invalid("jwt_secret must be at least 32 characters");
        }
        let g = &self.gateway;
        if !(g.connect_timeout_seconds > 0.0 && g.timeout_seconds > 0.0) {
            return invalid("gateway timeouts must be positive");
        }
        if !(16..=65_536).contains(&g.checkpoint_bytes) || g.hold_bytes > 4096 {
            return invalid(
                "gateway.checkpoint_bytes must be 16 to 65536 and gateway.hold_bytes at most 4096",
            );
        }
        for u in &g.upstreams {
            if u.name.trim().is_empty() || u.models.is_empty() {
                return invalid(
                    "every gateway upstream needs a name and at least one model pattern",
                );
            }
            if !(u.base_url.starts_with("https://") || u.base_url.starts_with("http://")) {
                return invalid(
                    "a gateway upstream's base_url must start with https:// or http://",
                );
            }
        }
        let w = &self.webhooks;
        let positive = [
            w.connect_timeout_seconds,
            w.timeout_seconds,
            w.retry_first_seconds,
            w.retry_max_seconds,
            w.give_up_hours,
            w.disable_after_hours,
        ];
        if positive.iter().any(|v| !(*v > 0.0 && v.is_finite()))
            || w.retry_max_seconds < w.retry_first_seconds
        {
            return invalid(
                "webhooks timeouts, retry delays and hours must be positive (retry_max_seconds at least retry_first_seconds)",
            );
        }
        if !(1..=64).contains(&w.concurrency_per_endpoint)
            || !(10..=60_000).contains(&w.poll_ms)
            || !(0.0..=168.0).contains(&w.rotation_overlap_hours)
            || w.busy_wave_ms > 10_000
            || !(100..=3_600_000).contains(&w.busy_max_lag_ms)
            || !(0.0..=1_000.0).contains(&w.busy_deliveries_per_event)
        {
            return invalid(
                "webhooks.concurrency_per_endpoint must be 1 to 64, poll_ms 10 to 60000, rotation_overlap_hours 0 to 168, busy_wave_ms 0 to 10000, busy_max_lag_ms 100 to 3600000 and busy_deliveries_per_event 0 to 1000",
            );
        }
        self.siem.validate()?;
        if let Err(why) = crate::service::reports::frameworks::check(&self.reports.frameworks) {
            return Err(SettingsError::Mapping(why));
        }
        if !(self.demo_traffic == 0.0 || (0.05..=86_400.0).contains(&self.demo_traffic)) {
            return invalid("demo_traffic must be 0 (off) or 0.05 to 86400 seconds");
        }
        Ok(())
    }

    /// The database URL: explicit, or the SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose().to_owned(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("sentinel.db").display()
            ),
        }
    }

    /// Lifetime of an access token.
    pub fn access_ttl(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.access_token_minutes * 60)
    }

    /// Lifetime of a refresh token.
    pub fn refresh_ttl(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.refresh_token_days * 86_400)
    }

    /// The mean interval of the live demo traffic, when it runs (`demo` on, `demo_traffic` > 0).
    pub fn live_demo_every(&self) -> Option<std::time::Duration> {
        (self.demo && self.demo_traffic > 0.0)
            .then(|| std::time::Duration::from_secs_f64(self.demo_traffic))
    }
}

/// Where the value of the top-level `key` in `figment` came from.
pub fn origin(figment: &Figment, key: &str) -> Origin {
    let Some(metadata) = figment.find_metadata(key) else {
        return Origin::Default;
    };
    let interpolated = || metadata.interpolate(&Profile::Default, &[key]);
    match metadata.name.as_ref() {
        ENV_NAME => Origin::Env(interpolated()),
        FLAG_NAME => Origin::Flag(interpolated()),
        _ => match &metadata.source {
            Some(figment::Source::File(path)) => Origin::File(path.clone()),
            _ => Origin::Default,
        },
    }
}

/// The embedded `config.default.toml`.
struct Defaults;

impl Provider for Defaults {
    fn metadata(&self) -> Metadata {
        Metadata::named(DEFAULTS_NAME)
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Toml::string(DEFAULTS_TOML).data()
    }
}

/// `SENTINEL_*` variables, `__` separating nested keys. Each value is kept as the text it is
/// (`extract_lossy` reads numbers and booleans from it), so a password such as `0123` stays
/// itself instead of becoming the number 123. An empty variable counts as unset.
struct Environment;

impl Provider for Environment {
    fn metadata(&self) -> Metadata {
        Metadata::named(ENV_NAME).interpolater(|_, keys| {
            let path: Vec<String> = keys.iter().map(|k| k.to_ascii_uppercase()).collect();
            format!("{ENV_PREFIX}{}", path.join("__"))
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut dict = Dict::new();
        for (key, value) in Env::prefixed(ENV_PREFIX).split("__").iter() {
            if value.is_empty() {
                continue;
            }
            let path: Vec<&str> = key.as_str().split('.').collect();
            insert(&mut dict, &path, Value::from(value));
        }
        Ok(Map::from([(Profile::Default, dict)]))
    }
}

/// Puts `value` at `path` in `dict`, creating the tables on the way.
fn insert(dict: &mut Dict, path: &[&str], value: Value) {
    match path {
        [] => {}
        [last] => {
            dict.insert((*last).to_owned(), value);
        }
        [first, rest @ ..] => {
            let entry = dict
                .entry((*first).to_owned())
                .or_insert_with(|| Value::from(Dict::new()));
            if !matches!(entry, Value::Dict(..)) {
                *entry = Value::from(Dict::new());
            }
            if let Value::Dict(_, inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}

/// The flags given on the command line, serialised under the settings' names.
struct Flags<T>(T);

impl<T: Serialize> Provider for Flags<T> {
    fn metadata(&self) -> Metadata {
        Metadata::named(FLAG_NAME)
            .interpolater(|_, keys| format!("--{}", keys.join(".").replace('_', "-")))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Serialized::defaults(&self.0).data()
    }
}

/// `--set KEY=VALUE` flags: any setting, the value read like an environment variable's.
struct SetFlags(Dict);

impl SetFlags {
    fn parse(set: &[String]) -> Result<Self, SettingsError> {
        let keys = Settings::keys();
        let mut dict = Dict::new();
        for pair in set {
            match pair.split_once('=') {
                Some((key, value)) if keys.iter().any(|k| k == key.trim()) => {
                    dict.insert(key.trim().to_owned(), Value::from(value.to_owned()));
                }
                _ => return Err(SettingsError::BadSet(pair.clone())),
            }
        }
        Ok(Self(dict))
    }
}

impl Provider for SetFlags {
    fn metadata(&self) -> Metadata {
        Metadata::named(FLAG_NAME).interpolater(|_, keys| format!("--set {}", keys.join(".")))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Map::from([(Profile::Default, self.0.clone())]))
    }
}

/// A list written as a TOML array, or as one comma-separated string (the environment's form:
/// `SENTINEL_CORS_ORIGINS=https://a.example,https://b.example`).
fn list_or_commas<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    Ok(match Raw::deserialize(deserializer)? {
        Raw::List(items) => items,
        Raw::Text(text) => text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_defaults_are_the_built_in_defaults() {
        let parsed: Settings = Figment::from(Defaults).extract_lossy().unwrap();
        assert_eq!(parsed, Settings::default());
        parsed.validate().unwrap();
    }

    /// The keys of one `[[gateway.upstreams]]` entry, documented in its commented example.
    const UPSTREAM_KEYS: &[&str] = &["name", "api", "base_url", "key_env", "models"];

    /// The keys of one `[[siem.sinks]]` entry, documented in its commented examples.
    const SINK_KEYS: &[&str] = &[
        "name",
        "format",
        "message_types",
        "min_severity",
        "transport",
    ];

    #[test]
    fn every_setting_is_documented_in_the_embedded_defaults() {
        let serialized = serde_json::to_value(Settings::default()).unwrap();
        let keys = serialized.as_object().unwrap().keys();
        let documented: Vec<&str> = DEFAULTS_TOML
            .lines()
            .map(|l| l.trim_start_matches('#').trim_start())
            .filter_map(|l| l.split_once(" = ").map(|(key, _)| key))
            .filter(|key| key.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .collect();
        // A table (`[gateway]`) documents its keys the same way below its header.
        for (table, value) in serialized.as_object().unwrap() {
            if let Some(inner) = value.as_object() {
                assert!(
                    DEFAULTS_TOML.contains(&format!("\n[{table}]\n")),
                    "`[{table}]` is not in config.default.toml"
                );
                for key in inner.keys() {
                    assert!(
                        documented.contains(&key.as_str()),
                        "`{table}.{key}` is undocumented"
                    );
                }
            }
        }
        let keys = keys.filter(|k| !serialized[k.as_str()].is_object());
        for key in keys {
            assert!(
                documented.contains(&key.as_str()),
                "`{key}` is not in config.default.toml (as `{key} = …` or `# {key} = …`)"
            );
            // A comment says what the key does, on the lines right above it.
            let at = DEFAULTS_TOML
                .lines()
                .position(|l| {
                    l.trim_start_matches('#')
                        .trim_start()
                        .starts_with(&format!("{key} = "))
                })
                .unwrap();
            let above = DEFAULTS_TOML
                .lines()
                .nth(at.saturating_sub(1))
                .unwrap_or("");
            assert!(above.starts_with('#'), "`{key}` has no comment above it");
        }
        // The keys of a table's entries (`[[gateway.upstreams]]`) and of the tables themselves.
        let known = |key: &str| {
            serialized.get(key).is_some()
                || serialized
                    .as_object()
                    .unwrap()
                    .values()
                    .filter_map(|v| v.as_object())
                    .any(|t| t.contains_key(key))
                || UPSTREAM_KEYS.contains(&key)
                || SINK_KEYS.contains(&key)
        };
        for key in documented {
            assert!(
                known(key),
                "config.default.toml documents `{key}`, which is not a setting"
            );
        }
    }

    #[test]
    fn secrets_and_database_passwords_never_print() {
        let settings = Settings {
            jwt_secret: Some(Secret::new("s3cret-s3cret-s3cret-s3cret-s3cret")),
            admin_password: Some(Secret::new("hunter2-hunter2")),
            database_url: Some(DatabaseUrl::new("postgres://app:pa55word@db/sentinel")),
            ..Settings::default()
        };
        let printed = format!("{settings:?} {}", serde_json::to_string(&settings).unwrap());
        for secret in ["s3cret", "hunter2", "pa55word"] {
            assert!(!printed.contains(secret), "{printed}");
        }
        assert!(printed.contains("postgres://app:"), "{printed}");
    }

    #[test]
    fn lists_come_as_arrays_or_comma_separated_text() {
        let from_text: Settings = Figment::from(Defaults)
            .merge(Serialized::default(
                "cors_origins",
                "https://a.test, https://b.test,",
            ))
            .extract_lossy()
            .unwrap();
        assert_eq!(from_text.cors_origins, ["https://a.test", "https://b.test"]);
        let from_list: Settings = Figment::from(Defaults)
            .merge(Serialized::default("cors_origins", ["https://c.test"]))
            .extract_lossy()
            .unwrap();
        assert_eq!(from_list.cors_origins, ["https://c.test"]);
    }

    #[test]
    fn siem_sinks_come_from_the_config_file_and_bad_ones_are_refused() {
        let file = r#"
            [[siem.sinks]]
            name = "soc"
            format = "ocsf"
            message_types = ["new_violation", "decision"]
            min_severity = "high"
            transport = { type = "syslog", protocol = "tls", address = "siem.internal:6514" }

            [[siem.sinks]]
            name = "archive"
            format = "cef"
            transport = { type = "file", path = "/tmp/x.cef" }
        "#;
        let parsed: Settings = Figment::from(Defaults)
            .merge(Toml::string(file))
            .extract_lossy()
            .unwrap();
        parsed.validate().unwrap();
        let [soc, archive] = parsed.siem.sinks.as_slice() else {
            panic!("{:?}", parsed.siem.sinks)
        };
        assert!(soc.wants_decisions() && !archive.wants_decisions());
        assert!(soc.wants("new_violation", Some(sentinel_api::Severity::Critical)));
        assert!(!soc.wants("new_violation", Some(sentinel_api::Severity::Low)));
        assert!(!soc.wants("audit", None));
        assert!(archive.wants("audit", None) && !archive.wants("decision", None));
        assert_eq!(
            archive.transport,
            SinkTransport::File {
                path: "/tmp/x.cef".into(),
                max_bytes: 100 * 1024 * 1024,
                keep_files: 5
            }
        );
        let mut twice = parsed.clone();
        twice.siem.sinks[1].name = "soc".into();
        assert!(
            twice
                .validate()
                .unwrap_err()
                .to_string()
                .contains("two sinks")
        );
        // A lease a send could outlast would let two nodes send at once.
        let mut short = parsed.clone();
        short.siem.lease_seconds = short.siem.timeout_seconds;
        let why = short.validate().unwrap_err().to_string();
        assert!(why.contains("lease_seconds"), "{why}");
        let mut bad = parsed;
        bad.siem.sinks[0].transport = SinkTransport::Syslog {
            protocol: SyslogProtocol::Udp,
            address: "no-port".into(),
            ca_file: None,
            server_name: None,
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("HOST:PORT")
        );
        let wrong: Result<Settings, _> = Figment::from(Defaults)
            .merge(Toml::string(
                "[[siem.sinks]]\nname = \"x\"\nformat = \"leef\"\ntransport = { type = \"file\", path = \"/tmp/x\" }\n",
            ))
            .extract_lossy();
        assert!(wrong.is_err(), "an unknown format is refused");
    }

    #[test]
    fn a_replaced_setting_is_refused_by_name() {
        let old = Figment::from(Defaults)
            .merge(Toml::string("[webhooks]\nbusy_overdue_per_second = 50.0\n"));
        let why = Settings::from_figment(&old).unwrap_err().to_string();
        assert!(why.contains("busy_deliveries_per_event"), "{why}");
        let new = Figment::from(Defaults).merge(Toml::string(
            "[webhooks]\nbusy_deliveries_per_event = 0.1\n",
        ));
        assert_eq!(
            Settings::from_figment(&new)
                .unwrap()
                .webhooks
                .busy_deliveries_per_event,
            0.1
        );
    }

    #[test]
    fn out_of_range_values_are_refused() {
        for bad in [
            Settings {
                body_limit: 10,
                ..Settings::default()
            },
            Settings {
                retention_days: Some(0),
                ..Settings::default()
            },
            Settings {
                jwt_secret: Some(Secret::new("short")),
                ..Settings::default()
            },
            Settings {
                demo_traffic: 0.01,
                ..Settings::default()
            },
        ]
        .into_iter()
        .chain([-1.0, f64::NAN, 1e4].map(|share| Settings {
            webhooks: WebhookSettings {
                busy_deliveries_per_event: share,
                ..WebhookSettings::default()
            },
            ..Settings::default()
        })) {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
