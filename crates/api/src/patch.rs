//! A field of a partial update: absent, explicitly `null`, or a value.
//!
//! Legacy clients rely on the difference: `acknowledged_by: null` still stamps `acknowledged_date`,
//! and `null` for a required policy field must be refused rather than silently ignored.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Patch<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<T> Patch<T> {
    pub fn is_present(&self) -> bool {
        !matches!(self, Patch::Absent)
    }

    /// For `skip_serializing_if`: an absent field is left out of a body.
    pub fn is_absent(&self) -> bool {
        !self.is_present()
    }

    pub fn value(self) -> Option<T> {
        match self {
            Patch::Value(v) => Some(v),
            Patch::Absent | Patch::Null => None,
        }
    }

    /// `None` when absent, `Some(None)` when null, `Some(Some(v))` for a value.
    pub fn into_update(self) -> Option<Option<T>> {
        match self {
            Patch::Absent => None,
            Patch::Null => Some(None),
            Patch::Value(v) => Some(Some(v)),
        }
    }

    pub fn as_ref(&self) -> Patch<&T> {
        match self {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Value(v) => Patch::Value(v),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Only called when the key is present (fields use `#[serde(default)]`).
        Ok(match Option::<T>::deserialize(deserializer)? {
            Some(v) => Patch::Value(v),
            None => Patch::Null,
        })
    }
}

/// Writes a value or `null`; fields skip [`Patch::Absent`] with `skip_serializing_if`, so a
/// client (the server tests' typed client) sends each of the three states as it is read.
impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Patch::Value(v) => serializer.serialize_some(v),
            Patch::Absent | Patch::Null => serializer.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        name: Patch<String>,
    }

    #[test]
    fn distinguishes_absent_null_and_value() {
        let b: Body = serde_json::from_str("{}").unwrap();
        assert_eq!(b.name, Patch::Absent);
        let b: Body = serde_json::from_str(r#"{"name":null}"#).unwrap();
        assert_eq!(b.name, Patch::Null);
        let b: Body = serde_json::from_str(r#"{"name":"x"}"#).unwrap();
        assert_eq!(b.name, Patch::Value("x".into()));
    }
}
