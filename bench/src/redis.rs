//! A private `redis-server` for the cluster scenarios: on a free loopback port, on core 0
//! beside the servers, without persistence, and killed when dropped.

use std::io;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::Child;

use crate::process::{Process, on_core_0};

/// How long redis-server may take to answer its first `PING`.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// A running redis-server.
#[derive(Debug)]
pub struct Redis {
    child: Child,
    /// Its process, for its CPU time.
    pub process: Process,
    addr: SocketAddr,
}

impl Redis {
    /// Starts `redis-server` on a free loopback port, on core 0 (with `taskset` when
    /// `pin`), and waits until it answers `PING`.
    ///
    /// # Errors
    /// When it cannot start, or exits or stays silent for 10 seconds.
    pub async fn start(pin: bool) -> io::Result<Redis> {
        let addr = TcpListener::bind("127.0.0.1:0").await?.local_addr()?;
        let command: Vec<String> = [
            "redis-server",
            "--port",
            &addr.port().to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            &std::env::temp_dir().to_string_lossy(),
            "--loglevel",
            "warning",
        ]
        .map(str::to_owned)
        .into();
        let mut child = on_core_0(&command, pin)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        let pid = child
            .id()
            .ok_or_else(|| io::Error::other("redis-server exited at once"))?;
        let deadline = Instant::now() + READY_TIMEOUT;
        while !answers_ping(addr).await {
            if let Some(status) = child.try_wait()? {
                return Err(io::Error::other(format!("redis-server exited: {status}")));
            }
            if Instant::now() > deadline {
                return Err(io::Error::other("redis-server did not answer PING"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(Redis {
            child,
            process: Process::new(pid),
            addr,
        })
    }

    /// Its URL, for the servers' `REDIS_URL`.
    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    /// Stops redis-server.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Whether something at `addr` answers `PING` with `+PONG`.
async fn answers_ping(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return false;
    };
    let mut answer = [0; 7];
    stream.write_all(b"PING\r\n").await.is_ok()
        && stream.read_exact(&mut answer).await.is_ok()
        && &answer == b"+PONG\r\n"
}
