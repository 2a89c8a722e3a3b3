//! [`AckFuture`]: waiting for a client's ack.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Sleep;

use super::Socket;
use crate::adapter::AckRecipient;
use crate::{AckError, EmitError, Payload};

/// Where an ack goes when it comes.
#[derive(Debug)]
pub(crate) enum AckSink {
    /// To the one emit waiting for it.
    One(oneshot::Sender<Payload>),
    /// To a broadcast collecting the acks of every recipient.
    Many(AckRecipient),
}

/// The client's ack to an event: its arguments, or why it did not come.
///
/// It waits for the server's ack timeout ([`IoBuilder::ack_timeout`]) unless
/// [`timeout`](Self::timeout) sets another. Dropping it stops waiting.
///
/// [`IoBuilder::ack_timeout`]: crate::IoBuilder::ack_timeout
#[derive(Debug)]
#[must_use = "an ack future does nothing unless awaited"]
pub struct AckFuture(State);

#[derive(Debug)]
enum State {
    Failed(Option<EmitError>),
    Sending {
        receiver: oneshot::Receiver<Payload>,
        socket: Socket,
        timeout: Duration,
    },
    Waiting {
        receiver: oneshot::Receiver<Payload>,
        socket: Socket,
        id: u64,
        timeout: Duration,
        sleep: Option<Pin<Box<Sleep>>>,
    },
}

impl AckFuture {
    pub(crate) fn new(socket: Socket, timeout: Duration) -> (AckSink, AckFuture) {
        let (sender, receiver) = oneshot::channel();
        let future = AckFuture(State::Sending {
            receiver,
            socket,
            timeout,
        });
        (AckSink::One(sender), future)
    }

    pub(crate) fn failed(error: EmitError) -> AckFuture {
        AckFuture(State::Failed(Some(error)))
    }

    /// The event went out asking for ack `id`.
    pub(crate) fn waiting_for(self, id: u64) -> AckFuture {
        match std::mem::replace(&mut { self }.0, State::Failed(None)) {
            State::Sending {
                receiver,
                socket,
                timeout,
            } => AckFuture(State::Waiting {
                receiver,
                socket,
                id,
                timeout,
                sleep: None,
            }),
            other => AckFuture(other),
        }
    }

    /// Waits `timeout` for the ack, counted from the first poll.
    pub fn timeout(mut self, timeout: Duration) -> AckFuture {
        if let State::Waiting { timeout: t, .. } | State::Sending { timeout: t, .. } = &mut self.0 {
            *t = timeout;
        }
        self
    }
}

impl Future for AckFuture {
    type Output = Result<Payload, AckError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.0 {
            State::Failed(error) => Poll::Ready(Err(error
                .take()
                .map_or(AckError::Disconnected, AckError::Emit))),
            State::Sending { .. } => Poll::Ready(Err(AckError::Disconnected)),
            State::Waiting {
                receiver,
                socket,
                id,
                timeout,
                sleep,
            } => {
                if let Poll::Ready(result) = Pin::new(receiver).poll(cx) {
                    return Poll::Ready(result.map_err(|_| AckError::Disconnected));
                }
                let sleep = sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(*timeout)));
                if sleep.as_mut().poll(cx).is_ready() {
                    socket.forget_ack(*id);
                    return Poll::Ready(Err(AckError::Timeout));
                }
                Poll::Pending
            }
        }
    }
}

impl Drop for AckFuture {
    fn drop(&mut self) {
        if let State::Waiting { socket, id, .. } = &self.0 {
            socket.forget_ack(*id);
        }
    }
}
