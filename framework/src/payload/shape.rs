//! How a value spreads into an event's arguments: a tuple is several arguments, `()` none,
//! anything else one.
//!
//! [`shape`] asks the value's `Serialize` impl which kind of value it is, and stops at the
//! first call without serializing anything.

use std::fmt;

use serde::ser::{self, Impossible, Serialize, Serializer};

/// How a value spreads into arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `()`: no argument.
    Unit,
    /// A tuple: one argument per element.
    Tuple,
    /// Any other value: one argument.
    One,
}

/// The shape of `value`.
pub(crate) fn shape<T: Serialize + ?Sized>(value: &T) -> Shape {
    match value.serialize(Probe) {
        Err(Found(shape)) => shape,
        Ok(never) => match never {},
    }
}

/// A serializer that fails at once with the shape it was asked for.
struct Probe;

/// Never built: the probe always fails.
enum Never {}

#[derive(Debug)]
struct Found(Shape);

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl std::error::Error for Found {}

impl ser::Error for Found {
    fn custom<M: fmt::Display>(_: M) -> Self {
        // A value whose impl fails on its own is sent as one argument, and fails there.
        Found(Shape::One)
    }
}

type Result<T = Never> = std::result::Result<T, Found>;

/// Generates the methods that find a one-argument value.
macro_rules! one {
    ($($method:ident($($arg:ty),*);)*) => {
        $(fn $method(self, $(_: $arg),*) -> Result { Err(Found(Shape::One)) })*
    };
}

impl Serializer for Probe {
    type Ok = Never;
    type Error = Found;
    type SerializeSeq = Impossible<Never, Found>;
    type SerializeTuple = Impossible<Never, Found>;
    type SerializeTupleStruct = Impossible<Never, Found>;
    type SerializeTupleVariant = Impossible<Never, Found>;
    type SerializeMap = Impossible<Never, Found>;
    type SerializeStruct = Impossible<Never, Found>;
    type SerializeStructVariant = Impossible<Never, Found>;

    one! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_i128(i128);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_u128(u128);
        serialize_f32(f32);
        serialize_f64(f64);
        serialize_char(char);
        serialize_str(&str);
        serialize_bytes(&[u8]);
        serialize_none();
        serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }

    fn serialize_unit(self) -> Result {
        Err(Found(Shape::Unit))
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result {
        Err(Found(Shape::One))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, _: &T) -> Result {
        Err(Found(Shape::One))
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result {
        Err(Found(Shape::One))
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(Found(Shape::One))
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple> {
        Err(Found(Shape::Tuple))
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        Err(Found(Shape::One))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(Found(Shape::One))
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap> {
        Err(Found(Shape::One))
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct> {
        Err(Found(Shape::One))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(Found(Shape::One))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_tuples_units_and_single_values_apart() {
        assert_eq!(shape(&()), Shape::Unit);
        assert_eq!(shape(&(1, "a")), Shape::Tuple);
        assert_eq!(shape(&(1,)), Shape::Tuple);
        assert_eq!(shape(&[1, 2]), Shape::Tuple); // serde serializes arrays as tuples
        assert_eq!(shape(&vec![1, 2]), Shape::One);
        assert_eq!(shape("a"), Shape::One);
        assert_eq!(shape(&None::<u8>), Shape::One);
        assert_eq!(shape(&serde_json::json!({"a": 1})), Shape::One);
    }
}
