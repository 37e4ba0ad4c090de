//! Pagination shared by every list route.

use serde::Deserialize;
use utoipa::IntoParams;

pub const DEFAULT_LIMIT: u64 = 100;
pub const MAX_LIMIT: u64 = 1000;

/// `skip` and `limit` (default 100, at most 1000). The total goes in `X-Total-Count`.
#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Rows to skip.
    #[serde(default)]
    #[param(minimum = 0)]
    pub skip: u64,
    /// Rows to return, at most 1000.
    #[serde(default = "default_limit")]
    #[param(minimum = 0, maximum = 1000, default = 100)]
    pub limit: u64,
}

impl Default for PageParams {
    fn default() -> Self {
        Self {
            skip: 0,
            limit: DEFAULT_LIMIT,
        }
    }
}

fn default_limit() -> u64 {
    DEFAULT_LIMIT
}

/// A page of rows and the number of rows matching the filter.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

impl<T> Page<T> {
    /// The same page with each row converted by `f`.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
        }
    }
}
