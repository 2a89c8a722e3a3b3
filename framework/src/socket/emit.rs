//! Sending to one socket: emits, acks both ways, and the packets of broadcasts.

use std::sync::Arc;

use serde::Serialize;
use tidings_transports::Message;

use super::{AckFuture, AckSink, Socket};
use crate::adapter::{AckRecipient, BroadcastOptions, BroadcastPacket, Room};
use crate::metrics::Fanout;
use crate::parser::RESERVED_EVENTS;
use crate::sync::lock;
use crate::{EmitError, Payload};

impl Socket {
    /// Emits `event` to the client with `data` as its arguments: a tuple is one argument
    /// per element, `()` none, any other value one.
    ///
    /// With connection state recovery on, the packet is kept for the socket even while it is
    /// disconnected: if its client comes back in time, the recovered socket gets it.
    ///
    /// # Errors
    /// [`EmitError`] when the socket is disconnected (and recovery is off), the event name is
    /// reserved, or `data` cannot be serialized.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        if self.0.recovery.is_some() {
            // With recovery on, the adapter gives the packet its offset and keeps it, for
            // this socket or the one that recovers it, which may be on another server of a
            // cluster once this one has disconnected.
            let args = self.encode_args(event, data)?;
            let packet = BroadcastPacket {
                event: event.to_owned(),
                args,
            };
            let options = BroadcastOptions {
                rooms: vec![Room::from(self.id().as_str())],
                local: self.connected(),
                ..BroadcastOptions::default()
            };
            self.ns().adapter().broadcast(&packet, &options);
            return Ok(());
        }
        let args = self.encode(event, data)?;
        let messages = self.parser().event(self.namespace(), event, None, &args);
        self.send(&messages)?;
        if let Some(metrics) = self.ns().metrics() {
            metrics.event_sent();
        }
        Ok(())
    }

    /// Emits `event` and waits for the client's ack, for the server's ack timeout unless
    /// [`AckFuture::timeout`] sets another.
    ///
    /// ```no_run
    /// # async fn f(socket: tidings::Socket) -> Result<(), tidings::AckError> {
    /// use std::time::Duration;
    ///
    /// let reply = socket
    ///     .emit_with_ack("question", "ready?")
    ///     .timeout(Duration::from_secs(2))
    ///     .await?;
    /// let answer: String = reply.decode().unwrap_or_default();
    /// # Ok(()) }
    /// ```
    pub fn emit_with_ack<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> AckFuture {
        let timeout = self.0.namespace.ack_timeout();
        let args = match self.encode(event, data) {
            Ok(args) => args,
            Err(error) => return AckFuture::failed(error),
        };
        let (sink, future) = AckFuture::new(self.clone(), timeout);
        match self.send_with_ack(
            &BroadcastPacket {
                event: event.to_owned(),
                args,
            },
            sink,
            false,
        ) {
            Some(id) => future.waiting_for(id),
            None => AckFuture::failed(EmitError::Disconnected),
        }
    }

    /// The arguments of an emit to the connected socket.
    fn encode<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<Payload, EmitError> {
        // A reserved name is refused as such (by `encode_args`), connected or not.
        if !self.connected() && !RESERVED_EVENTS.contains(&event) {
            return Err(EmitError::Disconnected);
        }
        self.encode_args(event, data)
    }

    fn encode_args<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<Payload, EmitError> {
        if RESERVED_EVENTS.contains(&event) {
            return Err(EmitError::ReservedEvent(event.to_owned()));
        }
        Ok(Payload::encode(self.parser(), data)?)
    }

    fn send(&self, messages: &[Message]) -> Result<(), EmitError> {
        self.0
            .session
            .send_all(messages)
            .map_err(|_| EmitError::Disconnected)
    }

    /// Sends `packet` asking for an ack that goes to `sink`; the ack id, or `None` when the
    /// socket is disconnected (or busy, for a volatile packet).
    fn send_with_ack(
        &self,
        packet: &BroadcastPacket,
        sink: AckSink,
        volatile: bool,
    ) -> Option<u64> {
        if !self.connected() || (volatile && !self.ready_for_volatile()) {
            return None;
        }
        let id = {
            let mut acks = lock(&self.0.acks);
            let id = acks.next;
            acks.next += 1;
            acks.pending.insert(id, sink);
            id
        };
        let messages = self
            .parser()
            .event(self.namespace(), &packet.event, Some(id), &packet.args);
        // Counted before it is sent, so that its ack cannot be counted first.
        let metrics = self.ns().metrics();
        if let Some(metrics) = metrics {
            metrics.acks_pending(1);
        }
        if self.send(&messages).is_err() {
            self.forget_ack(id);
            return None;
        }
        if let Some(metrics) = metrics {
            metrics.event_sent();
        }
        Some(id)
    }

    /// Sends an ack to event `id`.
    pub(crate) fn send_ack<T: Serialize + ?Sized>(
        &self,
        id: u64,
        data: &T,
    ) -> Result<(), EmitError> {
        if !self.connected() {
            return Err(EmitError::Disconnected);
        }
        let args = Payload::encode(self.parser(), data)?;
        let messages = self.parser().ack(self.namespace(), id, &args);
        self.send(&messages)?;
        if let Some(metrics) = self.ns().metrics() {
            metrics.ack_sent();
        }
        Ok(())
    }

    /// Forgets ack `id`: it timed out, or no one waits for it any more.
    pub(crate) fn forget_ack(&self, id: u64) {
        let forgotten = lock(&self.0.acks).pending.remove(&id);
        if let (Some(_), Some(metrics)) = (forgotten, self.ns().metrics()) {
            metrics.acks_pending(-1);
        }
    }

    /// Sends messages encoded for the whole namespace (a broadcast); `offset` is the
    /// packet's, when recovery is on. Counts the socket in `fanout`.
    pub(crate) fn deliver(
        &self,
        messages: &[Message],
        volatile: bool,
        offset: Option<&Arc<str>>,
        fanout: &mut Fanout,
    ) {
        fanout.recipients += 1;
        if self.connected() {
            if !volatile || self.ready_for_volatile() {
                let _ = self.send(messages);
            } else {
                fanout.dropped += 1;
            }
        } else if !volatile {
            self.hold(messages, offset);
        }
    }

    /// Sends a broadcast that asks for acks; whether it was sent.
    pub(crate) fn deliver_with_ack(
        &self,
        packet: &BroadcastPacket,
        recipient: AckRecipient,
        volatile: bool,
    ) -> bool {
        self.send_with_ack(packet, AckSink::Many(recipient), volatile)
            .is_some()
    }

    /// Whether a volatile packet goes out now: nothing is waiting to be sent before it.
    fn ready_for_volatile(&self) -> bool {
        self.0.session.queued() == 0
    }
}
