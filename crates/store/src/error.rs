use sea_orm::{DbErr, SqlErr};

/// What can go wrong in the store, in terms the caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No row with that id (or it was deleted).
    #[error("{entity} not found")]
    NotFound { entity: &'static str },
    /// A unique constraint refused the write; `field` names the column that clashed.
    #[error("{field} already exists")]
    Conflict { field: &'static str },
    /// The change would leave no active admin.
    #[error("the last active admin cannot be deleted, disabled or demoted")]
    LastAdmin,
    /// A referenced row does not exist.
    #[error("{field} refers to a missing {entity}")]
    MissingReference {
        field: &'static str,
        entity: &'static str,
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
    /// Maps constraint violations to typed errors, by constraint or column name, in one place.
    pub(crate) fn classify(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(msg)) => {
                let field = if msg.contains("event_id") {
                    "event_id"
                } else if msg.contains("username") {
                    "username"
                } else if msg.contains("email") {
                    "email"
                } else if msg.contains("name") {
                    "name"
                } else {
                    "value"
                };
                StoreError::Conflict { field }
            }
            Some(SqlErr::ForeignKeyConstraintViolation(msg)) => {
                if msg.contains("policy") {
                    StoreError::MissingReference {
                        field: "policy_id",
                        entity: "policy",
                    }
                } else {
                    StoreError::MissingReference {
                        field: "event_id",
                        entity: "event",
                    }
                }
            }
            _ => StoreError::Database(err),
        }
    }
}
