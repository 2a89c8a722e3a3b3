//! A server under test: started pinned to core 0, and its CPU time and memory read from
//! `/proc`.

use std::io;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

/// Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`; 100 on Linux).
const TICKS_PER_SECOND: u64 = 100;

/// A running server.
#[derive(Debug)]
pub struct Server {
    child: Child,
    pid: u32,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Kept open: a server writing to a closed pipe would die.
    _stdout: BufReader<ChildStdout>,
}

impl Server {
    /// Starts `command` (program and arguments) with `PORT=0` on core 0 (with `taskset`
    /// when `pin`), and waits for the line that says where it listens.
    ///
    /// # Errors
    /// When it cannot start, or exits or stays silent for 20 seconds.
    pub async fn start(command: &[String], pin: bool) -> io::Result<Server> {
        let mut cmd = if pin {
            let mut cmd = Command::new("taskset");
            cmd.arg("-c").arg("0").args(command);
            cmd
        } else {
            let mut cmd = Command::new(&command[0]);
            cmd.args(&command[1..]);
            cmd
        };
        let mut child = cmd
            .env("PORT", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        let pid = child
            .id()
            .ok_or_else(|| io::Error::other("the server exited at once"))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        let port = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                line.clear();
                if stdout.read_line(&mut line).await? == 0 {
                    return Err(io::Error::other(format!("{command:?} exited")));
                }
                if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1) {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    return digits.parse::<u16>().map_err(io::Error::other);
                }
            }
        })
        .await
        .map_err(|_| io::Error::other(format!("{command:?} did not say where it listens")))??;
        Ok(Server {
            child,
            pid,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            _stdout: stdout,
        })
    }

    /// The CPU time the server has used (user and system).
    pub fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap_or_default();
        // The fields after the command name (which may hold spaces) start at state, field 3.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let field = |n: usize| {
            fields
                .get(n - 3)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let ticks = field(14) + field(15);
        Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND)
    }

    /// The server's resident memory, in bytes.
    pub fn rss(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .unwrap_or_default()
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }

    /// Stops the server.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
