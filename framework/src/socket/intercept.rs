//! Per-packet middleware: [`EventPacket`]s that interceptors read, change or reject.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::Payload;
use crate::parser::Parser;
use crate::payload::SerializeError;

/// An interceptor, as a socket keeps it.
pub(crate) type BoxedInterceptor =
    Arc<dyn Fn(&mut EventPacket) -> Result<(), Rejected> + Send + Sync>;

/// An event on its way to its handler, as interceptors see it
/// ([`Socket::intercept`](crate::Socket::intercept)).
#[derive(Debug)]
pub struct EventPacket {
    event: String,
    args: Payload,
    ack: Option<u64>,
    parser: Parser,
}

impl EventPacket {
    pub(crate) fn new(event: String, args: Payload, ack: Option<u64>, parser: Parser) -> Self {
        EventPacket {
            event,
            args,
            ack,
            parser,
        }
    }

    pub(crate) fn into_parts(self) -> (String, Payload, Option<u64>) {
        (self.event, self.args, self.ack)
    }

    /// The event's name.
    pub fn event(&self) -> &str {
        &self.event
    }

    /// Renames the event: the handler of the new name gets it.
    pub fn set_event(&mut self, event: impl Into<String>) {
        self.event = event.into();
    }

    /// The event's arguments.
    pub fn args(&self) -> &Payload {
        &self.args
    }

    /// Replaces the event's arguments with `data` (a tuple for several).
    ///
    /// # Errors
    /// [`SerializeError`] when `data` cannot be serialized; the arguments stay as they were.
    pub fn set_args<T: Serialize + ?Sized>(&mut self, data: &T) -> Result<(), SerializeError> {
        self.args = Payload::encode(self.parser, data)?;
        Ok(())
    }

    /// Whether the client asked for an ack.
    pub fn wants_ack(&self) -> bool {
        self.ack.is_some()
    }
}

/// An interceptor's refusal of an event; the event is dropped and the reason logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected(String);

impl Rejected {
    /// A refusal, for `reason`.
    pub fn new(reason: impl Into<String>) -> Rejected {
        Rejected(reason.into())
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Rejected {}
