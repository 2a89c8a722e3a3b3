//! What an adapter does with the messages of its namespace's channels: broadcasts from other
//! servers go to this server's sockets; requests are carried out and answered; answers go to
//! the requests waiting for them. A malformed message is logged and dropped.

use futures_util::FutureExt;
use serde_json::{Value as Json, json};
use tidings::Sid;
use tidings::adapter::{AckCollector, Adapter, Room};

use crate::adapter::Shared;
use crate::codec::{self, Request, Response, Selection, WireError, kind};
use crate::pending::Pending;
use crate::remote;
use crate::subscriber::Inbound;

impl Inbound for Shared {
    fn broadcast(&self, _room: &str, payload: &[u8]) {
        if let Err(error) = self.on_broadcast(payload) {
            tracing::debug!(%error, namespace = self.name, "broadcast from redis dropped");
        }
    }

    fn request(&self, payload: &[u8]) {
        match codec::decode_request(payload) {
            Ok(request) => self.on_request(request),
            Err(error) => tracing::debug!(%error, namespace = self.name, "request dropped"),
        }
    }

    fn response(&self, payload: &[u8]) {
        match codec::decode_response(payload) {
            Ok(response) => self.on_response(response),
            Err(error) => tracing::debug!(%error, namespace = self.name, "answer dropped"),
        }
    }
}

impl Shared {
    fn on_broadcast(&self, payload: &[u8]) -> Result<(), WireError> {
        let broadcast = codec::decode_broadcast(payload)?;
        if broadcast.uid == self.uid || broadcast.namespace != self.name {
            return Ok(());
        }
        let packet = broadcast.event.into_packet(self.namespace.parser())?;
        let options = broadcast.selection.local();
        self.deliver(&packet, &options, broadcast.offset.as_deref());
        Ok(())
    }

    fn on_request(&self, request: Request) {
        let own = request.uid.as_deref() == Some(self.uid.as_str())
            || request
                .request_id
                .as_deref()
                .is_some_and(|id| self.requests.contains(id));
        if own {
            // This server did it to its own sockets when it sent the request.
            return;
        }
        match request.kind {
            kind::SOCKETS => self.answer_sockets(&request),
            kind::ALL_ROOMS => self.answer_rooms(&request),
            kind::REMOTE_JOIN | kind::REMOTE_LEAVE | kind::REMOTE_DISCONNECT => {
                self.apply(&request);
            }
            kind::REMOTE_FETCH => self.answer_fetch(&request),
            kind::SERVER_SIDE_EMIT => self.answer_server_side(request),
            kind::BROADCAST => self.answer_broadcast(request),
            other => tracing::debug!(kind = other, "unknown request type dropped"),
        }
    }

    fn answer(&self, request: &Request, mut answer: Json) {
        let Some(id) = &request.request_id else {
            return;
        };
        answer["requestId"] = json!(id);
        self.publish_json(self.channels.response.clone(), &answer);
    }

    fn answer_sockets(&self, request: &Request) {
        let selection = Selection {
            rooms: request.rooms.clone(),
            ..Selection::default()
        };
        let ids: Vec<String> = self
            .local
            .select(&selection.local())
            .iter()
            .map(|socket| socket.id().to_string())
            .collect();
        self.answer(request, json!({ "sockets": ids }));
    }

    fn answer_rooms(&self, request: &Request) {
        let mut rooms = self.local.rooms();
        rooms.extend(
            self.namespace
                .sockets()
                .iter()
                .map(|socket| Room::from(socket.id().as_str())),
        );
        let rooms: Vec<&str> = rooms.iter().map(AsRef::as_ref).collect();
        self.answer(request, json!({ "rooms": rooms }));
    }

    fn answer_fetch(&self, request: &Request) {
        let selection = request.selection.clone().unwrap_or_default();
        // The local adapter's future is ready at once.
        let local = self.local.fetch_sockets(&selection.local()).now_or_never();
        let sockets: Vec<Json> = local
            .unwrap_or_default()
            .iter()
            .map(remote::to_json)
            .collect();
        self.answer(request, json!({ "sockets": sockets }));
    }

    /// Joins, leaves or disconnects this server's sockets as asked.
    fn apply(&self, request: &Request) {
        let local = &self.local;
        if let Some(selection) = &request.selection {
            let options = selection.local();
            match request.kind {
                kind::REMOTE_JOIN => self.change_rooms(&options, &request.rooms, true),
                kind::REMOTE_LEAVE => self.change_rooms(&options, &request.rooms, false),
                _ => local.disconnect_sockets(&options, request.close),
            }
            return;
        }
        // The legacy form: one socket, one room, and an answer from the socket's server.
        let Some(socket) = request
            .sid
            .as_deref()
            .and_then(|sid| sid.parse::<Sid>().ok())
            .and_then(|sid| self.namespace.socket(sid))
        else {
            return;
        };
        match (request.kind, &request.room) {
            (kind::REMOTE_JOIN, Some(room)) => {
                if let Err(error) = socket.join(room.clone()) {
                    tracing::warn!(socket = %socket.id(), "not joining a room: {error}");
                }
            }
            (kind::REMOTE_LEAVE, Some(room)) => socket.leave(room.clone()),
            (kind::REMOTE_DISCONNECT, _) if request.close => socket.close(),
            (kind::REMOTE_DISCONNECT, _) => socket.disconnect(),
            _ => return,
        }
        self.answer(request, json!({}));
    }

    fn answer_server_side(&self, request: Request) {
        let Some(data) = &request.data else { return };
        let packet = match codec::server_side_event(data, self.namespace.parser()) {
            Ok(packet) => packet,
            Err(error) => return tracing::debug!(%error, "server-side emit dropped"),
        };
        let Some(id) = request.request_id else {
            self.namespace.receive_server_side_emit(packet, None);
            return;
        };
        let (collector, mut receiver) = AckCollector::channel();
        self.namespace
            .receive_server_side_emit(packet, Some(collector));
        let (publisher, channel) = (
            self.cluster.publisher.clone(),
            self.channels.response.clone(),
        );
        let timeout = self.timeout();
        tokio::spawn(async move {
            // Only the first answer counts, and only its first argument.
            let Ok(Some(args)) = tokio::time::timeout(timeout, receiver.ack()).await else {
                return;
            };
            let mut answer = json!({ "type": kind::SERVER_SIDE_EMIT, "requestId": id });
            if let Some(first) = args.to_json().as_array().and_then(|args| args.first()) {
                answer["data"] = first.clone();
            }
            publisher.publish(channel, answer.to_string().into_bytes());
        });
    }

    /// Sends another server's broadcast to this server's sockets, and tells that server how
    /// many were sent it, then each of their acks.
    fn answer_broadcast(&self, request: Request) {
        let (Some(id), Some(event)) = (request.request_id, request.event) else {
            return;
        };
        let packet = match event.into_packet(self.namespace.parser()) {
            Ok(packet) => packet,
            Err(error) => return tracing::debug!(%error, "broadcast request dropped"),
        };
        let mut options = request.selection.unwrap_or_default().local();
        // As Node's adapter: a broadcast with acks is never volatile on the other servers.
        options.volatile = false;
        let (collector, mut receiver) = AckCollector::channel();
        self.local.broadcast_with_ack(&packet, &options, collector);
        let (publisher, channel) = (
            self.cluster.publisher.clone(),
            self.channels.response.clone(),
        );
        tokio::spawn(async move {
            let count = receiver.expected().await.unwrap_or(0);
            let answer = json!({
                "type": kind::BROADCAST_CLIENT_COUNT,
                "requestId": id,
                "clientCount": count,
            });
            publisher.publish(channel.clone(), answer.to_string().into_bytes());
            for _ in 0..count {
                let Some(args) = receiver.ack().await else {
                    break;
                };
                publisher.publish(channel.clone(), codec::encode_broadcast_ack(&id, &args));
            }
        });
    }

    fn on_response(&self, response: Response) {
        let parser = self.namespace.parser();
        self.requests
            .with(&response.request_id, |pending| match pending {
                Pending::Fetch(gather) => {
                    if let Some(Json::Array(sockets)) = response.fields.get("sockets") {
                        let sockets = sockets
                            .iter()
                            .filter_map(|s| remote::from_json(&self.namespace, s));
                        gather.gathered.extend(sockets);
                    }
                    gather.answered();
                }
                Pending::Rooms(gather) => {
                    if let Some(Json::Array(rooms)) = response.fields.get("rooms") {
                        gather.gathered.extend(rooms.iter().filter_map(codec::room));
                    }
                    gather.answered();
                }
                Pending::ServerSide(recipient) => {
                    match codec::json_args(response.fields.get("data"), parser) {
                        Ok(args) => recipient.ack(args),
                        Err(error) => tracing::debug!(%error, "server-side answer dropped"),
                    }
                }
                Pending::Acks(acks) => match response.kind {
                    Some(kind::BROADCAST_CLIENT_COUNT) => {
                        let count = response.fields.get("clientCount").and_then(Json::as_u64);
                        if let Some(collector) = &acks.collector {
                            collector.expect(usize::try_from(count.unwrap_or(0)).unwrap_or(0));
                        }
                        acks.counted += 1;
                        acks.settle();
                    }
                    Some(kind::BROADCAST_ACK) => {
                        let args = response.ack.as_deref().unwrap_or(&[0x90]);
                        match parser.payload_from_msgpack(args) {
                            Ok(args) => acks.recipient.ack(args),
                            Err(error) => tracing::debug!(%error, "broadcast ack dropped"),
                        }
                    }
                    _ => {}
                },
            });
    }
}
