//! Encoding one broadcast for many recipients: the cost of `io.to("r").emit("msg", &data)`
//! with a 32-byte string, per recipient.
//!
//! A [`tidings::Io`] server is driven in memory, through
//! [`Engine::handle`](tidings_transports::Engine::handle): each client does the long-polling
//! handshake (`GET …&transport=polling`), connects to `/` (`POST` of `40`), and the connection
//! handler makes its socket join the room `r`. Nothing is written to a network: what is timed
//! is the broadcast itself, which encodes the packet once, selects the room's sockets (the
//! `LocalAdapter`), and queues the same message (a reference count bump) into every
//! recipient's session queue.
//!
//! The queues grow with every broadcast, so between timed broadcasts (and outside the
//! timing) every session is drained with a polling `GET`, as its client would: every
//! [`DRAIN_EVERY`] broadcasts in the `room_emit` benchmarks (so a queue holds at most that
//! many), after every broadcast in `room_emit_drained` (every queue is empty before the
//! broadcast, as for clients that keep up: the first push into a drained queue allocates).
//!
//! The benchmarks, each for 1,000 and 10,000 recipients, with the throughput in recipients
//! (so `1 / thrpt` is the time per recipient):
//! - `room_emit`: one broadcast to the room, encoded once;
//! - `room_emit_drained`: the same with the queues drained after every broadcast;
//! - `socket_emit_loop`: `Socket::emit` to each socket in turn, which encodes the packet
//!   once per recipient: the baseline that shows what encoding once saves;
//! - `remote_socket_emit_loop`: `RemoteSocket::emit` to each socket that
//!   `fetch_sockets()` returned, which goes through the broadcast path once per socket.
//!
//! ```text
//! cargo bench -p tidings-bench --bench broadcast
//! ```

mod common;

use std::cell::Cell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use http::{Method, Uri};
use tidings::{Io, RemoteSocket, Socket};
use tokio::runtime::Runtime;

/// The payload of every emit: a 32-byte string.
const DATA: &str = "0123456789abcdef0123456789abcdef";

/// The timed broadcasts between two drains of every queue, in `room_emit`.
const DRAIN_EVERY: u64 = 16;

/// A server with `clients` long-polling clients connected to `/`, all in room `r`.
struct Server {
    runtime: Runtime,
    io: Io,
    /// The polling URI of each session, for the GETs that drain it.
    polls: Vec<Uri>,
    /// Broadcasts queued since the last drain.
    undrained: Cell<u64>,
}

impl Server {
    fn new(clients: usize) -> Server {
        let runtime = common::runtime();
        let io = common::server();
        io.ns("/", |socket: Socket| {
            socket.join("r").expect("below the room limit");
        });

        let polls = runtime.block_on(async {
            let mut polls = Vec::with_capacity(clients);
            for _ in 0..clients {
                polls.push(common::connect(&io).await);
            }
            polls
        });
        let server = Server {
            runtime,
            io,
            polls,
            undrained: Cell::new(1),
        };
        // The CONNECT packets wait in the queues.
        server.drain();
        let members = server.runtime.block_on(server.io.to("r").sockets()).len();
        assert_eq!(members, clients, "every client joined the room");
        server
    }

    /// Empties every session's queue with a polling GET, if anything was queued.
    fn drain(&self) {
        if self.undrained.replace(0) == 0 {
            return;
        }
        self.runtime.block_on(async {
            for uri in &self.polls {
                let response =
                    common::request(&self.io, Method::GET, uri.clone(), Bytes::new()).await;
                assert!(
                    response.status().is_success(),
                    "poll: {}",
                    response.status()
                );
            }
        });
    }

    /// Times `iters` runs of `emit`, each queueing one message per recipient, draining the
    /// queues every `drain_every` runs, untimed.
    fn time(&self, iters: u64, drain_every: u64, mut emit: impl FnMut()) -> Duration {
        let _context = self.runtime.enter();
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            if self.undrained.get() >= drain_every {
                self.drain();
            }
            let start = Instant::now();
            emit();
            total += start.elapsed();
            self.undrained.set(self.undrained.get() + 1);
        }
        self.drain();
        total
    }

    /// The sockets in room `r`.
    fn sockets(&self) -> Vec<Socket> {
        let sids = self.runtime.block_on(self.io.to("r").sockets());
        sids.into_iter()
            .map(|sid| self.io.socket(sid).expect("a connected socket"))
            .collect()
    }

    /// The sockets in room `r`, as `fetch_sockets` returns them.
    fn remote_sockets(&self) -> Vec<RemoteSocket> {
        self.runtime.block_on(self.io.to("r").fetch_sockets())
    }
}

fn broadcast(c: &mut Criterion) {
    let mut group = c.benchmark_group("broadcast");
    group.sample_size(20);
    for clients in [1_000, 10_000] {
        let server = Server::new(clients);
        group.throughput(Throughput::Elements(clients as u64));

        group.bench_function(BenchmarkId::new("room_emit", clients), |b| {
            b.iter_custom(|iters| {
                server.time(iters, DRAIN_EVERY, || {
                    server
                        .io
                        .to("r")
                        .emit("msg", black_box(DATA))
                        .expect("a valid emit");
                })
            });
        });

        group.bench_function(BenchmarkId::new("room_emit_drained", clients), |b| {
            b.iter_custom(|iters| {
                server.time(iters, 1, || {
                    server
                        .io
                        .to("r")
                        .emit("msg", black_box(DATA))
                        .expect("a valid emit");
                })
            });
        });

        let sockets = server.sockets();
        group.bench_function(BenchmarkId::new("socket_emit_loop", clients), |b| {
            b.iter_custom(|iters| {
                server.time(iters, DRAIN_EVERY, || {
                    for socket in &sockets {
                        socket
                            .emit("msg", black_box(DATA))
                            .expect("a connected socket");
                    }
                })
            });
        });
        drop(sockets);

        let remote = server.remote_sockets();
        group.bench_function(BenchmarkId::new("remote_socket_emit_loop", clients), |b| {
            b.iter_custom(|iters| {
                server.time(iters, DRAIN_EVERY, || {
                    for socket in &remote {
                        socket.emit("msg", black_box(DATA)).expect("a valid emit");
                    }
                })
            });
        });
    }
    group.finish();
}

criterion_group!(benches, broadcast);
criterion_main!(benches);
