//! Idle: many WebSocket connections doing nothing, for the memory each costs.

use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::server::Server;
use crate::sio::SioWs;

/// What the idle scenario measured.
#[derive(Clone, Copy, Debug, Default)]
pub struct Idle {
    /// Server RSS per connection, in bytes.
    pub bytes_per_connection: u64,
    /// Connections opened per second.
    pub connects_per_second: f64,
}

/// Opens `connections` WebSocket clients (64 at a time) and measures the server's RSS per
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
