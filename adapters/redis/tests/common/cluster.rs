//! A private Redis Cluster for the tests: `n` masters (`redis-server --cluster-enabled yes`)
//! on free loopback ports, without persistence, in a temporary folder, joined by
//! `redis-cli --cluster create`; every process is killed and the folder removed on drop.
//!
//! Without `redis-server` on `PATH` the tests that need it are skipped with a printed
//! reason, unless `CI` is set: there a missing `redis-server` fails them.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use redis::Value;

/// How long the cluster may take to form, or to be whole again after a restart.
const READY: Duration = Duration::from_secs(30);

/// A running Redis Cluster.
pub(crate) struct RedisCluster {
    dir: PathBuf,
    nodes: Vec<Node>,
}

struct Node {
    port: u16,
    child: Option<Child>,
}

impl RedisCluster {
    /// Starts a cluster of `masters` masters; `None` (after saying why) when there is no
    /// `redis-server` here and `CI` is not set.
    pub(crate) fn start(masters: usize) -> Option<RedisCluster> {
        if !on_path("redis-server") || !on_path("redis-cli") {
            let reason = "redis-server or redis-cli is not on PATH (scripts/setup installs them)";
            assert!(std::env::var_os("CI").is_none(), "{reason}");
            eprintln!("skipped: {reason}");
            return None;
        }
        static CLUSTERS: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "tidings-redis-cluster-{}-{}",
            std::process::id(),
            CLUSTERS.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        let mut cluster = RedisCluster {
            dir,
            nodes: Vec::new(),
        };
        for _ in 0..masters {
            let port = free_port();
            cluster.nodes.push(Node { port, child: None });
            cluster.spawn(cluster.nodes.len() - 1);
        }
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for node in &cluster.nodes {
            create.arg(format!("127.0.0.1:{}", node.port));
        }
        let output = create
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli runs");
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        cluster.wait_ok();
        Some(cluster)
    }

    /// `redis://127.0.0.1:port` of every node.
    pub(crate) fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|node| format!("redis://127.0.0.1:{}", node.port))
            .collect()
    }

    /// The node that holds `channel`'s slot.
    pub(crate) fn node_of(&self, channel: &str) -> usize {
        let slot: i64 = self
            .query(0, redis::cmd("CLUSTER").arg("KEYSLOT").arg(channel))
            .expect("CLUSTER KEYSLOT");
        let Value::Array(ranges) = self
            .query::<Value>(0, redis::cmd("CLUSTER").arg("SLOTS"))
            .expect("CLUSTER SLOTS")
        else {
            panic!("CLUSTER SLOTS is an array");
        };
        for range in ranges {
            let Value::Array(range) = range else { continue };
            let (Some(Value::Int(start)), Some(Value::Int(end)), Some(Value::Array(master))) =
                (range.first(), range.get(1), range.get(2))
            else {
                continue;
            };
            if (*start..=*end).contains(&slot) {
                let Some(Value::Int(port)) = master.get(1) else {
                    panic!("a master has a port: {master:?}");
                };
                return self
                    .nodes
                    .iter()
                    .position(|node| i64::from(node.port) == *port)
                    .expect("a node of this cluster");
            }
        }
        panic!("no node holds slot {slot}");
    }

    /// How many connections subscribe to sharded `channel`.
    pub(crate) fn subscribers(&self, channel: &str) -> usize {
        let node = self.node_of(channel);
        let (_, count): (String, usize) = self
            .query(node, redis::cmd("PUBSUB").arg("SHARDNUMSUB").arg(channel))
            .expect("PUBSUB SHARDNUMSUB");
        count
    }

    /// Kills node `index` (SIGKILL) and starts it again on its port, then waits until the
    /// cluster is whole.
    pub(crate) fn restart(&mut self, index: usize) {
        if let Some(mut child) = self.nodes[index].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.spawn(index);
        self.wait_ok();
    }

    fn spawn(&mut self, index: usize) {
        let port = self.nodes[index].port;
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--cluster-enabled", "yes"])
            .args(["--cluster-config-file", &format!("nodes-{port}.conf")])
            .args(["--cluster-node-timeout", "2000"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.nodes[index].child = Some(child);
        let started = Instant::now();
        while self.query::<String>(index, &redis::cmd("PING")).is_err() {
            assert!(
                started.elapsed() < READY,
                "redis-server on {port} does not answer"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until every node says `cluster_state:ok` and agrees on the slots.
    fn wait_ok(&self) {
        let started = Instant::now();
        loop {
            let ok = (0..self.nodes.len()).all(|index| {
                self.query::<String>(index, redis::cmd("CLUSTER").arg("INFO"))
                    .is_ok_and(|info| {
                        info.contains("cluster_state:ok") && info.contains("cluster_slots_ok:16384")
                    })
            });
            if ok {
                return;
            }
            assert!(started.elapsed() < READY, "the cluster is not ok in time");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn query<T: redis::FromRedisValue>(
        &self,
        index: usize,
        command: &redis::Cmd,
    ) -> redis::RedisResult<T> {
        let url = format!("redis://127.0.0.1:{}", self.nodes[index].port);
        let client = redis::Client::open(url)?;
        let mut connection = client.get_connection_with_timeout(Duration::from_secs(1))?;
        command.query(&mut connection)
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn on_path(command: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(command).is_file()))
}

/// A loopback port free now, whose cluster bus port (10000 higher) is free too.
fn free_port() -> u16 {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        if port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}
