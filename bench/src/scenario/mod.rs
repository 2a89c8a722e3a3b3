//! The scenarios: load against the servers under test, measured over a window, with their
//! CPU time over that window. One file each: [`echo`](echo()) (WebSocket or long-polling),
//! [`fanout`](fanout()) (to one server, or to several sharing a Redis) and [`idle`](idle()).

mod echo;
mod fanout;
mod idle;

use std::cell::Cell;
use std::time::{Duration, Instant};

use crate::server::Server;
use crate::stats::Latencies;

pub use echo::echo;
pub use fanout::{Target, fanout};
pub use idle::{Idle, idle};

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
    /// The server's CPU time over the window (of all the processes counted, when several).
    pub cpu: Duration,
    /// `cpu` by process, when a scenario counts several (a fan-out [`Target`]'s), in order.
    pub cpu_by_process: Vec<Duration>,
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

/// The transport clients use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// WebSocket.
    WebSocket,
    /// Long-polling.
    Polling,
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
