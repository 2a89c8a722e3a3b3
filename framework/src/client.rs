//! The Socket.IO side of one Engine.IO session: its packets decoded, its namespaces
//! connected, its sockets closed with it.
//!
//! A [`Client`] lives in its session's data, and sockets hold the session, so nothing points
//! back from the session to itself once its sockets are gone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use http::request::Parts;
use tidings_transports::{CloseReason, Message, Session};

use crate::handler::Context;
use crate::io::IoInner;
use crate::parser::{ClientDecoder, Incoming};
use crate::socket::{DisconnectReason, Handshake, Socket};
use crate::sync::lock;
use crate::{ConnectError, Payload};

/// The engine's handler: one [`Client`] per session.
pub(crate) struct EngineHandler(pub(crate) Arc<IoInner>);

/// One Engine.IO session's Socket.IO state.
pub(crate) struct Client {
    io: Arc<IoInner>,
    decoder: Mutex<ClientDecoder>,
    /// The socket of each namespace the client is connected (or connecting) to.
    sockets: Mutex<HashMap<String, Socket>>,
    handshake: Handshake,
    /// Why the server is closing the session, when it knows better than the engine.
    closing: Mutex<Option<DisconnectReason>>,
    /// Closes the session if no namespace is connected in time.
    timer: Mutex<Option<tokio::task::AbortHandle>>,
}

impl Client {
    pub(crate) fn of(session: &Session) -> Option<&Client> {
        session.data::<Client>()
    }

    /// Closes the session for `reason`; its sockets disconnect with that reason.
    pub(crate) fn close(session: &Session, reason: DisconnectReason) {
        if let Some(client) = Client::of(session) {
            lock(&client.closing).get_or_insert(reason);
        }
        session.close();
    }

    /// Disconnects every socket of the session, telling the client each time (so it does
    /// not reconnect by itself), then closes the session.
    pub(crate) fn close_all(session: &Session, reason: DisconnectReason) {
        if let Some(client) = Client::of(session) {
            let sockets: Vec<Socket> = lock(&client.sockets).drain().map(|(_, s)| s).collect();
            for socket in sockets {
                socket.close_with(reason, true);
            }
        }
        Client::close(session, reason);
    }

    /// Forgets `socket`, which left its namespace.
    pub(crate) fn forget(session: &Session, socket: &Socket) {
        if let Some(client) = Client::of(session) {
            let mut sockets = lock(&client.sockets);
            if sockets.get(socket.namespace()) == Some(socket) {
                sockets.remove(socket.namespace());
            }
        }
    }

    fn on_message(&self, session: &Session, message: Message) {
        let packet = lock(&self.decoder).decode(message);
        match packet {
            Ok(None) => {}
            Ok(Some(Incoming::Connect { namespace, auth })) => {
                self.connect(session, namespace, auth);
            }
            Ok(Some(packet)) => {
                let namespace = match &packet {
                    Incoming::Disconnect { namespace }
                    | Incoming::Event { namespace, .. }
                    | Incoming::Ack { namespace, .. } => namespace,
                    Incoming::Connect { namespace, .. } => namespace,
                };
                let socket = lock(&self.sockets).get(namespace).cloned();
                match socket {
                    Some(socket) => socket.receive(packet),
                    None => tracing::debug!(
                        session = %session.id(),
                        namespace,
                        "packet for a namespace the client is not connected to"
                    ),
                }
            }
            Err(error) => {
                tracing::warn!(session = %session.id(), "protocol error, closing: {error}");
                Client::close(session, DisconnectReason::ParseError);
            }
        }
    }

    fn connect(&self, session: &Session, name: String, auth: Option<Payload>) {
        let parser = self.io.core.parser;
        if lock(&self.sockets).contains_key(&name) {
            tracing::debug!(session = %session.id(), namespace = name, "already connected");
            return;
        }
        let Some(namespace) = self.io.namespace_for(&name) else {
            let _ = session.send(parser.connect_error(&name, "Invalid namespace", None));
            return;
        };
        let socket = Socket::new(
            namespace.clone(),
            session.clone(),
            self.handshake.with_auth(auth.clone()),
        );
        lock(&self.sockets).insert(name, socket.clone());

        let middlewares = namespace.middlewares();
        if middlewares.is_empty() {
            finish_connect(&socket, auth, Ok(()));
            return;
        }
        tokio::spawn(async move {
            let mut result = Ok(());
            for middleware in middlewares {
                let mut context = Context::new(socket.clone());
                context.args = auth.clone();
                result = middleware.call(context).await;
                if result.is_err() {
                    break;
                }
            }
            finish_connect(&socket, auth, result);
        });
    }

    fn on_close(&self, reason: CloseReason) {
        if let Some(timer) = lock(&self.timer).take() {
            timer.abort();
        }
        let reason = lock(&self.closing).take().unwrap_or(reason.into());
        let sockets: Vec<Socket> = lock(&self.sockets).drain().map(|(_, s)| s).collect();
        for socket in sockets {
            socket.close_with(reason, false);
        }
    }
}

/// Ends a connection: refused with the middleware's error, or accepted (the socket joins
/// its namespace, the client gets CONNECT, then the connection handler runs).
fn finish_connect(socket: &Socket, auth: Option<Payload>, result: Result<(), ConnectError>) {
    let session = socket.session();
    let parser = socket.ns().parser();
    if let Err(error) = result {
        Client::forget(session, socket);
        let data = error
            .data()
            .and_then(|data| Payload::encode(parser, data).ok());
        let _ =
            session.send(parser.connect_error(socket.namespace(), error.message(), data.as_ref()));
        return;
    }
    if session.is_closed()
        || !Client::of(session)
            .is_some_and(|c| lock(&c.sockets).get(socket.namespace()) == Some(socket))
    {
        return;
    }
    if let Some(timer) = Client::of(session).and_then(|client| lock(&client.timer).take()) {
        timer.abort();
    }
    socket.ns().insert(socket);
    let _ = session.send(parser.connect(socket.namespace(), socket.id().as_str()));
    socket.connected_now();
    if let Some(handler) = socket.ns().connection_handler() {
        let mut context = Context::new(socket.clone());
        context.args = auth;
        handler.call(context);
    }
    socket.open_inbox();
}

impl tidings_transports::Handler for EngineHandler {
    fn on_open(&self, session: &Session, request: &Parts) {
        let io = self.0.clone();
        let timeout = io.core.connect_timeout;
        let client = Client {
            decoder: Mutex::new(ClientDecoder::new(io.core.parser, io.core.max_attachments)),
            io,
            sockets: Mutex::default(),
            handshake: Handshake::new(request),
            closing: Mutex::default(),
            timer: Mutex::default(),
        };
        if session.set_data(client).is_err() {
            return;
        }
        let idle = session.clone();
        let timer = tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            tracing::debug!(session = %idle.id(), "no namespace connected in time");
            idle.close();
        });
        if let Some(client) = Client::of(session) {
            *lock(&client.timer) = Some(timer.abort_handle());
        }
    }

    fn on_message(&self, session: &Session, message: Message) {
        if let Some(client) = Client::of(session) {
            client.on_message(session, message);
        }
    }

    fn on_close(&self, session: &Session, reason: CloseReason) {
        if let Some(client) = Client::of(session) {
            client.on_close(reason);
        }
    }
}
