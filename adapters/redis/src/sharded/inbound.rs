//! What a sharded adapter does with the messages of its channels: operations of other
//! servers are done to this server's sockets (and answered when they ask); answers go to
//! the requests waiting for them. A malformed message is logged and dropped.

use futures_util::FutureExt;
use rmpv::Value as Pack;
use serde_json::Value as Json;
use tidings::adapter::{AckCollector, Adapter};

use super::adapter::Shared;
use super::codec::{self, Message, kind};
use super::subscriber::Inbound;
use crate::codec::{WireError, json_to_pack, pack_to_json};
use crate::pending::Pending;
use crate::remote;

impl Inbound for Shared {
    fn message(&self, payload: &[u8]) {
        let message = match Message::decode(payload) {
            Ok(message) => message,
            Err(error) => {
                return tracing::debug!(%error, namespace = self.name, "message dropped");
            }
        };
        if message.nsp != self.name {
            return;
        }
        if kind::is_response(message.kind) {
            self.on_response(&message);
        } else if message.uid != self.uid {
            if let Err(error) = self.on_message(message) {
                tracing::debug!(%error, namespace = self.name, "message dropped");
            }
        }
    }
}

impl Shared {
    fn on_message(&self, message: Message) -> Result<(), WireError> {
        let options = message.selection().local();
        match message.kind {
            kind::BROADCAST => {
                let packet = message
                    .broadcast_event()?
                    .into_packet(self.namespace.parser())?;
                match message.request_id() {
                    Some(id) => self.answer_broadcast(&message.uid, id, packet, options),
                    None => self.local.broadcast(&packet, &options),
                }
            }
            kind::SOCKETS_JOIN => self.add_sockets(&options, &message.rooms()),
            kind::SOCKETS_LEAVE => self.del_sockets(&options, &message.rooms()),
            kind::DISCONNECT_SOCKETS => {
                let close = message.field("close").and_then(Pack::as_bool);
                self.local
                    .disconnect_sockets(&options, close.unwrap_or(false));
            }
            kind::FETCH_SOCKETS => self.answer_fetch(&message, &options),
            kind::SERVER_SIDE_EMIT => self.answer_server_side(&message)?,
            other => tracing::debug!(kind = other, "unknown message type dropped"),
        }
        Ok(())
    }

    /// An answer to `request`, for the adapter that sent it.
    fn answer(&self, request: &Message, kind: u64, id: &str) -> (String, Message) {
        let answer = self.message(kind).with("requestId", Pack::from(id));
        (self.channels.of(&request.uid), answer)
    }

    fn answer_fetch(&self, request: &Message, options: &tidings::adapter::BroadcastOptions) {
        let Some(id) = request.request_id() else {
            return;
        };
        // The local adapter's future is ready at once.
        let local = self.local.fetch_sockets(options).now_or_never();
        let sockets: Vec<Json> = local
            .unwrap_or_default()
            .iter()
            .map(remote::to_json)
            .collect();
        let (channel, answer) = self.answer(request, kind::FETCH_SOCKETS_RESPONSE, id);
        let answer = answer.with("sockets", json_to_pack(&Json::Array(sockets)));
        self.publish(channel, &answer);
    }

    fn answer_server_side(&self, request: &Message) -> Result<(), WireError> {
        let packet = request
            .emitted_event()?
            .into_packet(self.namespace.parser())?;
        let Some(id) = request.request_id() else {
            self.namespace.receive_server_side_emit(packet, None);
            return Ok(());
        };
        let (collector, mut receiver) = AckCollector::channel();
        self.namespace
            .receive_server_side_emit(packet, Some(collector));
        let (channel, answer) = self.answer(request, kind::SERVER_SIDE_EMIT_RESPONSE, id);
        let publisher = self.cluster.publisher.clone();
        let timeout = self.timeout();
        tokio::spawn(async move {
            // Only the first answer counts, and only its first argument.
            let Ok(Some(args)) = tokio::time::timeout(timeout, receiver.ack()).await else {
                return;
            };
            let answer = match codec::first_arg(&args) {
                Some(first) => answer.with("packet", first),
                None => answer,
            };
            publisher.publish(channel, answer.encode());
        });
        Ok(())
    }

    /// Sends another server's broadcast to this server's sockets, and tells that server how
    /// many were sent it, then each of their acks.
    fn answer_broadcast(
        &self,
        uid: &str,
        id: &str,
        packet: tidings::adapter::BroadcastPacket,
        mut options: tidings::adapter::BroadcastOptions,
    ) {
        // As Node's adapter: a broadcast with acks is never volatile on the other servers.
        options.volatile = false;
        let (collector, mut receiver) = AckCollector::channel();
        self.local.broadcast_with_ack(&packet, &options, collector);
        let publisher = self.cluster.publisher.clone();
        let channel = self.channels.of(uid);
        let count = self
            .message(kind::BROADCAST_CLIENT_COUNT)
            .with("requestId", Pack::from(id));
        let ack = self
            .message(kind::BROADCAST_ACK)
            .with("requestId", Pack::from(id));
        tokio::spawn(async move {
            let clients = receiver.expected().await.unwrap_or(0);
            let count = count.with("clientCount", Pack::from(clients));
            publisher.publish(channel.clone(), count.encode());
            for _ in 0..clients {
                let Some(args) = receiver.ack().await else {
                    break;
                };
                let answer = match codec::first_arg(&args) {
                    Some(first) => ack.clone().with("packet", first),
                    None => ack.clone(),
                };
                publisher.publish(channel.clone(), answer.encode());
            }
        });
    }

    fn on_response(&self, response: &Message) {
        let Some(id) = response.request_id() else {
            return;
        };
        let parser = self.namespace.parser();
        self.requests.with(id, |pending| match pending {
            Pending::Fetch(gather) => {
                if let Some(Pack::Array(sockets)) = response.field("sockets") {
                    let sockets = sockets
                        .iter()
                        .filter_map(|s| remote::from_json(&self.namespace, &pack_to_json(s)));
                    gather.gathered.extend(sockets);
                }
                gather.answered();
            }
            Pending::ServerSide(recipient) if response.kind == kind::SERVER_SIDE_EMIT_RESPONSE => {
                match parser.payload_from_msgpack(&response.ack_args()) {
                    Ok(args) => recipient.ack(args),
                    Err(error) => tracing::debug!(%error, "server-side answer dropped"),
                }
            }
            Pending::Acks(acks) => match response.kind {
                kind::BROADCAST_CLIENT_COUNT => {
                    let count = response.field("clientCount").and_then(Pack::as_u64);
                    if let Some(collector) = &acks.collector {
                        collector.expect(usize::try_from(count.unwrap_or(0)).unwrap_or(0));
                    }
                    acks.counted += 1;
                    acks.settle();
                }
                kind::BROADCAST_ACK => match parser.payload_from_msgpack(&response.ack_args()) {
                    Ok(args) => acks.recipient.ack(args),
                    Err(error) => tracing::debug!(%error, "broadcast ack dropped"),
                },
                _ => {}
            },
            _ => {}
        });
    }
}
