//! The load generator of the side-by-side benchmarks (`bench/run`): Socket.IO clients over
//! WebSocket and long-polling that speak the protocol themselves, the scenarios, and the
//! servers under test with their CPU time and memory read from `/proc`.
//!
//! `bench-table` runs every scenario against every server and prints the table that
//! `docs/benchmarks.md` shows.

pub mod process;
pub mod redis;
pub mod scenario;
pub mod server;
pub mod sio;
pub mod stats;
pub mod table;
pub mod ws;
