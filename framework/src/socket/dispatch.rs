//! What comes from the client for one socket: held while it connects, then events to
//! their handlers, acks to whoever waits, and the socket's end.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::time::Instant;

use super::rate::Verdict;
use super::{AckSink, DisconnectReason, EventPacket, OverRate, RATE_LIMIT_EVENT, Reply, Socket};
use crate::Payload;
use crate::client::Client;
use crate::handler::{BoxedHandler, Context};
use crate::parser::Incoming;
use crate::sync::{lock, read, write};

impl Socket {
    /// Marks the socket connected, and handles what came while it was connecting.
    pub(crate) fn connected_now(&self) {
        self.0.connected.store(true, Ordering::Release);
        if let Some(metrics) = self.ns().metrics() {
            metrics.connected();
        }
        self.track();
    }

    /// Handles the packets that came while the connection handler ran, then lets the next
    /// ones through.
    pub(crate) fn open_inbox(&self) {
        loop {
            let waiting = {
                let mut inbox = lock(&self.0.inbox);
                match inbox.as_mut() {
                    Some(waiting) if !waiting.is_empty() => std::mem::take(waiting),
                    _ => {
                        *inbox = None;
                        return;
                    }
                }
            };
            for packet in waiting {
                self.handle(packet);
            }
        }
    }

    /// Handles a packet for this socket, or keeps it until the socket has connected.
    pub(crate) fn receive(&self, packet: Incoming) {
        {
            let mut inbox = lock(&self.0.inbox);
            if let Some(waiting) = inbox.as_mut() {
                waiting.push(packet);
                return;
            }
        }
        self.handle(packet);
    }

    fn handle(&self, packet: Incoming) {
        let _span =
            tracing::debug_span!("socket", namespace = self.namespace(), id = %self.id()).entered();
        match packet {
            Incoming::Event {
                id, event, args, ..
            } => self.on_event(event, args, id),
            Incoming::Ack { id, args, .. } => {
                let sink = lock(&self.0.acks).pending.remove(&id);
                if let (Some(_), Some(metrics)) = (&sink, self.ns().metrics()) {
                    metrics.acks_pending(-1);
                }
                match sink {
                    Some(AckSink::One(sender)) => {
                        let _ = sender.send(args);
                    }
                    Some(AckSink::Many(recipient)) => recipient.ack(args),
                    None => tracing::debug!(socket = %self.id(), id, "ack for no pending event"),
                }
            }
            Incoming::Disconnect { .. } => {
                self.close_with(DisconnectReason::ClientNamespaceDisconnect, false);
            }
            Incoming::Connect { .. } => {
                tracing::debug!(socket = %self.id(), "CONNECT to a namespace already connected");
            }
        }
    }

    fn on_event(&self, event: String, args: Payload, ack: Option<u64>) {
        if !self.connected() || !self.within_rate(&event) {
            return;
        }
        let interceptors = read(&self.0.handlers).interceptors.clone();
        let mut packet = EventPacket::new(event, args, ack, self.parser());
        for interceptor in interceptors {
            if let Err(rejected) = interceptor(&mut packet) {
                tracing::debug!(socket = %self.id(), event = packet.event(), "event rejected: {rejected}");
                return;
            }
        }
        let (any, handler) = {
            let handlers = read(&self.0.handlers);
            let own = handlers
                .events
                .iter()
                .find(|(name, _)| &**name == packet.event())
                .map(|(_, handler)| handler);
            (
                handlers.any.clone(),
                own.or(handlers.fallback.as_ref()).cloned(),
            )
        };
        let (event, args, ack) = packet.into_parts();
        if any.is_empty() && handler.is_none() {
            // Nothing handles the event: it is not acknowledged.
            tracing::trace!(socket = %self.id(), event, "no handler");
            return;
        }
        let reply = ack.map(|id| Arc::new(Reply::new(self.clone(), id)));
        let context = |event: String, args: Payload| Context {
            socket: self.clone(),
            event: Some(event),
            args: Some(args),
            ack: reply.clone(),
            reason: None,
        };
        for any in any {
            any.call(context(event.clone(), args.clone()));
        }
        if let Some(handler) = handler {
            handler.call(context(event, args));
        }
    }

    /// Takes a token from the socket's event bucket; when it is empty, tells the client
    /// (once per overrun) and, as the policy says, disconnects the socket.
    fn within_rate(&self, event: &str) -> bool {
        let (Some(rate), Some(bucket)) = (self.0.namespace.event_rate(), &self.0.rate) else {
            return true;
        };
        let Verdict::Refuse { tell } = lock(bucket).take(rate, Instant::now()) else {
            return true;
        };
        let disconnect = rate.policy() == OverRate::Disconnect;
        tracing::debug!(socket = %self.id(), event, disconnect, "event over the rate");
        if tell {
            let error = serde_json::json!({ "message": "Rate limit exceeded", "event": event });
            let _ = self.emit(RATE_LIMIT_EVENT, &error);
        }
        if disconnect {
            self.close_with(DisconnectReason::RateLimited, true);
        }
        false
    }

    /// Disconnects the socket: tells the client when `notify`, calls the disconnecting
    /// handlers, leaves its state for recovery (when it is on and the client comes back by
    /// itself), leaves every room, fails the acks it waits for, then calls the disconnect
    /// handlers. Only the first call does anything.
    pub(crate) fn close_with(&self, reason: DisconnectReason, notify: bool) {
        let was_connected = self.0.connected.swap(false, Ordering::AcqRel);
        *lock(&self.0.inbox) = None;
        self.drop_held();
        self.cancel_expiry();
        if !was_connected {
            // A socket still connecting just leaves its client.
            Client::forget(&self.0.session, self);
            return;
        }
        let _span = self.span().entered();
        if let Some(metrics) = self.ns().metrics() {
            metrics.disconnected(reason);
            if notify {
                metrics.disconnect_sent();
            }
        }
        if notify {
            let _ = self
                .0
                .session
                .send(self.parser().disconnect(self.namespace()));
        }
        let handlers = std::mem::take(&mut *write(&self.0.handlers));
        let call = |handler: BoxedHandler| {
            let mut context = Context::new(self.clone());
            context.reason = Some(reason);
            handler.call(context);
        };
        handlers.disconnecting.into_iter().for_each(call);
        self.persist(reason);
        self.0.namespace.remove(self);
        Client::forget(&self.0.session, self);
        let waiting = std::mem::take(&mut lock(&self.0.acks).pending);
        if let Some(metrics) = self.ns().metrics() {
            metrics.acks_pending(-(waiting.len() as i64));
        }
        drop(waiting);
        handlers.disconnect.into_iter().for_each(call);
    }
}
