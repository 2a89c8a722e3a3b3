//! Echo: clients emitting `echo` with an ack and waiting for it, in a loop.

use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::{Measure, PAYLOAD, Phase, Transport, is_ack, measure_window};
use crate::server::Server;
use crate::sio::{SioPolling, SioWs};
use crate::stats::Latencies;

/// The echo event with ack `id`, as an Engine.IO packet.
fn echo_packet(id: u64) -> String {
    format!("42{id}[\"echo\",\"{PAYLOAD}\"]")
}

/// A client that can run the echo scenario.
trait EchoClient: Sized + 'static {
    /// Connects to `/`.
    async fn connect(addr: std::net::SocketAddr) -> io::Result<Self>;

    /// Emits `echo` with ack `id` and waits for the ack.
    async fn echo(&mut self, id: u64) -> io::Result<()>;
}

impl EchoClient for SioWs {
    async fn connect(addr: std::net::SocketAddr) -> io::Result<Self> {
        SioWs::connect(addr).await
    }

    async fn echo(&mut self, id: u64) -> io::Result<()> {
        self.send(&echo_packet(id)).await?;
        loop {
            let frame = self.next_message().await?;
            if is_ack(self.data(&frame), id) {
                return Ok(());
            }
        }
    }
}

impl EchoClient for SioPolling {
    async fn connect(addr: std::net::SocketAddr) -> io::Result<Self> {
        SioPolling::connect(addr).await
    }

    /// POSTs the event, then GETs until the ack comes.
    async fn echo(&mut self, id: u64) -> io::Result<()> {
        self.send(&echo_packet(id)).await?;
        loop {
            if self.poll().await?.iter().any(|message| is_ack(message, id)) {
                return Ok(());
            }
        }
    }
}

/// `clients` clients over `transport`, each emitting `echo` with an ack and waiting for it,
/// in a loop.
///
/// # Errors
/// When a client cannot connect.
pub async fn echo(
    server: &Server,
    transport: Transport,
    clients: usize,
    warmup: Duration,
    window: Duration,
) -> io::Result<Measure> {
    match transport {
        Transport::WebSocket => echo_with::<SioWs>(server, clients, warmup, window).await,
        Transport::Polling => echo_with::<SioPolling>(server, clients, warmup, window).await,
    }
}

async fn echo_with<C: EchoClient>(
    server: &Server,
    clients: usize,
    warmup: Duration,
    window: Duration,
) -> io::Result<Measure> {
    let mut connected = Vec::with_capacity(clients);
    for _ in 0..clients {
        connected.push(C::connect(server.addr).await?);
    }
    let phase = Rc::new(Phase::default());
    let local = tokio::task::LocalSet::new();
    let mut tasks = Vec::new();
    for mut client in connected {
        let phase = phase.clone();
        tasks.push(local.spawn_local(async move {
            let mut latencies = Latencies::default();
            let mut id = 0;
            while !phase.done.get() {
                id += 1;
                let sent = Instant::now();
                let counted = phase.measuring.get();
                client.echo(id).await?;
                if counted && phase.measuring.get() {
                    latencies.push(sent.elapsed());
                }
            }
            io::Result::Ok(latencies)
        }));
    }
    let (elapsed, cpu) = local
        .run_until(measure_window(server, &phase, warmup, window))
        .await;
    let mut measure = Measure {
        window: elapsed,
        cpu,
        ..Measure::default()
    };
    for task in tasks {
        if let Ok(Ok(latencies)) = local.run_until(task).await {
            measure.latencies.merge(latencies);
        }
    }
    measure.units = measure.latencies.len() as u64;
    measure.expected = measure.units;
    Ok(measure)
}
