//! Configuration layers: built-in defaults < `--config` file < `SENTINEL_*` environment < flags.

use std::path::PathBuf;

use anyhow::{Context, Result};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::StoreArgs;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Validated settings.
#[derive(Clone, Serialize, Deserialize)]
pub struct Settings {
    pub bind: String,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub cors_origins: Vec<String>,
    pub body_limit: usize,
    pub log_format: LogFormat,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("bind", &self.bind)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_deref().map(sentinel_store::redact_url),
            )
            .field("cors_origins", &self.cors_origins)
            .field("body_limit", &self.body_limit)
            .field("log_format", &self.log_format)
            .finish()
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
        }
    }
}

impl Settings {
    pub fn load(
        args: &StoreArgs,
        bind: Option<String>,
        log_format: Option<LogFormat>,
    ) -> Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = &args.config {
            if !file.exists() {
                anyhow::bail!("configuration file {} does not exist", file.display());
            }
            figment = figment.merge(Toml::file(file));
        }
        figment = figment.merge(
            Env::prefixed("SENTINEL_")
                .only(&[
                    "bind",
                    "data_dir",
                    "database_url",
                    "body_limit",
                    "log_format",
                ])
                .map(|k| k.as_str().to_ascii_lowercase().into()),
        );
        // In the environment the origins are one comma-separated value.
        if let Ok(raw) = std::env::var("SENTINEL_CORS_ORIGINS") {
            figment = figment.merge(Serialized::default("cors_origins", split_list(&raw)));
        }
        let mut settings: Settings = figment.extract().context("reading the configuration")?;
        if let Some(dir) = &args.data_dir {
            settings.data_dir = dir.clone();
        }
        if let Some(url) = &args.database_url {
            settings.database_url = Some(url.clone());
        }
        if let Some(bind) = bind {
            settings.bind = bind;
        }
        if let Some(format) = log_format {
            settings.log_format = format;
        }
        if settings.body_limit < 1024 {
            anyhow::bail!("body_limit must be at least 1024 bytes");
        }
        Ok(settings)
    }

    /// The database URL: explicit, or the SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("sentinel.db").display()
            ),
        }
    }
}

fn split_list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SENTINEL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}
