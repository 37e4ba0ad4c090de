//! Typed ids: a policy's id cannot be passed where an event's is expected. They travel as plain
//! integers (`serde(transparent)`), so the wire is unchanged.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The integer the database and the wire use.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> Self {
                Self(id)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

typed_id!(
    /// The id of a policy.
    PolicyId
);
typed_id!(
    /// The id of an event (the row id, not the client's `event_id` text).
    EventId
);
typed_id!(
    /// The id of a violation.
    ViolationId
);
typed_id!(
    /// The id of a user.
    UserId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_travel_as_plain_integers() {
        assert_eq!(
            serde_json::to_string(&PolicyId(7)).ok().as_deref(),
            Some("7")
        );
        assert_eq!(serde_json::from_str::<UserId>("3").ok(), Some(UserId(3)));
        assert_eq!(EventId::from(5).get(), 5);
        assert_eq!(ViolationId(9).to_string(), "9");
    }
}
