//! The scenarios: load against one server, measured over a window, with the server's CPU
//! time over that window.

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::server::Server;
use crate::sio::{SioPolling, SioWs};
use crate::stats::Latencies;

/// 32 bytes of payload, as the reference figures use.
const PAYLOAD: &str = "0123456789abcdef0123456789abcdef";

/// What a scenario measured.
#[derive(Clone, Debug, Default)]
pub struct Measure {
    /// Units of work done in the window (acks, or deliveries).
    pub units: u64,
    /// Units that should have been done (deliveries: sent × receivers).
    pub expected: u64,
    /// The window's length.
    pub window: Duration,
    /// The server's CPU time over the window.
    pub cpu: Duration,
    /// The latencies of the units.
    pub latencies: Latencies,
}

impl Measure {
    /// Units per second.
    pub fn rate(&self) -> f64 {
        self.units as f64 / self.window.as_secs_f64().max(1e-9)
    }

    /// Server CPU per unit.
    pub fn cpu_per_unit(&self) -> Duration {
        self.cpu / u32::try_from(self.units.max(1)).unwrap_or(u32::MAX)
    }

    /// The share of the expected units that were done, in percent.
    pub fn delivered(&self) -> f64 {
        100.0 * self.units as f64 / self.expected.max(1) as f64
    }
}

/// What the idle scenario measured.
#[derive(Clone, Copy, Debug, Default)]
pub struct Idle {
    /// Server RSS per connection, in bytes.
    pub bytes_per_connection: u64,
    /// Connections opened per second.
    pub connects_per_second: f64,
}

/// A flag the load tasks watch: measuring or not, and whether to stop.
#[derive(Debug, Default)]
struct Phase {
    measuring: Cell<bool>,
    done: Cell<bool>,
}

/// Runs the load for `warmup`, then measures for `window`.
async fn measure_window(
    server: &Server,
    phase: &Phase,
    warmup: Duration,
    window: Duration,
) -> (Duration, Duration) {
    tokio::time::sleep(warmup).await;
    let cpu = server.cpu();
    let start = Instant::now();
    phase.measuring.set(true);
    tokio::time::sleep(window).await;
    phase.measuring.set(false);
    let elapsed = start.elapsed();
    let cpu = server.cpu().saturating_sub(cpu);
    phase.done.set(true);
    (elapsed, cpu)
}

/// The echo event with ack `id`, as an Engine.IO packet.
fn echo_packet(id: u64) -> String {
    format!("42{id}[\"echo\",\"{PAYLOAD}\"]")
}

/// Whether `data` is the ack `id` (`3<id>[`).
fn is_ack(data: &[u8], id: u64) -> bool {
    let mut digits = itoa(id);
    digits.insert(0, b'3');
    digits.push(b'[');
    data.starts_with(&digits)
}

fn itoa(n: u64) -> Vec<u8> {
    n.to_string().into_bytes()
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

/// The microseconds in a `msg` event's `"t":<micros>` field.
fn timestamp(data: &[u8]) -> Option<u64> {
    let at = crate::ws::find(data, b"\"t\":")? + 4;
    let digits = data[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&data[at..at + digits])
        .ok()?
        .parse()
        .ok()
}

/// The transport fan-out receivers use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// WebSocket.
    WebSocket,
    /// Long-polling.
    Polling,
}

/// `receivers` clients in room `r`, and one more emitting `bcast` to it `rate` times a second
/// for `window`; every receiver measures the latency of every `msg` from the timestamp in it.
///
/// # Errors
/// When a client cannot connect or join.
pub async fn fanout(
    server: &Server,
    transport: Transport,
    receivers: usize,
    rate: u32,
    window: Duration,
) -> io::Result<Measure> {
    let base = Instant::now();
    let local = tokio::task::LocalSet::new();
    let phase = Rc::new(Phase::default());
    let received = Rc::new(Cell::new(0u64));
    let latencies = Rc::new(RefCell::new(Latencies::default()));
    // Records a `msg` event's latency; false for the last one, which carries no timestamp.
    let record = {
        let (received, latencies) = (received.clone(), latencies.clone());
        move |data: &[u8]| match timestamp(data) {
            Some(t) => {
                let now = base.elapsed().as_micros() as u64;
                latencies
                    .borrow_mut()
                    .push(Duration::from_micros(now.saturating_sub(t)));
                received.set(received.get() + 1);
                true
            }
            None => !data.starts_with(b"2[\"msg\",{\"end\""),
        }
    };
    for _ in 0..receivers {
        let record = record.clone();
        let join = "420[\"join\",\"r\"]";
        match transport {
            Transport::WebSocket => {
                let mut client = SioWs::connect(server.addr).await?;
                client.send(join).await?;
                loop {
                    let frame = client.next_message().await?;
                    if is_ack(client.data(&frame), 0) {
                        break;
                    }
                }
                local.spawn_local(async move {
                    loop {
                        let frame = client.next_message().await?;
                        if !record(client.data(&frame)) {
                            return io::Result::Ok(());
                        }
                    }
                });
            }
            Transport::Polling => {
                let mut client = SioPolling::connect(server.addr).await?;
                client.send(join).await?;
                'joined: loop {
                    for message in client.poll().await? {
                        if is_ack(&message, 0) {
                            break 'joined;
                        }
                    }
                }
                local.spawn_local(async move {
                    loop {
                        for message in client.poll().await? {
                            if !record(&message) {
                                return io::Result::Ok(());
                            }
                        }
                    }
                });
            }
        }
    }
    let mut sender = SioWs::connect(server.addr).await?;
    let sent = Rc::new(Cell::new(0u64));
    let sending = {
        let (phase, sent) = (phase.clone(), sent.clone());
        local.spawn_local(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1) / rate);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            while phase.measuring.get() {
                tick.tick().await;
                let t = base.elapsed().as_micros();
                let packet = format!(
                    "42[\"bcast\",{{\"room\":\"r\",\"data\":{{\"t\":{t},\"p\":\"{}\"}}}}]",
                    &PAYLOAD[..16]
                );
                sender.send(&packet).await?;
                sent.set(sent.get() + 1);
            }
            io::Result::Ok(sender)
        })
    };
    phase.measuring.set(true);
    let cpu = server.cpu();
    let start = Instant::now();
    let (elapsed, cpu) = local
        .run_until(async {
            tokio::time::sleep(window).await;
            phase.measuring.set(false);
            let elapsed = start.elapsed();
            // The sender stops after the send in progress; then what is in flight arrives:
            // until everything came, or 3 seconds.
            let sender = sending.await;
            let expected = sent.get() * receivers as u64;
            let deadline = Instant::now() + Duration::from_secs(3);
            while received.get() < expected && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let cpu = server.cpu().saturating_sub(cpu);
            // Tell the receivers to stop.
            if let Ok(Ok(mut sender)) = sender {
                let _ = sender
                    .send("42[\"bcast\",{\"room\":\"r\",\"data\":{\"end\":1}}]")
                    .await;
            }
            (elapsed, cpu)
        })
        .await;
    drop(local);
    let latencies = Rc::try_unwrap(latencies)
        .map(RefCell::into_inner)
        .unwrap_or_else(|shared| shared.borrow().clone());
    Ok(Measure {
        window: elapsed,
        cpu,
        expected: sent.get() * receivers as u64,
        units: received.get(),
        latencies,
    })
}

/// Opens `connections` WebSocket clients (500 at a time) and measures the server's RSS per
/// connection once they are all idle, and how fast they connected.
///
/// # Errors
/// When a client cannot connect.
pub async fn idle(server: &Server, connections: usize) -> io::Result<Idle> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = server.rss();
    let start = Instant::now();
    // 64 connections in flight: enough to keep the server busy, few enough not to overflow
    // its accept queue (which would measure the kernel's SYN retransmit delay instead).
    let local = tokio::task::LocalSet::new();
    let permits = Rc::new(tokio::sync::Semaphore::new(64));
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (permits, addr) = (permits.clone(), server.addr);
            local.spawn_local(async move {
                let _permit = permits.acquire().await.map_err(io::Error::other)?;
                SioWs::connect(addr).await
            })
        })
        .collect();
    let mut held = Vec::with_capacity(connections);
    for task in tasks {
        held.push(local.run_until(task).await.map_err(io::Error::other)??);
    }
    let elapsed = start.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = server.rss();
    drop(held);
    Ok(Idle {
        bytes_per_connection: after.saturating_sub(before) / connections as u64,
        connects_per_second: connections as f64 / elapsed.as_secs_f64(),
    })
}
