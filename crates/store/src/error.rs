use std::ops::Deref;

use sea_orm::{DbErr, RuntimeErr, SqlErr};

use crate::constraint::{self, Constraint, Kind};

/// A kind of record, named in [`StoreError::NotFound`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Policy,
    Event,
    Violation,
    Template,
    User,
    ApiKey,
    Webhook,
    Delivery,
    Backtest,
}

impl Entity {
    /// The record's name in a sentence ("Policy not found").
    pub const fn name(self) -> &'static str {
        match self {
            Entity::Policy => "Policy",
            Entity::Event => "Event",
            Entity::Violation => "Violation",
            Entity::Template => "Template",
            Entity::User => "User",
            Entity::ApiKey => "API key",
            Entity::Webhook => "Webhook",
            Entity::Delivery => "Delivery",
            Entity::Backtest => "Backtest",
        }
    }
}

impl std::fmt::Display for Entity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What can go wrong in the store, in terms the caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No row with that id (or it was deleted).
    #[error("{entity} not found")]
    NotFound { entity: Entity },
    /// The policy exists but has no such version; `latest` is its current version (versions are
    /// numbered from 1 without gaps).
    #[error("Policy {policy_id} has no version {version}; its versions are 1 to {latest}")]
    NoSuchVersion {
        policy_id: i64,
        version: i64,
        latest: i64,
    },
    /// A unique constraint refused the write. `field` is the column of that constraint in
    /// [`constraint::ALL`] (each protects a different column), or `value` for any other.
    #[error("{field} already exists")]
    Conflict { field: &'static str },
    /// The change would leave no active admin.
    #[error("the last active admin cannot be deleted, disabled or demoted")]
    LastAdmin,
    /// A referenced row does not exist. `None` when the database did not say which reference
    /// (SQLite names no foreign key).
    #[error("a reference ({}) names a missing row", .constraint.map_or("unknown", |c| c.column))]
    MissingReference {
        constraint: Option<&'static Constraint>,
    },
    /// A stored value is not one the schema allows (the database was edited by hand).
    #[error("stored {column} value `{value}` is not valid")]
    Corrupt { column: &'static str, value: String },
    /// The database URL could not be used.
    #[error("invalid database url: {0}")]
    InvalidUrl(String),
    /// Anything else the database reported. Details are logged by the caller, never sent to clients.
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

impl StoreError {
    /// Maps constraint violations to typed errors by the constraint's identity (see
    /// [`constraint`]), in one place.
    pub(crate) fn classify(err: DbErr) -> Self {
        let named = database_error(&err).and_then(|e| {
            e.constraint()
                .and_then(constraint::by_name)
                .or_else(|| constraint::by_sqlite_unique_message(e.message()))
        });
        match (err.sql_err(), named) {
            (Some(SqlErr::UniqueConstraintViolation(_)), c) => StoreError::Conflict {
                field: c
                    .filter(|c| c.kind == Kind::Unique)
                    .map_or("value", |c| c.column),
            },
            (Some(SqlErr::ForeignKeyConstraintViolation(_)), c) => StoreError::MissingReference {
                constraint: c.filter(|c| matches!(c.kind, Kind::ForeignKey { .. })),
            },
            _ => StoreError::Database(err),
        }
    }
}

/// The database's own error inside a sea-orm error, when there is one.
fn database_error(err: &DbErr) -> Option<&(dyn sea_orm::sqlx::error::DatabaseError + 'static)> {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match e.deref() {
                sea_orm::sqlx::Error::Database(e) => Some(e.as_ref()),
                _ => None,
            }
        }
        _ => None,
    }
}
