//! Cross-node messages over PostgreSQL `LISTEN`/`NOTIFY`. SQLite is one process: nothing to do.

use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::{Backend, Result, Store, StoreError};

/// Largest payload PostgreSQL accepts in a notification is 8,000 bytes; leave room.
pub const MAX_PAYLOAD: usize = 7_900;

fn db_err(e: sea_orm::sqlx::Error) -> StoreError {
    StoreError::Database(sea_orm::DbErr::Custom(e.to_string()))
}

/// A dedicated connection listening on one channel.
pub struct Listener(PgListener);

impl Listener {
    /// The next payload. After a lost connection the listener reconnects and listens again;
    /// notifications sent while it was away are lost (the caller may resynchronise).
    pub async fn recv(&mut self) -> Result<String> {
        let notification = self.0.recv().await.map_err(db_err)?;
        Ok(notification.payload().to_owned())
    }
}

impl Store {
    /// The channel for live messages of this database and schema, so that deployments (and test
    /// schemas) sharing one PostgreSQL server never hear each other. `None` on SQLite.
    pub async fn live_channel(&self) -> Result<Option<String>> {
        if self.backend() != Backend::Postgres {
            return Ok(None);
        }
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT current_database() || '.' || current_schema() AS name",
            ))
            .await?;
        let name: String = row
            .map(|r| r.try_get("", "name"))
            .transpose()?
            .unwrap_or_default();
        // Channel names are identifiers (at most 63 bytes): keep a readable, bounded form.
        let clean: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .take(40)
            .collect();
        Ok(Some(format!("sentinel_{clean}")))
    }

    /// Sends `payload` (at most [`MAX_PAYLOAD`] bytes) to every listener of `channel`.
    pub async fn notify(&self, channel: &str, payload: &str) -> Result<()> {
        self.db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [channel.into(), payload.into()],
            ))
            .await?;
        Ok(())
    }

    /// Starts listening on `channel` on a connection of its own. `None` on SQLite.
    pub async fn listen(&self, channel: &str) -> Result<Option<Listener>> {
        if self.backend() != Backend::Postgres {
            return Ok(None);
        }
        let pool = self.db.get_postgres_connection_pool();
        let mut listener = PgListener::connect_with(pool).await.map_err(db_err)?;
        listener.listen(channel).await.map_err(db_err)?;
        Ok(Some(Listener(listener)))
    }
}
