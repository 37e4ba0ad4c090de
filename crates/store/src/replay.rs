//! Reading the stored events of a backtest window as a stream, fast: split into consecutive
//! ranges that threads read side by side, each range read on the calling thread, one borrowed
//! event at a time.
//!
//! On SQLite this path reads the database file through a read-only `rusqlite` connection of its
//! own instead of the pool: through `sqlx` every row crossed a channel from sqlx's worker thread
//! and was decoded into owned values, which cost more than SQLite's own work (docs/ARCHITECTURE.md,
//! "Backtest reads"). The query is the keyset page of [`Store::replay_page`], with the same text
//! parameters sqlx binds, so both readers see the same rows in the same order. PostgreSQL (and an
//! in-memory SQLite database, which a second connection cannot see) reads those pages through the
//! ORM.

use std::ops::ControlFlow;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::types::ValueRef;
use rusqlite::{OpenFlags, ToSql};
use sea_orm::{QueryOrder, QuerySelect};

use crate::backtests::replay_select;
use crate::entity::event;
use crate::{ReplayCursor, ReplayRow, ReplayWindow, Result, Store, StoreError};

/// One stored event as a backtest reads it, borrowed from the reader for one call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplayEvent<'r> {
    pub id: i64,
    pub trigger_date: DateTime<Utc>,
    pub source: Option<&'r str>,
    pub model_name: Option<&'r str>,
    pub user_id: Option<i64>,
    /// JSON object text.
    pub metadata: Option<&'r str>,
    pub prompt: Option<&'r str>,
    pub completion: Option<&'r str>,
    /// JSON text that may carry `prompt` / `completion`.
    pub event_data: Option<&'r str>,
}

impl ReplayRow {
    /// The row as the borrowed event a reader hands out.
    pub fn as_event(&self) -> ReplayEvent<'_> {
        ReplayEvent {
            id: self.id,
            trigger_date: self.trigger_date,
            source: self.source.as_deref(),
            model_name: self.model_name.as_deref(),
            user_id: self.user_id,
            metadata: self.metadata.as_deref(),
            prompt: self.prompt.as_deref(),
            completion: self.completion.as_deref(),
            event_data: self.event_data.as_deref(),
        }
    }
}

impl ReplayEvent<'_> {
    /// An owned copy.
    pub fn to_row(&self) -> ReplayRow {
        ReplayRow {
            id: self.id,
            trigger_date: self.trigger_date,
            source: self.source.map(str::to_owned),
            model_name: self.model_name.map(str::to_owned),
            user_id: self.user_id,
            metadata: self.metadata.map(str::to_owned),
            prompt: self.prompt.map(str::to_owned),
            completion: self.completion.map(str::to_owned),
            event_data: self.event_data.map(str::to_owned),
        }
    }
}

fn read_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Database(sea_orm::DbErr::Custom(format!("replay read: {e}")))
}

impl Store {
    /// Splits `window` into at most `parts` consecutive windows of about `total / parts` events
    /// each (`total`: the events of the window, as [`Store::count_replay`] counts them). Every
    /// event of `window` is in exactly one of them, and they come in `(trigger_date, id)` order:
    /// each boundary is the `trigger_date` of a stored event, which starts the later window, so
    /// the events sharing that instant all fall in it.
    pub async fn split_replay(
        &self,
        window: &ReplayWindow,
        parts: usize,
        total: u64,
    ) -> Result<Vec<ReplayWindow>> {
        let parts = u64::try_from(parts.max(1)).unwrap_or(1);
        let mut bounds: Vec<DateTime<Utc>> = Vec::new();
        for i in 1..parts {
            let offset = total * i / parts;
            if offset == 0 || offset >= total {
                continue;
            }
            let at: Option<DateTime<Utc>> = replay_select(window)
                .select_only()
                .column(event::Column::TriggerDate)
                .order_by_asc(event::Column::TriggerDate)
                .order_by_asc(event::Column::Id)
                .offset(offset)
                .limit(1)
                .into_tuple()
                .one(&self.db)
                .await?;
            if let Some(at) = at
                && at > window.since
                && bounds.last().is_none_or(|b| at > *b)
            {
                bounds.push(at);
            }
        }
        let mut windows = Vec::with_capacity(bounds.len() + 1);
        let mut since = window.since;
        for b in bounds {
            windows.push(ReplayWindow {
                since,
                until: b,
                ..window.clone()
            });
            since = b;
        }
        windows.push(ReplayWindow {
            since,
            ..window.clone()
        });
        Ok(windows)
    }

    /// Reads the events of `window` in `(trigger_date, id)` order, calling `each` with every one
    /// until it answers `Break`; true when the window was read to its end. Keyset pages of
    /// `page_size` events, so no read holds a snapshot for long and memory stays flat.
    ///
    /// Blocking: call it from a blocking thread of a tokio runtime (`spawn_blocking`), never
    /// from async code. On SQLite the thread reads the file itself; otherwise it waits for the
    /// ORM's pages, the next one being fetched while `each` works through the current one.
    pub fn replay_blocking(
        &self,
        window: &ReplayWindow,
        page_size: u64,
        mut each: impl FnMut(ReplayEvent<'_>) -> ControlFlow<()>,
    ) -> Result<bool> {
        let page_size = page_size.max(1);
        match &self.sqlite_file {
            Some(path) => sqlite_replay(path, window, page_size, &mut each),
            None => self.paged_replay(window, page_size, &mut each),
        }
    }

    fn paged_replay(
        &self,
        window: &ReplayWindow,
        page_size: u64,
        each: &mut dyn FnMut(ReplayEvent<'_>) -> ControlFlow<()>,
    ) -> Result<bool> {
        let handle = tokio::runtime::Handle::try_current().map_err(read_error)?;
        let fetch = |after: Option<ReplayCursor>| {
            let (store, window) = (self.clone(), window.clone());
            handle.spawn(async move { store.replay_page(&window, after, page_size).await })
        };
        let mut next = Some(fetch(None));
        while let Some(pending) = next.take() {
            let rows = handle.block_on(pending).map_err(read_error)??;
            if rows.len() as u64 == page_size
                && let Some(last) = rows.last()
            {
                next = Some(fetch(Some(ReplayCursor {
                    trigger_date: last.trigger_date,
                    id: last.id,
                })));
            }
            for row in &rows {
                if each(row.as_event()).is_break() {
                    if let Some(n) = next {
                        n.abort();
                    }
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}

/// A `trigger_date` as sqlx writes it to SQLite (and binds it in [`Store::replay_page`]'s
/// comparisons): the stored text orders as this text does.
fn sqlite_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// A stored `trigger_date` back, as sqlx reads it: RFC 3339, or SQLite's own `YYYY-MM-DD
/// HH:MM:SS[.fff]` taken as UTC.
fn parse_sqlite_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    ["%F %T%.f", "%F %R", "%FT%T%.f", "%FT%R"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(text, f).ok())
        .map(|t| t.and_utc())
}

/// A text column of a row, borrowed; NULL is `None`.
fn text<'r>(row: &'r rusqlite::Row<'_>, i: usize) -> Result<Option<&'r str>> {
    match row.get_ref(i).map_err(read_error)? {
        ValueRef::Null => Ok(None),
        ValueRef::Text(bytes) => std::str::from_utf8(bytes).map(Some).map_err(read_error),
        other => Err(read_error(format!(
            "column {i} holds {:?}, not text",
            other.data_type()
        ))),
    }
}

fn sqlite_replay(
    path: &Path,
    window: &ReplayWindow,
    page_size: u64,
    each: &mut dyn FnMut(ReplayEvent<'_>) -> ControlFlow<()>,
) -> Result<bool> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(read_error)?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(read_error)?;
    // The columns and conditions of `Store::replay_page`. The first page's cursor is `since`
    // with the smallest id, which every event of the window is after.
    let mut sql = String::from(
        "SELECT id, trigger_date, source, model_name, user_id, metadata, prompt, completion, \
         event_data FROM events WHERE trigger_date >= ?1 AND trigger_date < ?2 \
         AND (trigger_date > ?3 OR id > ?4)",
    );
    let mut fixed: Vec<String> = Vec::new();
    for (column, value) in [("source", &window.app), ("model_name", &window.model)] {
        if let Some(v) = value {
            fixed.push(v.clone());
            sql.push_str(&format!(" AND {column} = ?{}", 4 + fixed.len()));
        }
    }
    sql.push_str(&format!(
        " ORDER BY trigger_date, id LIMIT ?{}",
        5 + fixed.len()
    ));
    let mut statement = conn.prepare(&sql).map_err(read_error)?;
    let until = sqlite_text(window.until);
    let limit = i64::try_from(page_size).unwrap_or(i64::MAX);
    let mut after = (window.since, i64::MIN);
    loop {
        let from = sqlite_text(std::cmp::max(window.since, after.0));
        let cursor = sqlite_text(after.0);
        let mut params: Vec<&dyn ToSql> = vec![&from, &until, &cursor, &after.1];
        params.extend(fixed.iter().map(|v| v as &dyn ToSql));
        params.push(&limit);
        let mut rows = statement.query(params.as_slice()).map_err(read_error)?;
        let mut read = 0u64;
        let mut last = None;
        while let Some(row) = rows.next().map_err(read_error)? {
            let id: i64 = row.get(0).map_err(read_error)?;
            let stored = text(row, 1)?.unwrap_or_default();
            let trigger_date = parse_sqlite_time(stored).ok_or_else(|| StoreError::Corrupt {
                column: "events.trigger_date",
                value: stored.chars().take(80).collect(),
            })?;
            let event = ReplayEvent {
                id,
                trigger_date,
                source: text(row, 2)?,
                model_name: text(row, 3)?,
                user_id: row.get(4).map_err(read_error)?,
                metadata: text(row, 5)?,
                prompt: text(row, 6)?,
                completion: text(row, 7)?,
                event_data: text(row, 8)?,
            };
            read += 1;
            last = Some((trigger_date, id));
            if each(event).is_break() {
                return Ok(false);
            }
        }
        match last {
            Some(l) if read == page_size => after = l,
            _ => return Ok(true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_back_as_written() {
        let t = DateTime::parse_from_rfc3339("2026-11-01T10:00:00.123456Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        assert_eq!(sqlite_text(t), "2026-11-01T10:00:00.123456+00:00");
        assert_eq!(parse_sqlite_time(&sqlite_text(t)), Some(t));
        let whole = t - chrono::Duration::microseconds(123_456);
        assert_eq!(sqlite_text(whole), "2026-11-01T10:00:00+00:00");
        assert_eq!(parse_sqlite_time("2026-11-01 10:00:00"), Some(whole));
        assert_eq!(parse_sqlite_time("yesterday"), None);
    }
}
