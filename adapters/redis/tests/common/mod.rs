//! Shared helpers of the Redis adapter's integration tests: a private Redis Cluster
//! ([`cluster`]), Tidings servers on `127.0.0.1:0` and a raw Socket.IO client ([`client`]).
//!
//! Every wait has a deadline ([`DEADLINE`]) so a broken cluster fails a test instead of
//! hanging it; asserting that something does not come waits [`QUIET`] at most.

// Each test file compiles this module and uses its own part of it.
#![allow(dead_code)]

pub(crate) mod client;
pub(crate) mod cluster;

use std::future::Future;
use std::time::Duration;

/// How long any single wait may take before the test fails.
pub(crate) const DEADLINE: Duration = Duration::from_secs(10);

/// How long a test waits to be sure that something does not come.
pub(crate) const QUIET: Duration = Duration::from_millis(300);

/// Awaits `future`, failing the test after [`DEADLINE`].
pub(crate) async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(DEADLINE, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// Checks `condition` every 20 ms until it holds, failing the test after [`DEADLINE`].
pub(crate) async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    within(what, async {
        while !condition().await {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}
