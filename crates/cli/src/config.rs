//! Configuration layers: built-in defaults < `--config` file < `SENTINEL_*` environment < flags.

use std::path::PathBuf;

use anyhow::{Context, Result};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use sentinel_api::UserRole;
use sentinel_server::state::StoreContent;

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
    /// Signs access tokens. When unset, a secret is generated once and kept in
    /// `<data_dir>/jwt-secret`. Several nodes must share one: set it explicitly.
    pub jwt_secret: Option<String>,
    /// The role of requests without credentials (`viewer`, `analyst`, `admin`); unset refuses them.
    pub anonymous_role: Option<UserRole>,
    /// Minutes an access token lives.
    pub access_token_minutes: u64,
    /// Days a refresh token lives.
    pub refresh_token_days: u64,
    /// How much event text is stored: `full`, `redacted` or `none`.
    pub store_content: StoreContent,
    /// Delete events older than this many days (unset: keep everything).
    pub retention_days: Option<u32>,
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
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "<set>"))
            .field("anonymous_role", &self.anonymous_role)
            .field("access_token_minutes", &self.access_token_minutes)
            .field("refresh_token_days", &self.refresh_token_days)
            .field("store_content", &self.store_content)
            .field("retention_days", &self.retention_days)
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
            jwt_secret: None,
            anonymous_role: None,
            access_token_minutes: 15,
            refresh_token_days: 14,
            store_content: StoreContent::Full,
            retention_days: None,
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
                    "jwt_secret",
                    "anonymous_role",
                    "access_token_minutes",
                    "refresh_token_days",
                    "store_content",
                    "retention_days",
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
        if !(1..=24 * 60).contains(&settings.access_token_minutes) {
            anyhow::bail!("access_token_minutes must be between 1 and 1440");
        }
        if !(1..=365).contains(&settings.refresh_token_days) {
            anyhow::bail!("refresh_token_days must be between 1 and 365");
        }
        if settings.retention_days == Some(0) {
            anyhow::bail!("retention_days must be at least 1 (leave it unset to keep everything)");
        }
        if settings.jwt_secret.as_ref().is_some_and(|s| s.len() < 32) {
            anyhow::bail!("jwt_secret must be at least 32 characters");
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

/// The token-signing secret: configured, or generated once and kept in the data directory
/// (readable by the owner only).
pub fn jwt_secret(settings: &Settings) -> Result<Vec<u8>> {
    if let Some(secret) = &settings.jwt_secret {
        return Ok(secret.as_bytes().to_vec());
    }
    let path = settings.data_dir.join("jwt-secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim();
        if existing.len() >= 32 {
            return Ok(existing.as_bytes().to_vec());
        }
        anyhow::bail!("{} is shorter than 32 characters", path.display());
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("creating {}", settings.data_dir.display()))?;
    write_private(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated the token-signing secret");
    Ok(secret.into_bytes())
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}
