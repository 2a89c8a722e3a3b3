//! Collecting the acks of a broadcast, from every socket of every server.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Sleep;

use crate::{BroadcastAckError, Payload};

/// Where the acks of one broadcast go. The adapter tells it how many sockets it sent the
/// packet to ([`expect`](Self::expect)), and drops it once every server has told; each
/// recipient's ack arrives through [`ack`](Self::ack).
#[derive(Clone, Debug)]
pub struct AckCollector {
    expected: mpsc::UnboundedSender<usize>,
    responses: mpsc::UnboundedSender<Payload>,
}

impl AckCollector {
    /// `count` more sockets were sent the packet.
    pub fn expect(&self, count: usize) {
        let _ = self.expected.send(count);
    }

    /// One recipient acked with `args`.
    pub fn ack(&self, args: Payload) {
        let _ = self.responses.send(args);
    }

    /// A handle for one recipient, or for the answers of another server: it can ack, and
    /// does not hold the expectations open.
    pub fn recipient(&self) -> AckRecipient {
        AckRecipient(self.responses.clone())
    }

    /// A collector whose expectations and acks come out of the [`AckReceiver`], rather than
    /// resolving a [`BroadcastAcks`]: for a cluster adapter that answers another server's
    /// broadcast, and forwards the count and each ack to it.
    pub fn channel() -> (AckCollector, AckReceiver) {
        let (expected_tx, expected) = mpsc::unbounded_channel();
        let (responses_tx, responses) = mpsc::unbounded_channel();
        let collector = AckCollector {
            expected: expected_tx,
            responses: responses_tx,
        };
        (
            collector,
            AckReceiver {
                expected,
                responses,
            },
        )
    }
}

/// One recipient's way to ack a broadcast.
#[derive(Clone, Debug)]
pub struct AckRecipient(mpsc::UnboundedSender<Payload>);

impl AckRecipient {
    /// The recipient acked with `args`.
    pub fn ack(&self, args: Payload) {
        let _ = self.0.send(args);
    }

    /// Whether nobody waits for the acks any more (they resolved or timed out).
    pub fn is_closed(&self) -> bool {
        self.0.is_closed()
    }
}

/// What an [`AckCollector`] made by [`AckCollector::channel`] is told.
#[derive(Debug)]
pub struct AckReceiver {
    expected: mpsc::UnboundedReceiver<usize>,
    responses: mpsc::UnboundedReceiver<Payload>,
}

impl AckReceiver {
    /// The next count of sockets sent the packet; `None` once the collector is dropped.
    pub async fn expected(&mut self) -> Option<usize> {
        self.expected.recv().await
    }

    /// The next ack; `None` once the collector and every recipient are dropped.
    pub async fn ack(&mut self) -> Option<Payload> {
        self.responses.recv().await
    }
}

/// The acks of a broadcast: resolves with every recipient's ack, or fails at the timeout
/// with those that came.
#[derive(Debug)]
#[must_use = "acks are collected only while this is awaited"]
pub struct BroadcastAcks {
    expected: mpsc::UnboundedReceiver<usize>,
    responses: mpsc::UnboundedReceiver<Payload>,
    /// The total announced so far, and whether every server has announced.
    total: usize,
    announced: bool,
    received: Vec<Payload>,
    sleep: Pin<Box<Sleep>>,
}

impl BroadcastAcks {
    pub(crate) fn new(timeout: Duration) -> (AckCollector, BroadcastAcks) {
        let (expected_tx, expected) = mpsc::unbounded_channel();
        let (responses_tx, responses) = mpsc::unbounded_channel();
        let collector = AckCollector {
            expected: expected_tx,
            responses: responses_tx,
        };
        let collected = BroadcastAcks {
            expected,
            responses,
            total: 0,
            announced: false,
            received: Vec::new(),
            sleep: Box::pin(tokio::time::sleep(timeout)),
        };
        (collector, collected)
    }
}

impl Future for BroadcastAcks {
    type Output = Result<Vec<Payload>, BroadcastAckError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        while !this.announced {
            match this.expected.poll_recv(cx) {
                Poll::Ready(Some(count)) => this.total += count,
                Poll::Ready(None) => this.announced = true,
                Poll::Pending => break,
            }
        }
        while this.received.len() < this.total || !this.announced {
            match this.responses.poll_recv(cx) {
                Poll::Ready(Some(args)) => this.received.push(args),
                // Only the collector's own sender is left once every recipient is gone.
                Poll::Ready(None) | Poll::Pending => break,
            }
        }
        if this.announced && this.received.len() >= this.total {
            return Poll::Ready(Ok(std::mem::take(&mut this.received)));
        }
        ready!(this.sleep.as_mut().poll(cx));
        let missing = this.total.saturating_sub(this.received.len());
        Poll::Ready(Err(BroadcastAckError {
            responses: std::mem::take(&mut this.received),
            missing,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::Parser;

    #[tokio::test(start_paused = true)]
    async fn resolves_when_every_announced_ack_came() {
        let (collector, collected) = BroadcastAcks::new(Duration::from_secs(5));
        collector.expect(2);
        let one = collector.recipient();
        drop(collector);
        one.ack(Parser::Json.empty());
        one.ack(Parser::Json.empty());
        assert_eq!(collected.await.expect("all acked").len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn times_out_with_the_acks_that_came() {
        let (collector, collected) = BroadcastAcks::new(Duration::from_secs(5));
        collector.expect(3);
        collector.recipient().ack(Parser::Json.empty());
        drop(collector);
        let error = collected.await.expect_err("one short");
        assert_eq!((error.responses.len(), error.missing), (1, 2));
    }

    #[tokio::test(start_paused = true)]
    async fn waits_for_every_server_to_announce() {
        let (collector, mut collected) = BroadcastAcks::new(Duration::from_secs(5));
        collector.expect(0);
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(Pin::new(&mut collected).poll(&mut cx).is_pending());
        drop(collector);
        assert!(collected.await.expect("none expected").is_empty());
    }
}
