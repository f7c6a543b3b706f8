//! UUID columns. The `Any` driver carries no UUID type, so ids cross as their hyphenated
//! text; [`UuidText`] is that crossing, in one place, for binds and for reads.

use sqlx::any::{Any, AnyTypeInfo, AnyValueRef};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};
use uuid::Uuid;

/// A UUID stored as text: bind `UuidText(id)` (or `Option<UuidText>`), read a column as
/// `UuidText` (or `Option<UuidText>`). A malformed id in our own table is a decode error that
/// names the text, not a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UuidText(pub Uuid);

impl From<UuidText> for Uuid {
    fn from(id: UuidText) -> Self {
        id.0
    }
}

impl Type<Any> for UuidText {
    fn type_info() -> AnyTypeInfo {
        <str as Type<Any>>::type_info()
    }
}

impl Encode<'_, Any> for UuidText {
    fn encode_by_ref(
        &self,
        buf: &mut <Any as Database>::ArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        <String as Encode<'_, Any>>::encode(self.0.to_string(), buf)
    }
}

impl<'r> Decode<'r, Any> for UuidText {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        let raw = <&str as Decode<'r, Any>>::decode(value)?;
        Uuid::parse_str(raw)
            .map(UuidText)
            .map_err(|e| format!("malformed UUID {raw:?} in the database: {e}").into())
    }
}
