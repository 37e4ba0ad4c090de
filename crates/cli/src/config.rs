//! The configuration as the CLI sees it: which flags feed which settings, logging, and
//! `sentinel config show`. The settings themselves, their layers and their defaults are
//! `sentinel_server::settings`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use figment::Figment;
use serde::Serialize;

use sentinel_server::Settings;
use sentinel_server::settings::{LogFormat, origin};

/// Where the store lives; shared by every subcommand that touches it.
#[derive(Args, Debug, Clone, Default, Serialize)]
pub struct StoreArgs {
    /// Directory for the SQLite database and other state (`data_dir`, SENTINEL_DATA_DIR).
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// sqlite://FILE or postgres://USER@HOST/DB (`database_url`, SENTINEL_DATABASE_URL; default:
    /// SQLite `sentinel.db` in the data dir).
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// A TOML configuration file (keys as in `sentinel config show`).
    #[arg(long, env = "SENTINEL_CONFIG", global = true)]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Sets any setting, as KEY=VALUE (repeatable); see `sentinel config show` for the keys.
    #[arg(long = "set", value_name = "KEY=VALUE", global = true)]
    #[serde(skip)]
    pub set: Vec<String>,
}

/// The flags of `sentinel serve`, named after the settings they set.
#[derive(Args, Debug, Clone, Default, Serialize)]
pub struct ServeFlags {
    /// Address to listen on (`bind`, SENTINEL_BIND).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    /// Load demo data into an empty store (`demo`, SENTINEL_DEMO).
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub demo: bool,
    /// Seed of the demo data generator (`demo_seed`; default 42).
    #[arg(long = "demo-seed", visible_alias = "seed", value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub demo_seed: Option<u64>,
    /// With --demo: seconds between live demo events (about; jittered), sent through the real
    /// ingestion path so the dashboard moves. 0 switches the live traffic off (`demo_traffic`;
    /// default 3).
    #[arg(long, value_name = "SECONDS", value_parser = parse_demo_traffic)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub demo_traffic: Option<f64>,
    /// Log output format (`log_format`, SENTINEL_LOG_FORMAT).
    #[arg(long, value_parser = ["text", "json"])]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<String>,
}

/// The flags given to one command, under the settings' names.
#[derive(Serialize)]
struct Given<'a> {
    #[serde(flatten)]
    store: &'a StoreArgs,
    #[serde(flatten)]
    serve: Option<&'a ServeFlags>,
}

/// The configuration layers of a command, and the settings they make.
pub fn load(store: &StoreArgs, serve: Option<&ServeFlags>) -> Result<(Figment, Settings)> {
    let figment = Settings::figment(store.config.as_deref(), Given { store, serve }, &store.set)?;
    let settings = Settings::from_figment(&figment)?;
    Ok((figment, settings))
}

/// `sentinel config show`: every setting as TOML, each followed by where its value came from;
/// secrets masked (their serialised form is).
pub fn show(figment: &Figment, settings: &Settings) -> Result<String> {
    let values = serde_json::to_value(settings).context("serialising the settings")?;
    let values = values
        .as_object()
        .context("the settings serialise to a table")?;
    let mut out = String::from(
        "# The effective configuration: each value, then where it came from.\n\
         # Layers: default < file (--config) < env (SENTINEL_*) < flag. Secrets are masked.\n",
    );
    for (key, value) in values {
        let from = origin(figment, key);
        if value.is_null() {
            out.push_str(&format!("# {key} is unset  # {from}\n"));
        } else {
            out.push_str(&format!("{key} = {}  # {from}\n", toml_value(value)));
        }
    }
    Ok(out)
}

/// A JSON value as TOML on one line: a table becomes an inline table, and its null entries are
/// left out (TOML has no null). A JSON string, number or boolean is already TOML.
fn toml_value(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(toml_value).collect();
            format!("[{}]", items.join(","))
        }
        Value::Object(map) => {
            let entries: Vec<String> = map
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| {
                    let bare = !k.is_empty()
                        && k.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    let key = if bare {
                        k.clone()
                    } else {
                        Value::from(k.as_str()).to_string()
                    };
                    format!("{key} = {}", toml_value(v))
                })
                .collect();
            if entries.is_empty() {
                "{}".to_owned()
            } else {
                format!("{{ {} }}", entries.join(", "))
            }
        }
        other => other.to_string(),
    }
}

/// `--demo-traffic`: a number of seconds, 0 (off) or from 0.05 to one day.
fn parse_demo_traffic(raw: &str) -> Result<f64, String> {
    let seconds: f64 = raw
        .trim()
        .parse()
        .map_err(|_| format!("expected a number of seconds, got `{raw}`"))?;
    if seconds == 0.0 || (0.05..=86_400.0).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(format!(
            "expected 0 (off) or 0.05 to 86400 seconds, got `{raw}`"
        ))
    }
}

pub fn init_logging(format: LogFormat) {
    // Only `serve` exports traces; the other commands log.
    init_subscriber(format, None);
}

/// Logging plus, when the `OTEL_*` environment asks for it, OpenTelemetry traces over OTLP
/// (`sentinel_server::telemetry`). Must run inside the runtime.
pub fn init_logging_and_traces(
    format: LogFormat,
) -> anyhow::Result<Option<sentinel_server::telemetry::Telemetry>> {
    let (layer, telemetry) = match sentinel_server::telemetry::init()
        .context("starting the OpenTelemetry exporter (OTEL_* variables)")?
    {
        Some((layer, telemetry)) => (Some(layer), Some(telemetry)),
        None => (None, None),
    };
    init_subscriber(format, layer);
    Ok(telemetry)
}

type OtelLayer = tracing_opentelemetry::OpenTelemetryLayer<
    tracing_subscriber::Registry,
    opentelemetry_sdk::trace::Tracer,
>;

fn init_subscriber(format: LogFormat, otel: Option<OtelLayer>) {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = tracing_subscriber::EnvFilter::try_from_env("SENTINEL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = match format {
        LogFormat::Json => fmt.json().boxed(),
        LogFormat::Text => fmt.boxed(),
    };
    tracing_subscriber::registry()
        .with(otel)
        .with(filter)
        .with(fmt)
        .init();
}
