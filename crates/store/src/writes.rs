//! Writes that need no answer, sent to the database together.
//!
//! A transaction's counter upserts and outbox rows are a handful of statements whose results
//! nobody reads. On SQLite each statement is a round trip to the connection's own thread (two
//! context switches), and ingestion's transactions are bound by those round trips: a batch of
//! events made about fifteen of them. [`Writes`] collects such statements and sends them as one
//! query on SQLite: sqlx prepares and steps its statements in turn, each plain `?` taking the next
//! value. PostgreSQL runs them one by one, since a prepared statement holds one command there.

use sea_orm::{ConnectionTrait, DbBackend, QueryTrait, Statement, Value};

use crate::{Result, StoreError};

/// Statements to run in order on the caller's connection or transaction.
pub(crate) struct Writes {
    backend: DbBackend,
    statements: Vec<Statement>,
}

impl Writes {
    pub(crate) fn new(backend: DbBackend) -> Self {
        Writes {
            backend,
            statements: Vec::new(),
        }
    }

    pub(crate) fn backend(&self) -> DbBackend {
        self.backend
    }

    /// Adds a statement built for this backend.
    pub(crate) fn push(&mut self, statement: Statement) {
        self.statements.push(statement);
    }

    /// Adds a sea-orm query (an insert, update or delete).
    pub(crate) fn query(&mut self, query: &impl QueryTrait) {
        self.statements.push(query.build(self.backend));
    }

    /// Runs the statements in order: on SQLite as one query, elsewhere one at a time. A failure
    /// stops at the failing statement; the caller's transaction then rolls back.
    pub(crate) async fn run<C: ConnectionTrait>(self, conn: &C) -> Result<()> {
        match self.backend {
            DbBackend::Sqlite => {
                if let Some(joined) = joined(self.statements) {
                    conn.execute_raw(joined)
                        .await
                        .map_err(StoreError::classify)?;
                }
            }
            _ => {
                for statement in self.statements {
                    conn.execute_raw(statement)
                        .await
                        .map_err(StoreError::classify)?;
                }
            }
        }
        Ok(())
    }
}

/// One SQLite query of `statements` (none when there are none): their SQL joined by `;`, their
/// values in the same order.
fn joined(statements: Vec<Statement>) -> Option<Statement> {
    let mut it = statements.into_iter();
    let mut first = it.next()?;
    let mut values: Vec<Value> = first.values.take().map(|v| v.0).unwrap_or_default();
    for s in it {
        first.sql.push_str(";\n");
        first.sql.push_str(&s.sql);
        values.extend(s.values.map(|v| v.0).unwrap_or_default());
    }
    Some(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        first.sql,
        values,
    ))
}

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::{Expr, OnConflict};
    use sea_orm::{EntityTrait, QueryOrder, Set, TransactionTrait};

    use super::*;
    use crate::Store;
    use crate::entity::event_hour;

    use crate::test_common as common;

    fn row(hour: i64, severity: &str, events: i64) -> event_hour::ActiveModel {
        event_hour::ActiveModel {
            hour: Set(hour),
            severity: Set(severity.to_owned()),
            events: Set(events),
        }
    }

    /// Adds `events` to the hour's count, as the counters do.
    fn add(writes: &mut Writes, hour: i64, severity: &str, events: i64) {
        writes.query(
            &event_hour::Entity::insert_many([row(hour, severity, events)]).on_conflict(
                OnConflict::columns([event_hour::Column::Hour, event_hour::Column::Severity])
                    .value(
                        event_hour::Column::Events,
                        Expr::cust("event_hours.events + excluded.events"),
                    )
                    .to_owned(),
            ),
        );
    }

    async fn hours(store: &Store) -> Vec<(i64, String, i64)> {
        event_hour::Entity::find()
            .order_by_asc(event_hour::Column::Hour)
            .all(&store.db)
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.hour, m.severity, m.events))
            .collect()
    }

    #[test]
    fn statements_join_in_order_with_their_values() {
        let mut writes = Writes::new(DbBackend::Sqlite);
        add(&mut writes, 1, "low", 2);
        add(&mut writes, 3, "high", 4);
        let one = joined(writes.statements).expect("two statements");
        assert_eq!(one.sql.matches("INSERT INTO").count(), 2);
        assert_eq!(one.sql.matches(";\n").count(), 1);
        let values: Vec<Value> = one.values.expect("values").0;
        assert_eq!(
            values,
            [
                Value::from(1i64),
                Value::from("low"),
                Value::from(2i64),
                Value::from(3i64),
                Value::from("high"),
                Value::from(4i64),
            ]
        );
        assert!(joined(Vec::new()).is_none());
    }

    /// Each statement gets its own values (one query on SQLite), in order; a failing statement
    /// fails the run, and the transaction then leaves the table as it was. On PostgreSQL too,
    /// where the statements run one by one (`SENTINEL_TEST_DATABASE_URL`).
    #[tokio::test]
    async fn writes_run_in_order_and_fail_together() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&common::fresh_database_url(&dir).await)
            .await
            .unwrap();
        let txn = store.db.begin().await.unwrap();
        let mut writes = Writes::new(txn.get_database_backend());
        add(&mut writes, 10, "low", 2);
        add(&mut writes, 10, "low", 3);
        add(&mut writes, 11, "high", 7);
        writes.run(&txn).await.unwrap();
        txn.commit().await.unwrap();
        let before = vec![(10, "low".to_owned(), 5), (11, "high".to_owned(), 7)];
        assert_eq!(hours(&store).await, before);

        let txn = store.db.begin().await.unwrap();
        let mut writes = Writes::new(txn.get_database_backend());
        add(&mut writes, 12, "low", 1);
        // The same key again without an upsert: a unique violation.
        writes.query(&event_hour::Entity::insert_many([row(10, "low", 1)]));
        add(&mut writes, 13, "low", 1);
        let err = writes.run(&txn).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
        drop(txn);
        assert_eq!(hours(&store).await, before);
        // No statement runs for no writes.
        Writes::new(store.db.get_database_backend())
            .run(&store.db)
            .await
            .unwrap();
    }
}
