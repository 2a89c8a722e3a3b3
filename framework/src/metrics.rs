//! The Socket.IO layer's metrics: sockets, packets by type, disconnect reasons, pending acks,
//! broadcasts and their fan-out. They go into the engine's
//! [`Metrics`](tidings_transports::Metrics), beside the engine's own, when
//! [`EngineConfig::metrics`](tidings_transports::EngineConfig::metrics) is set.
//!
//! Every labelled member is resolved once, when the server is built: recording is an atomic
//! add, and a broadcast records once, whatever its number of recipients.

use tidings_transports::Metrics;
use tidings_transports::prometheus_client::metrics::counter::Counter;
use tidings_transports::prometheus_client::metrics::family::Family;
use tidings_transports::prometheus_client::metrics::gauge::Gauge;
use tidings_transports::prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use tidings_transports::prometheus_client::registry::Registry;

use crate::parser::Incoming;
use crate::socket::DisconnectReason;

type Labels = [(&'static str, &'static str); 1];

/// The packet types counted, in the order of the arrays below (a client sends no
/// CONNECT_ERROR).
const TYPES: [&str; 5] = ["connect", "disconnect", "event", "ack", "connect_error"];
const RECEIVED: [&str; 4] = ["connect", "disconnect", "event", "ack"];

/// Every disconnect reason, in the order of [`reason_index`].
const REASONS: [DisconnectReason; 11] = [
    DisconnectReason::TransportClose,
    DisconnectReason::TransportError,
    DisconnectReason::PingTimeout,
    DisconnectReason::ClientNamespaceDisconnect,
    DisconnectReason::ServerNamespaceDisconnect,
    DisconnectReason::ForcedClose,
    DisconnectReason::ParseError,
    DisconnectReason::ServerShuttingDown,
    DisconnectReason::SlowClient,
    DisconnectReason::RateLimited,
    DisconnectReason::Expired,
];

/// The Socket.IO layer's counters, gauges and histogram.
#[derive(Debug)]
pub(crate) struct IoMetrics {
    sockets: Gauge,
    received: [Counter; 4],
    sent: [Counter; 5],
    disconnects: [Counter; REASONS.len()],
    acks_pending: Gauge,
    broadcasts: Counter,
    fanout: Histogram,
    volatile_dropped: Counter,
}

/// What a broadcast did: its recipients, and the volatile packets it dropped.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Fanout {
    pub(crate) recipients: u64,
    pub(crate) dropped: u64,
}

impl IoMetrics {
    /// Registers the Socket.IO layer's metrics in `metrics`.
    pub(crate) fn new(metrics: &Metrics) -> IoMetrics {
        metrics.register(|registry| {
            let gauge = |registry: &mut Registry, name: &str, help: &str| {
                let gauge = Gauge::default();
                registry.register(name, help, gauge.clone());
                gauge
            };
            let counter = |registry: &mut Registry, name: &str, help: &str| {
                let counter = Counter::default();
                registry.register(name, help, counter.clone());
                counter
            };
            let received = family(
                registry,
                "packets_received",
                "Socket.IO packets received from clients, by type",
            );
            let sent = family(
                registry,
                "packets_sent",
                "Socket.IO packets sent to clients, by type (a broadcast counts one per recipient)",
            );
            let disconnects = family(
                registry,
                "disconnects",
                "Sockets disconnected from their namespace, by reason",
            );
            let fanout = Histogram::new(exponential_buckets(1.0, 10.0, 6));
            registry.register(
                "broadcast_recipients",
                "Recipients of each broadcast on this server",
                fanout.clone(),
            );
            IoMetrics {
                sockets: gauge(registry, "sockets", "Sockets connected, in every namespace"),
                received: RECEIVED.map(|t| child(&received, "type", t)),
                sent: TYPES.map(|t| child(&sent, "type", t)),
                disconnects: REASONS.map(|r| child(&disconnects, "reason", reason_label(r))),
                acks_pending: gauge(
                    registry,
                    "acks_pending",
                    "Events the server emitted with an ack and still waits for",
                ),
                broadcasts: counter(registry, "broadcasts", "Broadcasts sent from this server"),
                fanout,
                volatile_dropped: counter(
                    registry,
                    "volatile_dropped",
                    "Volatile packets not sent because the recipient's queue was not empty",
                ),
            }
        })
    }

    /// A socket connected.
    pub(crate) fn connected(&self) {
        self.sockets.inc();
    }

    /// A connected socket left for `reason`.
    pub(crate) fn disconnected(&self, reason: DisconnectReason) {
        self.sockets.dec();
        self.disconnects[reason_index(reason)].inc();
    }

    /// A packet arrived from a client.
    pub(crate) fn received(&self, packet: &Incoming) {
        let index = match packet {
            Incoming::Connect { .. } => 0,
            Incoming::Disconnect { .. } => 1,
            Incoming::Event { .. } => 2,
            Incoming::Ack { .. } => 3,
        };
        self.received[index].inc();
    }

    /// An event went to one socket.
    pub(crate) fn event_sent(&self) {
        self.sent[2].inc();
    }

    /// An ack went to a client.
    pub(crate) fn ack_sent(&self) {
        self.sent[3].inc();
    }

    /// A CONNECT answer went to a client.
    pub(crate) fn connect_sent(&self) {
        self.sent[0].inc();
    }

    /// A CONNECT_ERROR answer went to a client.
    pub(crate) fn connect_error_sent(&self) {
        self.sent[4].inc();
    }

    /// A DISCONNECT went to a client.
    pub(crate) fn disconnect_sent(&self) {
        self.sent[1].inc();
    }

    /// `count` acks are awaited more (`count > 0`) or fewer.
    pub(crate) fn acks_pending(&self, count: i64) {
        self.acks_pending.inc_by(count);
    }

    /// A broadcast went out.
    pub(crate) fn broadcast(&self, fanout: Fanout) {
        self.broadcasts.inc();
        self.fanout.observe(fanout.recipients as f64);
        self.sent[2].inc_by(fanout.recipients - fanout.dropped);
        if fanout.dropped > 0 {
            self.volatile_dropped.inc_by(fanout.dropped);
        }
    }
}

/// A family of counters with one label, registered in `registry`.
fn family(registry: &mut Registry, name: &str, help: &str) -> Family<Labels, Counter> {
    let family = Family::<Labels, Counter>::default();
    registry.register(name, help, family.clone());
    family
}

/// The member of `family` labelled `key="value"`, resolved once.
fn child(family: &Family<Labels, Counter>, key: &'static str, value: &'static str) -> Counter {
    family.get_or_create(&[(key, value)]).clone()
}

fn reason_index(reason: DisconnectReason) -> usize {
    REASONS.iter().position(|r| *r == reason).unwrap_or(0)
}

/// The `reason` label: the reason's name with underscores (`client_namespace_disconnect`).
fn reason_label(reason: DisconnectReason) -> &'static str {
    match reason {
        DisconnectReason::TransportClose => "transport_close",
        DisconnectReason::TransportError => "transport_error",
        DisconnectReason::PingTimeout => "ping_timeout",
        DisconnectReason::ClientNamespaceDisconnect => "client_namespace_disconnect",
        DisconnectReason::ServerNamespaceDisconnect => "server_namespace_disconnect",
        DisconnectReason::ForcedClose => "forced_close",
        DisconnectReason::ParseError => "parse_error",
        DisconnectReason::ServerShuttingDown => "server_shutting_down",
        DisconnectReason::SlowClient => "slow_client",
        DisconnectReason::RateLimited => "rate_limited",
        DisconnectReason::Expired => "expired",
    }
}
