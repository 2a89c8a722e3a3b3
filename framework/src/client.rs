//! The Socket.IO side of one Engine.IO session: its packets decoded, its namespaces
//! connected, its sockets closed with it.
//!
//! A [`Client`] lives in its session's data, and sockets hold the session, so nothing points
//! back from the session to itself once its sockets are gone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use http::request::Parts;
use tidings_transports::{CloseReason, Message, Session};
use tracing::Instrument;

use crate::handler::{Context, poll_then_spawn};
use crate::io::{IoInner, Seat};
use crate::namespace::Namespace;
use crate::parser::{ClientDecoder, Incoming};
use crate::recovery::Claim;
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
        if let (Ok(Some(packet)), Some(metrics)) = (&packet, &self.io.core.metrics) {
            metrics.received(packet);
        }
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
                        namespace,
                        "packet for a namespace the client is not connected to"
                    ),
                }
            }
            Err(error) => {
                tracing::debug!(%error, "malformed Socket.IO packet; closing");
                Client::close(session, DisconnectReason::ParseError);
            }
        }
    }

    fn connect(&self, session: &Session, name: String, auth: Option<Payload>) {
        let parser = self.io.core.parser;
        if lock(&self.sockets).contains_key(&name) {
            tracing::debug!(namespace = name, "already connected");
            return;
        }
        let seated = match self.io.namespace_for(&name) {
            Ok(seated) => seated,
            Err(unavailable) => {
                if let Some(metrics) = &self.io.core.metrics {
                    metrics.connect_error_sent();
                }
                let _ = session.send(parser.connect_error(&name, unavailable.message(), None));
                return;
            }
        };
        match seated
            .0
            .recovery()
            .and_then(|_| Claim::from_auth(auth.as_ref()))
        {
            Some(claim) => poll_then_spawn(recover(session.clone(), seated, name, auth, claim)),
            None => self.start(session, seated, name, auth),
        }
    }

    /// Connects a new socket to its namespace: through its middleware, then CONNECT.
    fn start(
        &self,
        session: &Session,
        seated: (Namespace, Seat),
        name: String,
        auth: Option<Payload>,
    ) {
        let middlewares = seated.0.middlewares();
        let socket = Socket::new(
            seated,
            session.clone(),
            self.handshake.with_auth(auth.clone()),
        );
        lock(&self.sockets).insert(name, socket.clone());
        let span = socket.span();
        if middlewares.is_empty() {
            let _entered = span.enter();
            if admit(&socket, Ok(())) {
                enter(&socket);
                welcome(&socket, auth);
            }
            return;
        }
        let connecting = async move {
            let result = pass_middlewares(&socket, &auth).await;
            if admit(&socket, result) {
                enter(&socket);
                welcome(&socket, auth);
            }
        };
        tokio::spawn(connecting.instrument(span));
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

/// Runs the namespace's middleware in order until one refuses.
async fn pass_middlewares(socket: &Socket, auth: &Option<Payload>) -> Result<(), ConnectError> {
    for middleware in socket.ns().middlewares() {
        let mut context = Context::new(socket.clone());
        context.args = auth.clone();
        middleware.call(context).await?;
    }
    Ok(())
}

/// Whether a connecting socket may join its namespace: the middleware let it through (or
/// the client gets CONNECT_ERROR), and its session and client still want it.
fn admit(socket: &Socket, result: Result<(), ConnectError>) -> bool {
    let session = socket.session();
    let parser = socket.ns().parser();
    if let Err(error) = result {
        Client::forget(session, socket);
        socket.release_seat();
        let data = error
            .data()
            .and_then(|data| Payload::encode(parser, data).ok());
        if let Some(metrics) = socket.ns().metrics() {
            metrics.connect_error_sent();
        }
        let _ =
            session.send(parser.connect_error(socket.namespace(), error.message(), data.as_ref()));
        return false;
    }
    if session.is_closed()
        || !Client::of(session)
            .is_some_and(|c| lock(&c.sockets).get(socket.namespace()) == Some(socket))
    {
        socket.release_seat();
        return false;
    }
    if let Some(timer) = Client::of(session).and_then(|client| lock(&client.timer).take()) {
        timer.abort();
    }
    true
}

/// Puts a new socket in its namespace and sends the client CONNECT.
fn enter(socket: &Socket) {
    socket.ns().insert(socket);
    let _ = socket.session().send(socket.connect_reply());
    socket.connected_now();
}

/// Runs the connection handler of a socket that has just connected, then the packets that
/// came meanwhile. A session that closed while the socket connected takes it along.
fn welcome(socket: &Socket, auth: Option<Payload>) {
    if socket.session().is_closed() {
        socket.close_with(DisconnectReason::TransportClose, false);
        return;
    }
    if let Some(handler) = socket.ns().connection_handler() {
        let mut context = Context::new(socket.clone());
        context.args = auth;
        handler.call(context);
    }
    socket.open_inbox();
}

/// Connects a socket whose client claims an earlier session: the earlier socket back, with
/// the packets it missed, when the adapter still has them; a new socket otherwise.
async fn recover(
    session: Session,
    (namespace, seat): (Namespace, Seat),
    name: String,
    auth: Option<Payload>,
    claim: Claim,
) {
    let adapter = namespace.adapter().clone();
    let mut state = adapter.restore_session(claim.pid, &claim.offset).await;
    if state.is_none()
        && let Some(stale) = namespace.socket_by_pid(claim.pid)
    {
        // The client came back before this server noticed that it had gone: its old
        // connection is dead. Closing it keeps its state, which is then restored.
        Client::close(stale.session(), DisconnectReason::TransportClose);
        state = adapter.restore_session(claim.pid, &claim.offset).await;
    }
    let Some(client) = Client::of(&session) else {
        return;
    };
    if session.is_closed() || lock(&client.sockets).contains_key(&name) {
        return;
    }
    let Some(state) = state else {
        client.start(&session, (namespace, seat), name, auth);
        return;
    };
    let socket = Socket::restored(
        (namespace.clone(), seat),
        session.clone(),
        client.handshake.with_auth(auth.clone()),
        &state,
    );
    lock(&client.sockets).insert(name, socket.clone());
    let skip = namespace.recovery().is_some_and(|r| r.skip_middlewares);
    let result = if skip {
        Ok(())
    } else {
        pass_middlewares(&socket, &auth).await
    };
    if !admit(&socket, result) {
        socket.drop_held();
        return;
    }
    // Back in its namespace and rooms first: what it is sent from now on is held, and the
    // missed packets are read after, so nothing falls between the two.
    namespace.insert(&socket);
    let missed = match adapter.add_all(socket.id(), &state.rooms) {
        Ok(()) => adapter.missed_packets(&state, &claim.offset).await,
        Err(error) => {
            // Another server of the cluster allows more rooms than this one.
            tracing::warn!(socket = %socket.id(), "cannot rejoin its rooms: {error}");
            None
        }
    };
    match missed {
        Some(missed) => {
            socket.resume(missed);
            welcome(&socket, auth);
        }
        None => {
            // Some of what it missed is gone (or its rooms are): the client reconnects and
            // starts afresh.
            tracing::debug!(socket = %socket.id(), "not recovered");
            socket.drop_held();
            namespace.remove(&socket);
            Client::close(&session, DisconnectReason::ForcedClose);
        }
    }
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
