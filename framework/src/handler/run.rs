//! Running handlers: inline until they wait, contained when they panic.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Poll, Waker};

use tracing::Instrument;

use super::Context;
use crate::socket::{Reply, Socket};

/// Calls `f`, catching and logging a panic; `None` when it panicked.
pub(crate) fn contain<R>(context: &Context, f: impl FnOnce() -> R) -> Option<R> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => Some(value),
        Err(panic) => {
            report(&context.socket, context.event.as_deref(), &*panic);
            if let Some(reply) = &context.ack {
                reply.fail();
            }
            None
        }
    }
}

/// Runs a handler's future: polled here until it first has to wait, then on a task of its
/// own.
pub(crate) fn run<F: Future<Output = ()> + Send + 'static>(context: &Context, future: F) {
    poll_then_spawn(Contained::new(future, context));
}

/// Polls `future` here until it first has to wait, then hands it to a task of its own, which
/// polls it again at once with a waker that works.
pub(crate) fn poll_then_spawn<F>(future: F)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let mut future = Box::pin(future);
    let mut cx = std::task::Context::from_waker(Waker::noop());
    if future.as_mut().poll(&mut cx).is_pending() {
        // The task keeps the spans it was started in (session, socket).
        tokio::spawn(future.in_current_span());
    }
}

/// A future whose panics are caught and logged; it yields `None` when it panicked.
pub(crate) struct Contained<F> {
    future: Pin<Box<F>>,
    socket: Socket,
    event: Option<String>,
    /// The event's ack, held until the handler is done: if it sent none, the empty ack goes
    /// out when this drops.
    reply: Option<Arc<Reply>>,
}

impl<F: Future> Contained<F> {
    pub(crate) fn new(future: F, context: &Context) -> Self {
        Contained {
            future: Box::pin(future),
            socket: context.socket.clone(),
            event: context.event.clone(),
            reply: context.ack.clone(),
        }
    }
}

impl<F: Future> Future for Contained<F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        match catch_unwind(AssertUnwindSafe(|| this.future.as_mut().poll(cx))) {
            Ok(Poll::Ready(value)) => Poll::Ready(Some(value)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => {
                report(&this.socket, this.event.as_deref(), &*panic);
                if let Some(reply) = &this.reply {
                    reply.fail();
                }
                Poll::Ready(None)
            }
        }
    }
}

impl<F> Unpin for Contained<F> {}

fn report(socket: &Socket, event: Option<&str>, panic: &(dyn std::any::Any + Send)) {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic");
    tracing::error!(
        socket = %socket.id(),
        namespace = socket.namespace(),
        event = event.unwrap_or(""),
        "handler panicked: {message}"
    );
}
