//! The task of one connection: the handshake, then a loop that waits for input, for queued
//! broadcasts or for the ping timer, and after each wake-up writes everything pending (its
//! own replies, then the queued frames) in one `write`.
//!
//! Reads go through a buffer on the stack of the poll (not in the task's future), and the
//! write buffer exists only while a batch of several frames is written, so an idle
//! connection holds its socket, the task, the decoder and its [`Peer`] and nothing more.

use std::future::poll_fn;
use std::mem;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Poll, ready};
use std::time::Duration;

use tidings_transports::packet::websocket::{OpCode, encode, encode_close};
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::handshake;
use crate::rooms::{Peer, Rooms};
use crate::session::{End, PING_INTERVAL, Session};

/// Bytes read per call.
const READ_CHUNK: usize = 4096;

/// How long a closing connection may take to write its close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Serves one TCP connection until it ends.
pub(crate) async fn run(mut stream: TcpStream, rooms: Arc<Rooms>) {
    let _ = stream.set_nodelay(true);
    let Ok(Some(unread)) = handshake::accept(&mut stream).await else {
        return;
    };
    let peer = Arc::new(Peer::default());
    let mut session = Session::new(rooms, Arc::clone(&peer));
    let end = drive(&mut stream, &mut session, &peer, unread).await;
    session.leave_all();
    peer.close();
    if let End::Close(code) = end {
        // Replies to what came before the end go first.
        let mut frame = mem::take(&mut session.out);
        match code {
            Some(code) => encode_close(code, &mut frame),
            None => encode(OpCode::Close, &[], &mut frame),
        }
        let closing = async {
            stream.write_all(&frame).await?;
            stream.shutdown().await
        };
        let _ = tokio::time::timeout(CLOSE_GRACE, closing).await;
    }
}

/// Runs the connection until it ends, and says how.
async fn drive(stream: &mut TcpStream, session: &mut Session, peer: &Peer, unread: Vec<u8>) -> End {
    if let Err(end) = session.on_input(&unread) {
        return end;
    }
    drop(unread);
    let ping = tokio::time::sleep(PING_INTERVAL);
    tokio::pin!(ping);
    loop {
        if let Err(end) = flush(stream, session, peer).await {
            return end;
        }
        tokio::select! {
            read = poll_fn(|cx| poll_read(stream, session, cx)) => {
                if let Err(end) = read {
                    return end;
                }
            }
            () = poll_fn(|cx| peer.poll_ready(cx)) => {}
            () = &mut ping => {
                if let Err(end) = session.on_ping_due() {
                    return end;
                }
                ping.as_mut().reset(Instant::now() + PING_INTERVAL);
            }
        }
    }
}

/// Reads once from the client and handles what it sent.
fn poll_read(
    stream: &mut TcpStream,
    session: &mut Session,
    cx: &mut std::task::Context<'_>,
) -> Poll<Result<(), End>> {
    let mut chunk = [0u8; READ_CHUNK];
    let mut buf = ReadBuf::new(&mut chunk);
    Poll::Ready(match ready!(Pin::new(stream).poll_read(cx, &mut buf)) {
        Ok(()) if buf.filled().is_empty() => Err(End::Gone),
        Ok(()) => session.on_input(buf.filled()),
        Err(_) => Err(End::Gone),
    })
}

/// Writes the session's own frames and the queued ones, in one write.
async fn flush(stream: &mut TcpStream, session: &mut Session, peer: &Peer) -> Result<(), End> {
    let frames = peer.take().map_err(|_| End::Close(Some(1008)))?;
    let written = match (session.out.is_empty(), &frames[..]) {
        (true, []) => return Ok(()),
        (true, [frame]) => stream.write_all(frame).await,
        _ => {
            let mut batch = mem::take(&mut session.out);
            batch.reserve_exact(frames.iter().map(|f| f.len()).sum());
            for frame in &frames {
                batch.extend_from_slice(frame);
            }
            drop(frames);
            stream.write_all(&batch).await
        }
    };
    written.map_err(|_| End::Gone)
}
