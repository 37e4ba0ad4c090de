//! The schema's unique and foreign-key constraints, named once: the migrations create them under
//! these names, and [`StoreError::classify`](crate::StoreError) recognises a refused write by them.
//!
//! PostgreSQL reports the name of the constraint a write broke. SQLite reports no name: for a
//! unique constraint it reports `table.column` in a fixed format, which is matched exactly against
//! [`Constraint::table`] and [`Constraint::column`]; for a foreign key it reports nothing at all,
//! so callers that can break one check the reference first (see `events::insert_events`).

/// What a constraint protects, for the error a caller sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// No two rows share the column's value.
    Unique,
    /// The column names a row of `references`.
    ForeignKey { references: &'static str },
}

/// One named constraint of the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Constraint {
    /// The name the database knows it by.
    pub name: &'static str,
    pub table: &'static str,
    pub column: &'static str,
    pub kind: Kind,
}

impl Constraint {
    const fn unique(name: &'static str, table: &'static str, column: &'static str) -> Self {
        Self {
            name,
            table,
            column,
            kind: Kind::Unique,
        }
    }

    const fn foreign_key(
        name: &'static str,
        table: &'static str,
        column: &'static str,
        references: &'static str,
    ) -> Self {
        Self {
            name,
            table,
            column,
            kind: Kind::ForeignKey { references },
        }
    }
}

/// `events.event_id`, the caller's id of an event (a named unique index).
pub const EVENTS_EVENT_ID: Constraint =
    Constraint::unique("uq_events_event_id", "events", "event_id");

// The next five are column-level `UNIQUE`s (`string_uniq` in the migrations): PostgreSQL names
// them `<table>_<column>_key`, and a test checks these names against its catalogue.

/// `users.username`.
pub const USERS_USERNAME: Constraint =
    Constraint::unique("users_username_key", "users", "username");
/// `users.email`.
pub const USERS_EMAIL: Constraint = Constraint::unique("users_email_key", "users", "email");
/// `policy_templates.name`.
pub const POLICY_TEMPLATES_NAME: Constraint =
    Constraint::unique("policy_templates_name_key", "policy_templates", "name");
/// `api_keys.prefix`, the visible part of a key.
pub const API_KEYS_PREFIX: Constraint =
    Constraint::unique("api_keys_prefix_key", "api_keys", "prefix");
/// `refresh_tokens.token_hash`.
pub const REFRESH_TOKENS_TOKEN_HASH: Constraint = Constraint::unique(
    "refresh_tokens_token_hash_key",
    "refresh_tokens",
    "token_hash",
);
/// `audit_log.prev_hash`: two entries can never claim the same predecessor.
pub const AUDIT_LOG_PREV_HASH: Constraint =
    Constraint::unique("audit_log_prev_hash_key", "audit_log", "prev_hash");

/// An event's policy.
pub const FK_EVENTS_POLICY_ID: Constraint =
    Constraint::foreign_key("fk_events_policy_id", "events", "policy_id", "policy");
/// A violation's event.
pub const FK_VIOLATIONS_EVENT_ID: Constraint =
    Constraint::foreign_key("fk_violations_event_id", "violations", "event_id", "event");
/// A violation's policy.
pub const FK_VIOLATIONS_POLICY_ID: Constraint = Constraint::foreign_key(
    "fk_violations_policy_id",
    "violations",
    "policy_id",
    "policy",
);
/// A refresh token's user.
pub const FK_REFRESH_TOKENS_USER_ID: Constraint = Constraint::foreign_key(
    "fk_refresh_tokens_user_id",
    "refresh_tokens",
    "user_id",
    "user",
);

/// `policy_versions.policy_id` → `policies.id`.
pub const FK_POLICY_VERSIONS_POLICY_ID: Constraint = Constraint::foreign_key(
    "fk_policy_versions_policy_id",
    "policy_versions",
    "policy_id",
    "policy",
);

/// Every constraint above.
pub const ALL: &[Constraint] = &[
    EVENTS_EVENT_ID,
    USERS_USERNAME,
    USERS_EMAIL,
    POLICY_TEMPLATES_NAME,
    API_KEYS_PREFIX,
    REFRESH_TOKENS_TOKEN_HASH,
    AUDIT_LOG_PREV_HASH,
    FK_EVENTS_POLICY_ID,
    FK_VIOLATIONS_EVENT_ID,
    FK_VIOLATIONS_POLICY_ID,
    FK_REFRESH_TOKENS_USER_ID,
    FK_POLICY_VERSIONS_POLICY_ID,
];

/// The constraint PostgreSQL names `name`.
pub fn by_name(name: &str) -> Option<&'static Constraint> {
    ALL.iter().find(|c| c.name == name)
}

/// The unique constraint of SQLite's report `UNIQUE constraint failed: <table>.<column>`.
pub fn by_sqlite_unique_message(message: &str) -> Option<&'static Constraint> {
    // sqlx may prefix the database's text ("error returned from database: ..."): the report is
    // the part after SQLite's fixed lead-in.
    let (_, columns) = message.split_once("UNIQUE constraint failed: ")?;
    let (table, column) = columns.trim().split_once('.')?;
    ALL.iter()
        .find(|c| c.kind == Kind::Unique && c.table == table && c.column == column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_reports_name_the_constraint() {
        assert_eq!(
            by_sqlite_unique_message("UNIQUE constraint failed: users.email"),
            Some(&USERS_EMAIL)
        );
        assert_eq!(
            by_sqlite_unique_message(
                "error returned from database: (code: 2067) UNIQUE constraint failed: events.event_id"
            ),
            Some(&EVENTS_EVENT_ID)
        );
        // A composite or unknown report names no single constraint.
        assert_eq!(
            by_sqlite_unique_message("UNIQUE constraint failed: users.email, users.username"),
            None
        );
        assert_eq!(
            by_sqlite_unique_message("FOREIGN KEY constraint failed"),
            None
        );
    }

    #[test]
    fn names_and_unique_columns_are_distinct() {
        for (i, a) in ALL.iter().enumerate() {
            assert!(ALL[i + 1..].iter().all(|b| b.name != a.name), "{}", a.name);
            assert_eq!(by_name(a.name), Some(a));
            // `StoreError::Conflict` names a unique constraint by its column.
            if a.kind == Kind::Unique {
                let clash = ALL[i + 1..]
                    .iter()
                    .any(|b| b.kind == Kind::Unique && b.column == a.column);
                assert!(!clash, "{}", a.column);
            }
        }
    }
}
