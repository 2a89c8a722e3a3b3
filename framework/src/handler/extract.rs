//! The extractors: what a handler can ask for.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Context, FromContext};
use crate::socket::{DisconnectReason, Handshake, Reply, Socket};
use crate::{DataError, EmitError, Payload};

impl FromContext for Socket {
    type Error = Infallible;

    fn from_context(context: &Context) -> Result<Self, Infallible> {
        Ok(context.socket.clone())
    }
}

impl FromContext for Payload {
    type Error = Infallible;

    /// The arguments as they came (no argument for a connection without auth).
    fn from_context(context: &Context) -> Result<Self, Infallible> {
        Ok(context
            .args
            .clone()
            .unwrap_or_else(|| context.socket.parser().empty()))
    }
}

impl FromContext for Arc<Handshake> {
    type Error = Infallible;

    fn from_context(context: &Context) -> Result<Self, Infallible> {
        Ok(context.socket.handshake_arc())
    }
}

impl FromContext for DisconnectReason {
    type Error = &'static str;

    /// Why the socket disconnected; only disconnect handlers have one.
    fn from_context(context: &Context) -> Result<Self, &'static str> {
        context
            .reason
            .ok_or("DisconnectReason is only known to disconnect handlers")
    }
}

/// The event's arguments (or a connection's auth payload) read as a `T` with serde.
///
/// A single argument is read as `T`, several as a sequence (a tuple, a `Vec`), none as `null`
/// (so `Option<T>` and `()` fit). When they do not fit, the handler is not called and a
/// warning is logged; use [`TryData`] to handle that yourself.
///
/// ```
/// use serde::Deserialize;
/// use tidings::{Data, Socket};
///
/// #[derive(Deserialize)]
/// struct Message {
///     room: String,
///     text: String,
/// }
///
/// let on_message = |socket: Socket, Data(message): Data<Message>| {
///     let _ = socket.to(message.room).emit("message", &message.text);
/// };
/// let on_move = |Data((x, y)): Data<(i32, i32)>| println!("to {x},{y}");
/// # let _ = (on_message, on_move);
/// ```
#[derive(Clone, Debug)]
pub struct Data<T>(pub T);

impl<T: DeserializeOwned> FromContext for Data<T> {
    type Error = DataError;

    fn from_context(context: &Context) -> Result<Self, DataError> {
        match &context.args {
            Some(args) => args.decode().map(Data),
            None => context.socket.parser().empty().decode().map(Data),
        }
    }
}

/// Like [`Data`], with the error when the arguments do not fit `T`.
#[derive(Debug)]
pub struct TryData<T>(pub Result<T, DataError>);

impl<T: DeserializeOwned> FromContext for TryData<T> {
    type Error = Infallible;

    fn from_context(context: &Context) -> Result<Self, Infallible> {
        Ok(TryData(Data::from_context(context).map(|Data(data)| data)))
    }
}

/// The binary data among the arguments, in order (`Buffer`s and `ArrayBuffer`s on the
/// JavaScript side), whatever the types around it.
#[derive(Clone, Debug, Default)]
pub struct Bin(pub Vec<Bytes>);

impl FromContext for Bin {
    type Error = Infallible;

    fn from_context(context: &Context) -> Result<Self, Infallible> {
        Ok(Bin(context
            .args
            .as_ref()
            .map(Payload::attachments)
            .unwrap_or_default()))
    }
}

/// The name of the event, for handlers of several events ([`Socket::on_any`],
/// [`Socket::on_fallback`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event(pub String);

impl FromContext for Event {
    type Error = &'static str;

    fn from_context(context: &Context) -> Result<Self, &'static str> {
        context
            .event
            .clone()
            .map(Event)
            .ok_or("only event handlers have an event name")
    }
}

/// Shared state given to the server with
/// [`IoBuilder::state`](crate::IoBuilder::state), cloned for the handler.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use tidings::{Io, Socket, State};
///
/// #[derive(Clone, Default)]
/// struct Stats(Arc<AtomicUsize>);
///
/// let io = Io::builder().state(Stats::default()).build();
/// io.ns("/", |_socket: Socket, State(stats): State<Stats>| {
///     stats.0.fetch_add(1, Ordering::Relaxed);
/// });
/// ```
#[derive(Clone, Debug)]
pub struct State<T>(pub T);

impl<T: Clone + Send + Sync + 'static> FromContext for State<T> {
    type Error = String;

    fn from_context(context: &Context) -> Result<Self, String> {
        context
            .socket
            .state::<T>()
            .map(State)
            .ok_or_else(|| format!("no state of type {}", std::any::type_name::<T>()))
    }
}

/// Answers the event's ack, when the client asked for one.
///
/// ```
/// use tidings::{AckSender, Data};
///
/// let on_add = |Data((a, b)): Data<(i64, i64)>, ack: AckSender| {
///     let _ = ack.send(&(a + b));
/// };
/// # let _ = on_add;
/// ```
///
/// An event the client sent with an ack is always answered: when no handler sends an ack, an
/// empty one goes out once every handler of the event has finished (an async handler when its
/// future completes), so a client that emits with `retries` knows the event arrived. Only
/// the first ack sent for an event goes out.
#[derive(Debug)]
pub struct AckSender(Option<Arc<Reply>>);

impl AckSender {
    /// Whether the client asked for an ack.
    pub fn is_requested(&self) -> bool {
        self.0.is_some()
    }

    /// Sends the ack with `data` as its arguments (a tuple for several, `()` for none). It
    /// does nothing when the client did not ask for one, or when another handler of the
    /// event already answered.
    ///
    /// # Errors
    /// [`EmitError`] when `data` cannot be serialized or the socket is disconnected.
    pub fn send<T: Serialize + ?Sized>(self, data: &T) -> Result<(), EmitError> {
        match &self.0 {
            Some(reply) => reply.send(data),
            None => Ok(()),
        }
    }
}

impl FromContext for AckSender {
    type Error = Infallible;

    fn from_context(context: &Context) -> Result<Self, Infallible> {
        Ok(AckSender(context.ack.clone()))
    }
}
