//! The engine's metrics: sessions by transport, packets and bytes each way, refused requests
//! by error code, closes by reason, upgrades.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Metric, Registry, Unit};

use super::Metrics;
use crate::{CloseReason, Packet, RequestError};

/// The transports, in the order of the arrays below.
const TRANSPORTS: [&str; 3] = ["polling", "websocket", "sse"];

/// Every close reason, in the order of [`reason_index`].
const REASONS: [CloseReason; 6] = [
    CloseReason::TransportClose,
    CloseReason::TransportError,
    CloseReason::PingTimeout,
    CloseReason::ForcedClose,
    CloseReason::ServerClose,
    CloseReason::SlowClient,
];

/// The Engine.IO error codes the engine answers with, 0 to 8.
const CODES: [&str; 9] = ["0", "1", "2", "3", "4", "5", "6", "7", "8"];

type Labels = [(&'static str, &'static str); 1];

/// The engine's counters and gauges, every labelled child resolved once, when the engine is
/// built, so that recording is one atomic add.
#[derive(Debug)]
pub(crate) struct EngineMetrics {
    connections: [Gauge; 3],
    opened: [Counter; 3],
    upgrades: [Counter; 3],
    closes: [Counter; 6],
    request_errors: [Counter; 9],
    packets_received: Counter,
    packets_sent: Counter,
    received_bytes: Counter,
    sent_bytes: Counter,
}

impl EngineMetrics {
    /// Registers the engine's metrics in `metrics`.
    pub(crate) fn new(metrics: &Metrics) -> EngineMetrics {
        metrics.register(|registry| {
            let connections = family(
                registry,
                "engine_connections",
                "Open Engine.IO sessions, by the transport they run on",
            );
            let opened = family(
                registry,
                "engine_connections_opened",
                "Engine.IO sessions opened, by the transport of their handshake",
            );
            let upgrades = family(
                registry,
                "engine_upgrades",
                "Sessions upgraded, by the transport they moved to",
            );
            let closes = family(
                registry,
                "engine_disconnects",
                "Engine.IO sessions closed, by reason",
            );
            let errors = family(
                registry,
                "engine_request_errors",
                "HTTP requests refused with an Engine.IO error, by error code",
            );
            let counter = |registry: &mut Registry, name: &str, help: &str, unit| {
                let counter = Counter::default();
                match unit {
                    Some(unit) => registry.register_with_unit(name, help, unit, counter.clone()),
                    None => registry.register(name, help, counter.clone()),
                }
                counter
            };
            EngineMetrics {
                connections: TRANSPORTS.map(|t| child(&connections, "transport", t)),
                opened: TRANSPORTS.map(|t| child(&opened, "transport", t)),
                upgrades: TRANSPORTS.map(|t| child(&upgrades, "transport", t)),
                closes: REASONS.map(|r| child(&closes, "reason", reason_label(r))),
                request_errors: CODES.map(|c| child(&errors, "code", c)),
                packets_received: counter(
                    registry,
                    "engine_packets_received",
                    "Engine.IO packets received from clients",
                    None,
                ),
                packets_sent: counter(
                    registry,
                    "engine_packets_sent",
                    "Engine.IO packets handed to transports for clients",
                    None,
                ),
                received_bytes: counter(
                    registry,
                    "engine_received",
                    "Bytes of Engine.IO messages received (payloads, without framing)",
                    Some(Unit::Bytes),
                ),
                sent_bytes: counter(
                    registry,
                    "engine_sent",
                    "Bytes of Engine.IO messages handed to transports (payloads, without framing)",
                    Some(Unit::Bytes),
                ),
            }
        })
    }

    /// A session opened over `transport`.
    pub(crate) fn opened(&self, transport: &str) {
        if let Some(i) = transport_index(transport) {
            self.opened[i].inc();
            self.connections[i].inc();
        }
    }

    /// A session left the table while running on `transport`.
    pub(crate) fn forgotten(&self, transport: &str) {
        if let Some(i) = transport_index(transport) {
            self.connections[i].dec();
        }
    }

    /// A session moved from `from` to `to`.
    pub(crate) fn upgraded(&self, from: &str, to: &str) {
        if let (Some(from), Some(to)) = (transport_index(from), transport_index(to)) {
            self.connections[from].dec();
            self.connections[to].inc();
            self.upgrades[to].inc();
        }
    }

    /// A session closed for `reason`.
    pub(crate) fn closed(&self, reason: CloseReason) {
        self.closes[reason_index(reason)].inc();
    }

    /// A request was refused with `error`.
    pub(crate) fn refused(&self, error: &RequestError) {
        if let Some(counter) = self.request_errors.get(usize::from(error.code())) {
            counter.inc();
        }
    }

    /// Packets arrived from a client: one WebSocket frame, or a POST's payload.
    pub(crate) fn received(&self, packets: &[Packet]) {
        self.packets_received.inc_by(packets.len() as u64);
        self.received_bytes.inc_by(message_bytes(packets.iter()));
    }

    /// A transport took `packets` from a session's queue to write them.
    pub(crate) fn sent<'a>(&self, packets: impl ExactSizeIterator<Item = &'a Packet>) {
        self.packets_sent.inc_by(packets.len() as u64);
        self.sent_bytes.inc_by(message_bytes(packets));
    }
}

/// The bytes of the messages among `packets`.
fn message_bytes<'a>(packets: impl Iterator<Item = &'a Packet>) -> u64 {
    packets
        .map(|packet| match packet {
            Packet::Message(message) => message.len() as u64,
            _ => 0,
        })
        .sum()
}

/// A family of metrics with one label, registered in `registry`.
fn family<M>(registry: &mut Registry, name: &str, help: &str) -> Family<Labels, M>
where
    M: Default,
    Family<Labels, M>: Metric + Clone,
{
    let family = Family::<Labels, M>::default();
    registry.register(name, help, family.clone());
    family
}

/// The member of `family` labelled `key="value"`, resolved once.
fn child<M: Default + Clone>(
    family: &Family<Labels, M>,
    key: &'static str,
    value: &'static str,
) -> M {
    family.get_or_create(&[(key, value)]).clone()
}

fn transport_index(name: &str) -> Option<usize> {
    TRANSPORTS.iter().position(|t| *t == name)
}

fn reason_index(reason: CloseReason) -> usize {
    match reason {
        CloseReason::TransportClose => 0,
        CloseReason::TransportError => 1,
        CloseReason::PingTimeout => 2,
        CloseReason::ForcedClose => 3,
        CloseReason::ServerClose => 4,
        CloseReason::SlowClient => 5,
    }
}

/// The `reason` label: the reason's name with underscores (`transport_close`).
fn reason_label(reason: CloseReason) -> &'static str {
    match reason {
        CloseReason::TransportClose => "transport_close",
        CloseReason::TransportError => "transport_error",
        CloseReason::PingTimeout => "ping_timeout",
        CloseReason::ForcedClose => "forced_close",
        CloseReason::ServerClose => "server_close",
        CloseReason::SlowClient => "slow_client",
    }
}
