//! A process whose CPU time and memory the bench reads from `/proc`: a server under test,
//! or a process the servers share (redis-server).

use std::time::Duration;

use tokio::process::Command;

/// Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`; 100 on Linux).
const TICKS_PER_SECOND: u64 = 100;

/// A command to start `program_and_args` on core 0, where the servers run (with `taskset`
/// when `pin`), killed when its child is dropped.
pub fn on_core_0(program_and_args: &[String], pin: bool) -> Command {
    let mut command = if pin {
        let mut command = Command::new("taskset");
        command.arg("-c").arg("0").args(program_and_args);
        command
    } else {
        let mut command = Command::new(&program_and_args[0]);
        command.args(&program_and_args[1..]);
        command
    };
    command.kill_on_drop(true);
    command
}

/// A running process, by its id.
#[derive(Clone, Copy, Debug)]
pub struct Process {
    pid: u32,
}

impl Process {
    /// The process `pid`.
    pub fn new(pid: u32) -> Process {
        Process { pid }
    }

    /// The CPU time it has used (user and system), in 10 ms ticks.
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

    /// Its resident memory, in bytes.
    pub fn rss(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .unwrap_or_default()
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }
}
