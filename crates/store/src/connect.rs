use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use sea_orm_migration::MigratorTrait;

use crate::migration::Migrator;
use crate::{Result, StoreError};

/// Which database the store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The one handle to persistence. Cheap to clone (the pool is shared).
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) db: DatabaseConnection,
    backend: Backend,
    /// The SQLite database file, which backtests read through a connection of their own
    /// (`replay`); `None` on PostgreSQL and for an in-memory database.
    pub(crate) sqlite_file: Option<PathBuf>,
    /// Whether stored events write a `decision` outbox message (see `siem`).
    pub(crate) decisions: Arc<AtomicBool>,
    /// SQLite only: the turn to write, taken by ingestion and the background workers before
    /// their write transactions (see [`Store::write_turn`]).
    write_turns: Option<Arc<tokio::sync::Mutex<()>>>,
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `url`.
    ///
    /// `sqlite://path/to/file.db` or `postgres://user@host/db`. SQLite runs in WAL mode with
    /// `synchronous=NORMAL`, foreign keys on and a busy timeout, so readers never block the writer.
    pub async fn open(url: &str) -> Result<Self> {
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::InvalidUrl(format!(
                "`{}`: expected sqlite://FILE or postgres://…",
                redact_url(url)
            )));
        };
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .sqlx_logging(false)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(30));
        match backend {
            Backend::Sqlite => {
                if let Some(parent) = sqlite_path(url)
                    .and_then(|p| p.parent())
                    .filter(|p| !p.as_os_str().is_empty())
                {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        StoreError::InvalidUrl(format!("cannot create {}: {e}", parent.display()))
                    })?;
                }
                options
                    .max_connections(8)
                    .min_connections(1)
                    .map_sqlx_sqlite_opts(|o| {
                        o.create_if_missing(true)
                            .journal_mode(SqliteJournalMode::Wal)
                            .synchronous(SqliteSynchronous::Normal)
                            .foreign_keys(true)
                            .busy_timeout(Duration::from_secs(10))
                            // Statement journals and sorts stay in memory instead of temp files.
                            .pragma("temp_store", "memory")
                    });
            }
            Backend::Postgres => {
                options.max_connections(16).min_connections(1);
            }
        }
        let db = Database::connect(options).await?;
        let sqlite_file = match backend {
            Backend::Sqlite => sqlite_path(url).and_then(|p| std::fs::canonicalize(p).ok()),
            Backend::Postgres => None,
        };
        let store = Self {
            db,
            backend,
            sqlite_file,
            decisions: Arc::new(AtomicBool::new(false)),
            write_turns: (backend == Backend::Sqlite)
                .then(|| Arc::new(tokio::sync::Mutex::new(()))),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies every pending migration. Idempotent.
    pub async fn migrate(&self) -> Result<()> {
        Migrator::up(&self.db, None).await?;
        Ok(())
    }

    /// On SQLite, waits for this process's turn to write and holds it until the guard drops;
    /// on PostgreSQL, returns at once (`None`).
    ///
    /// SQLite has one writer. Two connections that both want to write do not queue: the one
    /// that finds the lock taken sleeps in SQLite's busy handler (1, 2, 5, 10 ms … until the
    /// lock is free), however soon the holder finishes. Ingestion's group commit and the
    /// delivery and SIEM workers therefore take turns here first, in arrival order, and the
    /// next writer starts the moment the previous one commits. Take the turn before the
    /// transaction's first statement and never while holding a pooled connection, so that a
    /// writer waiting for its turn never holds a connection the current one needs.
    pub(crate) async fn write_turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match &self.write_turns {
            Some(turns) => Some(Arc::clone(turns).lock_owned().await),
            None => None,
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// True when the database answers a trivial query.
    /// Open and idle connections of the pool.
    pub fn pool_usage(&self) -> (u32, usize) {
        match self.backend() {
            Backend::Postgres => {
                let pool = self.db.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            Backend::Sqlite => {
                let pool = self.db.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
        }
    }

    pub async fn ping(&self) -> bool {
        self.db.ping().await.is_ok()
    }

    pub async fn close(self) -> Result<()> {
        self.db.close().await?;
        Ok(())
    }
}

fn sqlite_path(url: &str) -> Option<&Path> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| Path::new(path))
}

/// A URL with its password replaced, safe to show in errors and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:****{}",
                    &url[..scheme + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ingestion's group commit and the workers' writes wait for the turn another writer holds
    /// instead of meeting SQLite's lock (and its busy handler's sleeps).
    #[tokio::test]
    async fn sqlite_writers_wait_for_their_turn() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("turns.db").display()
        );
        let store = Store::open(&url).await.unwrap();
        let turn = store.write_turn().await.expect("SQLite writers take turns");
        let ingest = tokio::spawn({
            let store = store.clone();
            async move { store.create_events(Vec::new()).await.map(|v| v.len()) }
        });
        let worker = tokio::spawn({
            let store = store.clone();
            async move { store.release_siem_lease("sink", "node").await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !ingest.is_finished(),
            "ingestion wrote while another writer had the turn"
        );
        assert!(
            !worker.is_finished(),
            "a worker wrote while another writer had the turn"
        );
        drop(turn);
        assert_eq!(ingest.await.unwrap().unwrap(), 0);
        worker.await.unwrap().unwrap();
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact_url("postgres://u:pw@h/db"), "postgres://u:****@h/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            sqlite_path("sqlite://data/x.db?mode=rwc"),
            Some(Path::new("data/x.db"))
        );
    }
}
