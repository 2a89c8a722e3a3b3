//! Runs every scenario against every server and prints the comparison table, then Tidings'
//! fan-out across two servers sharing a Redis beside one server, as a second table.
//!
//! `bench/run` builds everything and starts this pinned to core 1; each server runs pinned
//! to core 0, a fresh one per scenario (and for `fanout-redis`, both servers and their
//! redis-server are on core 0 together). Options: `--quick` (shorter windows, fewer
//! connections: a smoke test, not a measurement), `--servers a,b` (a subset of `tidings`,
//! `socketioxide`, `node`, `limit`), `--only a,b` (a subset of the scenarios `echo`,
//! `fanout`, `fanout-redis`, `idle`, `polling`, for profiling one), `--no-pin` (no
//! `taskset`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use tidings_bench::redis::Redis;
use tidings_bench::scenario::{self, Idle, Measure, Target, Transport};
use tidings_bench::server::Server;
use tidings_bench::table::{self, Figure, Rows, higher, lower};

/// A server under test.
struct Peer {
    name: &'static str,
    command: Vec<String>,
    /// Whether it serves long-polling.
    polling: bool,
    /// Whether it joins the cluster of the Redis at `REDIS_URL`.
    redis: bool,
}

/// The sizes of one run.
struct Sizes {
    window: Duration,
    warmup: Duration,
    echo_clients: usize,
    receivers: usize,
    rates: Vec<u32>,
    idle: usize,
    polling_clients: usize,
    polling_receivers: usize,
    polling_rate: u32,
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let pin = !args.iter().any(|a| a == "--no-pin");
    let list = |flag: &str| -> Option<Vec<String>> {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .map(|list| list.split(',').map(str::to_owned).collect())
    };
    let only = list("--servers");
    let scenarios = list("--only");
    let sizes = if quick {
        Sizes {
            window: Duration::from_secs(1),
            warmup: Duration::from_millis(300),
            echo_clients: 10,
            receivers: 100,
            rates: vec![100],
            idle: 500,
            polling_clients: 10,
            polling_receivers: 20,
            polling_rate: 50,
        }
    } else {
        Sizes {
            window: Duration::from_secs(5),
            warmup: Duration::from_secs(1),
            echo_clients: 50,
            receivers: 1000,
            rates: vec![200, 500],
            idle: 15_000,
            polling_clients: 50,
            polling_receivers: 200,
            polling_rate: 100,
        }
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench/ is in the repository")
        .to_path_buf();
    let peers: Vec<Peer> = peers(&root)
        .into_iter()
        .filter(|peer| {
            only.as_ref()
                .is_none_or(|only| only.iter().any(|n| n == peer.name))
        })
        .collect();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let run = |name: &str| {
        scenarios
            .as_ref()
            .is_none_or(|s| s.iter().any(|n| n == name))
    };
    let (mut rows, mut redis_rows) = (Rows::new(), Rows::new());
    for peer in &peers {
        eprintln!("== {}", peer.name);
        runtime.block_on(run_peer(peer, &sizes, pin, &run, &mut rows))?;
        if peer.redis && run("fanout-redis") {
            runtime.block_on(run_redis_fanout(peer, &sizes, pin, &mut redis_rows))?;
        }
    }
    if !rows.is_empty() {
        let columns: Vec<&str> = peers.iter().map(|peer| peer.name).collect();
        table::print(&rows, &columns, "tidings");
    }
    if !redis_rows.is_empty() {
        let pinned = if pin {
            " (the servers and redis-server share core 0)"
        } else {
            ""
        };
        println!(
            "\nTidings' fan-out through Redis: the receivers split evenly over two servers \
             sharing one redis-server, the sender on the first, against all on one \
             server{pinned}:\n"
        );
        table::print(&redis_rows, &[ONE_NODE, TWO_NODES], TWO_NODES);
    }
    Ok(())
}

fn peers(root: &Path) -> Vec<Peer> {
    let release = root.join("target/release");
    let path = |p: PathBuf| p.to_string_lossy().into_owned();
    vec![
        Peer {
            name: "tidings",
            command: vec![path(release.join("bench-server"))],
            polling: true,
            redis: true,
        },
        Peer {
            name: "socketioxide",
            command: vec![path(
                root.join("bench/peers/socketioxide/target/release/socketioxide-bench"),
            )],
            polling: true,
            redis: false,
        },
        Peer {
            name: "node",
            command: vec![
                "node".into(),
                path(root.join("bench/peers/node/server.mjs")),
            ],
            polling: true,
            redis: false,
        },
        Peer {
            name: "limit",
            command: vec![path(release.join("limit-server"))],
            polling: false,
            redis: false,
        },
    ]
}

async fn run_peer(
    peer: &Peer,
    sizes: &Sizes,
    pin: bool,
    run: &dyn Fn(&str) -> bool,
    rows: &mut Rows,
) -> std::io::Result<()> {
    let mut add = |order: usize, row: String, figure: Figure| {
        rows.entry((order, row))
            .or_default()
            .insert(peer.name, figure);
    };
    let cpu_us = |m: &Measure| m.cpu_per_unit().as_secs_f64() * 1e6;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;

    if run("echo") {
        let server = Server::start(&peer.command, pin).await?;
        let echo = scenario::echo(
            &server,
            Transport::WebSocket,
            sizes.echo_clients,
            sizes.warmup,
            sizes.window,
        )
        .await?;
        server.stop().await;
        report("echo", &echo);
        let mut echo = echo;
        let title = format!("echo, {} clients", sizes.echo_clients);
        add(10, format!("{title}: acks/s"), higher(echo.rate(), "/s"));
        add(
            11,
            format!("{title}: server CPU per ack"),
            lower(cpu_us(&echo), "µs"),
        );
        add(
            12,
            format!("{title}: p50 round trip"),
            lower(ms(echo.latencies.percentile(50.0)), "ms"),
        );
        add(
            13,
            format!("{title}: p99 round trip"),
            lower(ms(echo.latencies.percentile(99.0)), "ms"),
        );
        add(
            14,
            format!("{title}: max round trip"),
            lower(ms(echo.latencies.max()), "ms"),
        );
    }

    for (i, &rate) in sizes.rates.iter().enumerate().filter(|_| run("fanout")) {
        let server = Server::start(&peer.command, pin).await?;
        let mut fan = scenario::fanout(
            &Target::single(&server),
            Transport::WebSocket,
            sizes.receivers,
            rate,
            sizes.window,
        )
        .await?;
        server.stop().await;
        report("fan-out", &fan);
        let title = format!("fan-out, {} receivers x {rate} msgs/s", sizes.receivers);
        let order = 20 + 10 * i;
        add(
            order,
            format!("{title}: delivered"),
            higher(fan.delivered(), "%"),
        );
        add(
            order + 1,
            format!("{title}: deliveries/s"),
            higher(fan.rate(), "/s"),
        );
        add(
            order + 2,
            format!("{title}: server CPU per delivery"),
            lower(cpu_us(&fan) * 1e3, "ns"),
        );
        add(
            order + 3,
            format!("{title}: p50 latency"),
            lower(ms(fan.latencies.percentile(50.0)), "ms"),
        );
        add(
            order + 4,
            format!("{title}: p99 latency"),
            lower(ms(fan.latencies.percentile(99.0)), "ms"),
        );
    }

    if run("idle") {
        let server = Server::start(&peer.command, pin).await?;
        let Idle {
            bytes_per_connection,
            connects_per_second,
        } = scenario::idle(&server, sizes.idle).await?;
        server.stop().await;
        eprintln!(
            "   idle: {bytes_per_connection} B/connection, {connects_per_second:.0} connects/s"
        );
        let title = format!("idle, {} WebSocket connections", sizes.idle);
        add(
            60,
            format!("{title}: RSS per connection"),
            lower(bytes_per_connection as f64 / 1024.0, "KiB"),
        );
        add(
            61,
            format!("{title}: connects/s"),
            higher(connects_per_second, "/s"),
        );
    }

    if peer.polling && run("polling") {
        let server = Server::start(&peer.command, pin).await?;
        let mut echo = scenario::echo(
            &server,
            Transport::Polling,
            sizes.polling_clients,
            sizes.warmup,
            sizes.window,
        )
        .await?;
        server.stop().await;
        report("polling echo", &echo);
        let title = format!("polling echo, {} clients", sizes.polling_clients);
        add(70, format!("{title}: acks/s"), higher(echo.rate(), "/s"));
        add(
            71,
            format!("{title}: server CPU per ack"),
            lower(cpu_us(&echo), "µs"),
        );
        add(
            72,
            format!("{title}: p99 round trip"),
            lower(ms(echo.latencies.percentile(99.0)), "ms"),
        );

        let server = Server::start(&peer.command, pin).await?;
        let mut fan = scenario::fanout(
            &Target::single(&server),
            Transport::Polling,
            sizes.polling_receivers,
            sizes.polling_rate,
            sizes.window,
        )
        .await?;
        server.stop().await;
        report("polling fan-out", &fan);
        let title = format!(
            "polling fan-out, {} receivers x {} msgs/s",
            sizes.polling_receivers, sizes.polling_rate
        );
        add(
            80,
            format!("{title}: delivered"),
            higher(fan.delivered(), "%"),
        );
        add(
            81,
            format!("{title}: server CPU per delivery"),
            lower(cpu_us(&fan) * 1e3, "ns"),
        );
        add(
            82,
            format!("{title}: p99 latency"),
            lower(ms(fan.latencies.percentile(99.0)), "ms"),
        );
    }
    Ok(())
}

/// The columns of the fan-out through Redis.
const ONE_NODE: &str = "1 server";
const TWO_NODES: &str = "2 servers + redis";

/// At each fan-out rate: all receivers on one server, then the receivers split over two
/// servers sharing a fresh redis-server, the sender on the first. The CPU counted is that of
/// every process: both servers and redis-server.
async fn run_redis_fanout(
    peer: &Peer,
    sizes: &Sizes,
    pin: bool,
    rows: &mut Rows,
) -> std::io::Result<()> {
    let ns_per_delivery =
        |m: &Measure, cpu: Duration| cpu.as_secs_f64() * 1e9 / m.units.max(1) as f64;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    for (i, &rate) in sizes.rates.iter().enumerate() {
        let server = Server::start(&peer.command, pin).await?;
        let one = scenario::fanout(
            &Target::single(&server),
            Transport::WebSocket,
            sizes.receivers,
            rate,
            sizes.window,
        )
        .await?;
        server.stop().await;
        report("fan-out, 1 server", &one);

        let redis = Redis::start(pin).await?;
        let env = [("REDIS_URL", redis.url())];
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let a = Server::start_with_env(&peer.command, pin, &env).await?;
        let b = Server::start_with_env(&peer.command, pin, &env).await?;
        let target = Target {
            nodes: vec![a.addr, b.addr],
            processes: vec![a.process, b.process, redis.process],
        };
        let two = scenario::fanout(
            &target,
            Transport::WebSocket,
            sizes.receivers,
            rate,
            sizes.window,
        )
        .await?;
        a.stop().await;
        b.stop().await;
        redis.stop().await;
        report("fan-out, 2 servers + redis", &two);

        let title = format!("fan-out, {} receivers x {rate} msgs/s", sizes.receivers);
        let order = 10 * i;
        for (column, mut fan) in [(ONE_NODE, one), (TWO_NODES, two)] {
            let mut add = |n: usize, row: &str, figure: Figure| {
                rows.entry((order + n, format!("{title}: {row}")))
                    .or_default()
                    .insert(column, figure);
            };
            add(0, "delivered", higher(fan.delivered(), "%"));
            add(1, "deliveries/s", higher(fan.rate(), "/s"));
            add(
                2,
                "CPU per delivery, all processes",
                lower(ns_per_delivery(&fan, fan.cpu), "ns"),
            );
            let parts = ["the sender's server", "the other server", "redis-server"];
            for (n, (part, cpu)) in parts.iter().zip(&fan.cpu_by_process).enumerate() {
                add(
                    3 + n,
                    &format!("CPU per delivery, {part}"),
                    lower(ns_per_delivery(&fan, *cpu), "ns"),
                );
            }
            add(
                6,
                "p50 latency",
                lower(ms(fan.latencies.percentile(50.0)), "ms"),
            );
            add(
                7,
                "p99 latency",
                lower(ms(fan.latencies.percentile(99.0)), "ms"),
            );
        }
    }
    Ok(())
}

fn report(scenario: &str, measure: &Measure) {
    eprintln!(
        "   {scenario}: {} units ({:.1}% of expected) in {:.2} s, server CPU {:.3} s",
        measure.units,
        measure.delivered(),
        measure.window.as_secs_f64(),
        measure.cpu.as_secs_f64(),
    );
}
