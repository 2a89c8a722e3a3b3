//! Receiving events: what the server does for each `echo` event a client sends, from the
//! Engine.IO message to the handler's ack queued for the client.
//!
//! One long-polling client is connected in memory through
//! [`Engine::handle`](tidings_transports::Engine::handle). Each iteration POSTs one payload of
//! [`EVENTS`] events with ack ids, `42<id>["echo",{"a":1,"text":"<32 bytes>"}]`, then GETs the
//! acks back, so the time per event covers the Socket.IO decoding, the handler call, reading
//! the arguments, and encoding the ack, plus a tenth of one POST and one GET handled in memory.
//!
//! - `typed`: the handler reads the argument as a struct (`Data<Message>`) and acks its text;
//! - `payload`: the handler acks with the arguments as they came (`Payload`), as the bench
//!   contract's `echo` does.
//!
//! ```text
//! cargo bench -p tidings-bench --bench receive
//! ```

mod common;

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::{Method, Uri};
use serde::Deserialize;
use tidings::{AckSender, Data, Io, Payload, Socket};
use tokio::runtime::Runtime;

/// Events in one POST.
const EVENTS: u64 = 10;

/// The argument of every event.
#[derive(Deserialize)]
struct Message {
    #[allow(dead_code)]
    a: u32,
    text: String,
}

/// A server whose `/` answers `echo` with `handler`, and one client connected to it.
struct Bench {
    runtime: Runtime,
    io: Io,
    poll: Uri,
    events: Bytes,
}

impl Bench {
    fn new(typed: bool) -> Bench {
        let runtime = common::runtime();
        let io = common::server();
        io.ns("/", move |socket: Socket| {
            if typed {
                socket.on("echo", |Data(message): Data<Message>, ack: AckSender| {
                    let _ = ack.send(&message.text);
                });
            } else {
                socket.on("echo", |args: Payload, ack: AckSender| {
                    let _ = ack.send(&args);
                });
            }
        });
        let poll = runtime.block_on(common::connect(&io));
        let events = (1..=EVENTS)
            .map(|id| {
                format!(r#"42{id}["echo",{{"a":1,"text":"0123456789abcdef0123456789abcdef"}}]"#)
            })
            .collect::<Vec<_>>()
            .join("\u{1e}");
        let bench = Bench {
            runtime,
            io,
            poll,
            events: Bytes::from(events),
        };
        // The CONNECT reply waits in the queue.
        bench.runtime.block_on(bench.get());
        bench
    }

    /// GETs what is queued; returns its length.
    async fn get(&self) -> usize {
        let response =
            common::request(&self.io, Method::GET, self.poll.clone(), Bytes::new()).await;
        common::body(response).await.len()
    }

    /// POSTs the events, then GETs their acks.
    fn round(&self) -> usize {
        self.runtime.block_on(async {
            let response = common::request(
                &self.io,
                Method::POST,
                self.poll.clone(),
                self.events.clone(),
            )
            .await;
            assert!(
                response.status().is_success(),
                "post: {}",
                response.status()
            );
            self.get().await
        })
    }
}

fn receive(c: &mut Criterion) {
    let mut group = c.benchmark_group("receive");
    group.throughput(Throughput::Elements(EVENTS));
    for (name, typed) in [("typed", true), ("payload", false)] {
        let bench = Bench::new(typed);
        assert!(bench.round() > 0, "the acks came back");
        group.bench_function(name, |b| b.iter(|| black_box(bench.round())));
    }
    group.finish();
}

criterion_group!(benches, receive);
criterion_main!(benches);
