//! Whole numbers as JSON Schema's `integer` allows them: `3`, and also `3.0` (a number with a
//! zero fractional part is an integer to JSON Schema, and so to clients generated from our
//! OpenAPI documents). serde's `i64` refuses `3.0`; fields use these instead:
//! `#[serde(deserialize_with = "service_kit::number::whole")]`, or
//! `#[serde(default, deserialize_with = "service_kit::number::optional_whole")]`.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, Visitor};

/// An `i64` written as an integer or as a number with no fractional part.
pub fn whole<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    deserializer.deserialize_any(Whole)
}

/// [`whole`], or `null`.
pub fn optional_whole<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    deserializer.deserialize_option(OptionalWhole)
}

struct Whole;

impl Visitor<'_> for Whole {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a whole number")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
        // 2^63 is the first value past i64::MAX that an f64 can hold.
        const LIMIT: f64 = 9_223_372_036_854_775_808.0;
        if v.fract() == 0.0 && (-LIMIT..LIMIT).contains(&v) {
            Ok(v as i64)
        } else {
            Err(E::invalid_value(de::Unexpected::Float(v), &self))
        }
    }
}

struct OptionalWhole;

impl<'de> Visitor<'de> for OptionalWhole {
    type Value = Option<i64>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a whole number or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<i64>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<i64>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<i64>, D::Error> {
        whole(deserializer).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Body {
        #[serde(deserialize_with = "super::whole")]
        seq: i64,
        #[serde(default, deserialize_with = "super::optional_whole")]
        reply: Option<i64>,
    }

    fn parse(text: &str) -> Result<(i64, Option<i64>), serde_json::Error> {
        serde_json::from_str::<Body>(text).map(|b| (b.seq, b.reply))
    }

    #[test]
    fn integers_and_integral_numbers() {
        assert_eq!(parse(r#"{"seq": 3}"#).unwrap(), (3, None));
        assert_eq!(
            parse(r#"{"seq": 3.0, "reply": 342.0}"#).unwrap(),
            (3, Some(342))
        );
        assert_eq!(
            parse(r#"{"seq": -1e3, "reply": null}"#).unwrap(),
            (-1000, None)
        );
        assert_eq!(
            parse(r#"{"seq": 9223372036854775807}"#).unwrap().0,
            i64::MAX
        );
        for bad in [
            r#"{"seq": 3.5}"#,
            r#"{"seq": "3"}"#,
            r#"{"seq": 1e19}"#,
            r#"{"seq": 9223372036854775808}"#,
            r#"{"seq": 1, "reply": 0.1}"#,
            r#"{"seq": null}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
