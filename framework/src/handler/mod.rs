//! Handlers: plain functions and closures, sync or async, whose arguments are extractors.
//!
//! Every handler the server calls (connection handlers, event handlers, `on_any` and
//! `on_fallback`, disconnect handlers and connection middleware) is a function whose
//! arguments implement
//! [`FromContext`]: the [`Socket`], the [`Data`](crate::Data) read as a serde type, the
//! [`AckSender`](crate::AckSender), shared [`State`](crate::State), and so on, in any order.
//!
//! A handler runs on the task that received the packet, until its first `.await` that has
//! to wait; only then does it move to a task of its own. So a handler that does not wait
//! costs no task, and the events of one client reach their handlers in order. A panic in a
//! handler is caught and logged: the socket and the server go on.

mod extract;
mod run;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use self::extract::{AckSender, Bin, Data, Event, State, TryData};
pub(crate) use self::run::{contain, poll_then_spawn, run};
use crate::socket::{DisconnectReason, Reply, Socket};
use crate::{ConnectError, Payload};

/// What a handler is called with: the socket, and the packet that triggered the call.
#[derive(Debug)]
pub struct Context {
    pub(crate) socket: Socket,
    /// The event's name, for event handlers.
    pub(crate) event: Option<String>,
    /// The event's arguments, or the auth payload of a connection.
    pub(crate) args: Option<Payload>,
    /// The ack the client asked for, shared by every handler of the event.
    pub(crate) ack: Option<Arc<Reply>>,
    /// Why the socket disconnected, for disconnect handlers.
    pub(crate) reason: Option<DisconnectReason>,
}

impl Context {
    pub(crate) fn new(socket: Socket) -> Context {
        Context {
            socket,
            event: None,
            args: None,
            ack: None,
            reason: None,
        }
    }

    /// The socket the handler is called for.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// The event's name, in event handlers.
    pub fn event(&self) -> Option<&str> {
        self.event.as_deref()
    }

    /// The event's arguments, or a connection's auth payload.
    pub fn args(&self) -> Option<&Payload> {
        self.args.as_ref()
    }
}

/// A handler argument, taken from the [`Context`] of the call.
///
/// When it fails, the handler is not called and the error is logged.
///
/// ```
/// use tidings::{Context, FromContext, Socket};
///
/// /// The namespace the socket belongs to.
/// struct NamespaceName(String);
///
/// impl FromContext for NamespaceName {
///     type Error = std::convert::Infallible;
///     fn from_context(context: &Context) -> Result<Self, Self::Error> {
///         Ok(NamespaceName(context.socket().namespace().to_owned()))
///     }
/// }
///
/// let handler = |socket: Socket, NamespaceName(name): NamespaceName| {
///     println!("{} joined {name}", socket.id());
/// };
/// # let _ = handler;
/// ```
pub trait FromContext: Sized {
    /// Why the argument could not be taken.
    type Error: std::fmt::Display;

    /// Takes the argument from the call's context.
    ///
    /// # Errors
    /// When the context does not hold what the argument needs; the handler is then skipped.
    fn from_context(context: &Context) -> Result<Self, Self::Error>;
}

/// Marks handlers that return nothing.
#[derive(Debug)]
#[doc(hidden)]
pub struct Sync;

/// Marks handlers that return a future.
#[derive(Debug)]
#[doc(hidden)]
pub struct Async;

/// A function the server calls with extractors: `Fn(A, B, …)` returning `()` or a future
/// of `()`, each argument implementing [`FromContext`].
///
/// `M` tells the implementations apart; it is inferred, never written.
pub trait Handler<M>: Send + std::marker::Sync + 'static {
    /// Calls the handler: takes its arguments from `context`, then runs it.
    #[doc(hidden)]
    fn call(&self, context: Context);
}

/// The future a [`Middleware`] returns.
pub type MiddlewareFuture = Pin<Box<dyn Future<Output = Result<(), ConnectError>> + Send>>;

/// Connection middleware: a function the server calls with extractors before a socket
/// connects, returning `Result<(), ConnectError>` or a future of it. An error refuses the
/// connection and reaches the client as `connect_error` with its message and data.
pub trait Middleware<M>: Send + std::marker::Sync + 'static {
    /// Calls the middleware.
    #[doc(hidden)]
    fn call(&self, context: Context) -> MiddlewareFuture;
}

/// Logs an argument that could not be taken; the handler is skipped, and does not count as
/// having handled the event (no empty ack for it).
fn rejected(context: &Context, error: &dyn std::fmt::Display) {
    if let Some(reply) = &context.ack {
        reply.fail();
    }
    tracing::debug!(
        socket = %context.socket.id(),
        namespace = context.socket.namespace(),
        event = context.event.as_deref().unwrap_or(""),
        "handler skipped: {error}"
    );
}

/// Refuses the connection for an argument that could not be taken.
fn refused(_context: &Context, error: &dyn std::fmt::Display) -> MiddlewareFuture {
    Box::pin(std::future::ready(Err(ConnectError::new(
        error.to_string(),
    ))))
}

/// Takes each argument from the context, or returns what `$otherwise` makes of the error.
macro_rules! extract {
    ($context:ident, $otherwise:ident, $($arg:ident),*) => {
        $(let $arg = match $arg::from_context(&$context) {
            Ok(value) => value,
            Err(error) => return $otherwise(&$context, &error),
        };)*
    };
}

macro_rules! impl_handlers {
    ($($arg:ident),*) => {
        #[allow(non_snake_case, unused_variables)]
        impl<F, $($arg,)*> Handler<(Sync, $($arg,)*)> for F
        where
            F: Fn($($arg),*) + Send + std::marker::Sync + 'static,
            $($arg: FromContext,)*
        {
            fn call(&self, context: Context) {
                extract!(context, rejected, $($arg),*);
                contain(&context, || self($($arg),*));
            }
        }

        #[allow(non_snake_case, unused_variables)]
        impl<F, Fut, $($arg,)*> Handler<(Async, $($arg,)*)> for F
        where
            F: Fn($($arg),*) -> Fut + Send + std::marker::Sync + 'static,
            Fut: Future<Output = ()> + Send + 'static,
            $($arg: FromContext,)*
        {
            fn call(&self, context: Context) {
                extract!(context, rejected, $($arg),*);
                if let Some(future) = contain(&context, || self($($arg),*)) {
                    run(&context, future);
                }
            }
        }

        #[allow(non_snake_case, unused_variables)]
        impl<F, $($arg,)*> Middleware<(Sync, $($arg,)*)> for F
        where
            F: Fn($($arg),*) -> Result<(), ConnectError> + Send + std::marker::Sync + 'static,
            $($arg: FromContext,)*
        {
            fn call(&self, context: Context) -> MiddlewareFuture {
                extract!(context, refused, $($arg),*);
                let result = contain(&context, || self($($arg),*))
                    .unwrap_or_else(|| Err(ConnectError::new("middleware panicked")));
                Box::pin(std::future::ready(result))
            }
        }

        #[allow(non_snake_case, unused_variables)]
        impl<F, Fut, $($arg,)*> Middleware<(Async, $($arg,)*)> for F
        where
            F: Fn($($arg),*) -> Fut + Send + std::marker::Sync + 'static,
            Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
            $($arg: FromContext,)*
        {
            fn call(&self, context: Context) -> MiddlewareFuture {
                extract!(context, refused, $($arg),*);
                let panicked = || -> Result<(), ConnectError> { Err(ConnectError::new("middleware panicked")) };
                match contain(&context, || self($($arg),*)) {
                    Some(future) => {
                        let contained = run::Contained::new(future, &context);
                        Box::pin(async move { contained.await.unwrap_or_else(panicked) })
                    }
                    None => Box::pin(std::future::ready(panicked())),
                }
            }
        }
    };
}

impl_handlers!();
impl_handlers!(T1);
impl_handlers!(T1, T2);
impl_handlers!(T1, T2, T3);
impl_handlers!(T1, T2, T3, T4);
impl_handlers!(T1, T2, T3, T4, T5);
impl_handlers!(T1, T2, T3, T4, T5, T6);
impl_handlers!(T1, T2, T3, T4, T5, T6, T7);
impl_handlers!(T1, T2, T3, T4, T5, T6, T7, T8);

/// A handler with its marker type erased, as sockets and namespaces keep them.
pub(crate) type BoxedHandler = std::sync::Arc<dyn ErasedHandler>;

/// A handler with its marker type erased.
pub(crate) trait ErasedHandler: Send + std::marker::Sync + 'static {
    fn call(&self, context: Context);
}

struct Erased<H, M>(H, std::marker::PhantomData<fn() -> M>);

impl<H: Handler<M>, M: 'static> ErasedHandler for Erased<H, M> {
    fn call(&self, context: Context) {
        self.0.call(context);
    }
}

pub(crate) fn boxed<H: Handler<M>, M: 'static>(handler: H) -> BoxedHandler {
    std::sync::Arc::new(Erased(handler, std::marker::PhantomData))
}

/// Middleware with its marker type erased.
pub(crate) type BoxedMiddleware = std::sync::Arc<dyn ErasedMiddleware>;

/// Middleware with its marker type erased.
pub(crate) trait ErasedMiddleware: Send + std::marker::Sync + 'static {
    fn call(&self, context: Context) -> MiddlewareFuture;
}

struct ErasedMw<H, M>(H, std::marker::PhantomData<fn() -> M>);

impl<H: Middleware<M>, M: 'static> ErasedMiddleware for ErasedMw<H, M> {
    fn call(&self, context: Context) -> MiddlewareFuture {
        self.0.call(context)
    }
}

pub(crate) fn boxed_middleware<H: Middleware<M>, M: 'static>(middleware: H) -> BoxedMiddleware {
    std::sync::Arc::new(ErasedMw(middleware, std::marker::PhantomData))
}
