//! Fan-out: receivers in one room, and a sender emitting `bcast` to it at a fixed rate.

use std::cell::{Cell, RefCell};
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::{Measure, PAYLOAD, Phase, Transport, is_ack};
use crate::process::Process;
use crate::server::Server;
use crate::sio::{SioPolling, SioWs};
use crate::stats::Latencies;

/// The microseconds in a `msg` event's `"t":<micros>` field.
fn timestamp(data: &[u8]) -> Option<u64> {
    let at = crate::ws::find(data, b"\"t\":")? + 4;
    let digits = data[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&data[at..at + digits])
        .ok()?
        .parse()
        .ok()
}

/// The servers a fan-out runs against, and the processes whose CPU time it counts.
#[derive(Clone, Debug)]
pub struct Target {
    /// Where the receivers connect, spread evenly (the first gets the odd one); the sender
    /// connects to the first.
    pub nodes: Vec<SocketAddr>,
    /// The processes doing the work: the servers, and what they share (redis-server).
    pub processes: Vec<Process>,
}

impl Target {
    /// One server: the receivers and the sender on it, and its CPU time.
    pub fn single(server: &Server) -> Target {
        Target {
            nodes: vec![server.addr],
            processes: vec![server.process],
        }
    }

    /// The CPU time of each process.
    fn cpu(&self) -> Vec<Duration> {
        self.processes.iter().map(Process::cpu).collect()
    }
}

/// `receivers` clients in room `r`, and one more emitting `bcast` to it `rate` times a second
/// for `window`; every receiver measures the latency of every `msg` from the timestamp in it.
/// Over several nodes, the receivers spread over them and the sender is on the first, so
/// the `msg`s reach the others through what links them (Redis).
///
/// # Errors
/// When a client cannot connect or join.
pub async fn fanout(
    target: &Target,
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
    for i in 0..receivers {
        let record = record.clone();
        let node = target.nodes[i % target.nodes.len()];
        let join = "420[\"join\",\"r\"]";
        match transport {
            Transport::WebSocket => {
                let mut client = SioWs::connect(node).await?;
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
                let mut client = SioPolling::connect(node).await?;
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
    let mut sender = SioWs::connect(target.nodes[0]).await?;
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
    let cpu_before = target.cpu();
    let start = Instant::now();
    let (elapsed, cpu_by_process) = local
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
            let cpu: Vec<Duration> = target
                .cpu()
                .iter()
                .zip(&cpu_before)
                .map(|(after, before)| after.saturating_sub(*before))
                .collect();
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
        cpu: cpu_by_process.iter().sum(),
        cpu_by_process,
        expected: sent.get() * receivers as u64,
        units: received.get(),
        latencies,
    })
}
