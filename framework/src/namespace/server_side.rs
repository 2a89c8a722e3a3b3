//! Events between the servers of a cluster ([`Namespace::server_side_emit`]).
//!
//! [`Namespace::server_side_emit`]: super::Namespace::server_side_emit

use std::sync::Arc;

use serde::Serialize;

use crate::Payload;
use crate::adapter::{AckCollector, BroadcastPacket};
use crate::parser::Parser;
use crate::payload::SerializeError;

/// A namespace's handler of other servers' events.
pub(crate) type ServerSideHandler = Arc<dyn Fn(BroadcastPacket, Option<ServerReply>) + Send + Sync>;

/// The reply to a server-side emit whose sender waits for one.
#[derive(Debug)]
pub struct ServerReply {
    acks: AckCollector,
    parser: Parser,
}

impl ServerReply {
    pub(crate) fn new(acks: AckCollector, parser: Parser) -> ServerReply {
        ServerReply { acks, parser }
    }

    /// Replies with `data` as the arguments.
    ///
    /// # Errors
    /// [`SerializeError`] when `data` cannot be serialized.
    pub fn send<T: Serialize + ?Sized>(self, data: &T) -> Result<(), SerializeError> {
        self.acks.ack(Payload::encode(self.parser, data)?);
        Ok(())
    }
}
