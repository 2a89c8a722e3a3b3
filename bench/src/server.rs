//! A server under test: started pinned to core 0, with its CPU time and memory.

use std::io;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout};

use crate::process::{Process, on_core_0};

/// A running server.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// Its process, for its CPU time and memory.
    pub process: Process,
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
        Server::start_with_env(command, pin, &[]).await
    }

    /// Starts `command` as [`start`](Self::start) does, with the environment variables `env`
    /// set too (`REDIS_URL`, say).
    ///
    /// # Errors
    /// When it cannot start, or exits or stays silent for 20 seconds.
    pub async fn start_with_env(
        command: &[String],
        pin: bool,
        env: &[(&str, &str)],
    ) -> io::Result<Server> {
        let mut child = on_core_0(command, pin)
            .env("PORT", "0")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
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
            process: Process::new(pid),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            _stdout: stdout,
        })
    }

    /// The CPU time the server has used (user and system).
    pub fn cpu(&self) -> Duration {
        self.process.cpu()
    }

    /// The server's resident memory, in bytes.
    pub fn rss(&self) -> u64 {
        self.process.rss()
    }

    /// Stops the server.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
