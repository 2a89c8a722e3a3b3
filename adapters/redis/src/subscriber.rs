//! Subscribing: one task holds the cluster handle's only subscribed connection, subscribes it
//! to every namespace's channels, and hands each message to its namespace's adapter.
//!
//! When the connection fails, the task reports it, waits (from 100 ms, doubling, up to 5 s)
//! and connects again, subscribing to the same channels. Each namespace is subscribed on this
//! one connection once: Node servers count the subscribers of the request channel to know how
//! many answers to wait for.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use tokio::sync::mpsc;

use crate::channels::Channels;
use crate::health::Health;

/// What a namespace's adapter does with the messages of its channels.
pub(crate) trait Inbound: Send + Sync + 'static {
    /// A message on a broadcast channel; `room` is the channel's room part ("" for none).
    fn broadcast(&self, room: &str, payload: &[u8]);
    /// A message on the request channel.
    fn request(&self, payload: &[u8]);
    /// A message on a response channel.
    fn response(&self, payload: &[u8]);
}

/// A namespace's channels and where their messages go.
#[derive(Clone)]
pub(crate) struct Link {
    pub(crate) channels: Channels,
    pub(crate) inbound: Weak<dyn Inbound>,
}

enum Command {
    Add(Link),
    Remove(Link),
}

/// Asks the subscribing task to add or drop a namespace's channels.
#[derive(Clone, Debug)]
pub(crate) struct Subscriber {
    commands: mpsc::UnboundedSender<Command>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Add(link) => write!(f, "Add({})", link.channels.request),
            Command::Remove(link) => write!(f, "Remove({})", link.channels.request),
        }
    }
}

const FIRST_RETRY: Duration = Duration::from_millis(100);
const LAST_RETRY: Duration = Duration::from_secs(5);

impl Subscriber {
    /// Starts the subscribing task on `pubsub`, a subscribed connection already open, which
    /// it opens again from `client` when it fails. Then it also wakes `publishing`, the other
    /// connection: it would otherwise learn of the failure from the next message it sends,
    /// and lose that message.
    pub(crate) fn start(
        client: redis::Client,
        pubsub: redis::aio::PubSub,
        publishing: ConnectionManager,
        health: Health,
    ) -> Subscriber {
        let (commands, receiver) = mpsc::unbounded_channel();
        tokio::spawn(run(client, pubsub, publishing, receiver, health));
        Subscriber { commands }
    }

    pub(crate) fn add(&self, link: Link) {
        let _ = self.commands.send(Command::Add(link));
    }

    /// Drops `link`'s channels, unless a namespace created again under the same name has
    /// linked them to itself since.
    pub(crate) fn remove(&self, link: Link) {
        let _ = self.commands.send(Command::Remove(link));
    }
}

/// The namespaces subscribed, by request channel, and where each channel's messages go.
#[derive(Default)]
struct Routes {
    links: HashMap<String, Link>,
    by_pattern: HashMap<String, Link>,
    by_channel: HashMap<String, (Link, Kind)>,
}

#[derive(Clone, Copy)]
enum Kind {
    Request,
    Response,
}

impl Routes {
    fn insert(&mut self, link: Link) {
        let c = &link.channels;
        self.by_pattern.insert(c.pattern.clone(), link.clone());
        self.by_channel
            .insert(c.request.clone(), (link.clone(), Kind::Request));
        self.by_channel
            .insert(c.response.clone(), (link.clone(), Kind::Response));
        self.by_channel
            .insert(c.own_response.clone(), (link.clone(), Kind::Response));
        self.links.insert(c.request.clone(), link);
    }

    /// Removes `link`'s routes and says so; leaves them when another link holds its channels
    /// now (a namespace removed and created again: the new one's adapter linked them first).
    fn remove(&mut self, link: &Link) -> bool {
        let channels = &link.channels;
        match self.links.get(&channels.request) {
            Some(current) if Weak::ptr_eq(&current.inbound, &link.inbound) => {}
            _ => return false,
        }
        self.links.remove(&channels.request);
        self.by_pattern.remove(&channels.pattern);
        for channel in [
            &channels.request,
            &channels.response,
            &channels.own_response,
        ] {
            self.by_channel.remove(channel);
        }
        true
    }

    fn route(&self, message: &redis::Msg) {
        let payload = message.get_payload_bytes();
        if let Ok(Some(pattern)) = message.get_pattern::<Option<String>>() {
            if let Some(link) = self.by_pattern.get(&pattern) {
                let channel = message.get_channel_name();
                if let (Some(inbound), Some(room)) =
                    (link.inbound.upgrade(), link.channels.room_of(channel))
                {
                    inbound.broadcast(room, payload);
                }
            }
            return;
        }
        if let Some((link, kind)) = self.by_channel.get(message.get_channel_name()) {
            if let Some(inbound) = link.inbound.upgrade() {
                match kind {
                    Kind::Request => inbound.request(payload),
                    Kind::Response => inbound.response(payload),
                }
            }
        }
    }
}

async fn subscribe(
    sink: &mut redis::aio::PubSubSink,
    channels: &Channels,
) -> redis::RedisResult<()> {
    sink.psubscribe(&channels.pattern).await?;
    sink.subscribe(&[
        &channels.request,
        &channels.response,
        &channels.own_response,
    ])
    .await
}

async fn unsubscribe(
    sink: &mut redis::aio::PubSubSink,
    channels: &Channels,
) -> redis::RedisResult<()> {
    sink.punsubscribe(&channels.pattern).await?;
    sink.unsubscribe(&[
        &channels.request,
        &channels.response,
        &channels.own_response,
    ])
    .await
}

async fn run(
    client: redis::Client,
    pubsub: redis::aio::PubSub,
    mut publishing: ConnectionManager,
    mut commands: mpsc::UnboundedReceiver<Command>,
    health: Health,
) {
    let mut routes = Routes::default();
    let mut connection = Some(pubsub);
    let mut retry = FIRST_RETRY;
    loop {
        let pubsub = match connection.take() {
            Some(pubsub) => pubsub,
            None => match client.get_async_pubsub().await {
                Ok(pubsub) => {
                    let _ = redis::cmd("PING").query_async::<()>(&mut publishing).await;
                    pubsub
                }
                Err(error) => {
                    health.subscriber_failed(&error);
                    tokio::time::sleep(retry).await;
                    retry = (retry * 2).min(LAST_RETRY);
                    continue;
                }
            },
        };
        let (mut sink, mut stream) = pubsub.split();
        let mut failure = None;
        for link in routes.links.values() {
            if let Err(error) = subscribe(&mut sink, &link.channels).await {
                failure = Some(error);
                break;
            }
        }
        if failure.is_none() {
            health.subscribed();
            retry = FIRST_RETRY;
            failure = serve(&mut routes, &mut sink, &mut stream, &mut commands).await;
        }
        match failure {
            Some(error) => health.subscriber_failed(&error),
            // Every cluster handle and adapter is gone.
            None => return,
        }
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(LAST_RETRY);
    }
}

/// Routes messages and applies commands until the connection fails (its error) or nobody is
/// left to send commands (`None`).
async fn serve(
    routes: &mut Routes,
    sink: &mut redis::aio::PubSubSink,
    stream: &mut redis::aio::PubSubStream,
    commands: &mut mpsc::UnboundedReceiver<Command>,
) -> Option<redis::RedisError> {
    loop {
        tokio::select! {
            message = stream.next() => match message {
                Some(message) => routes.route(&message),
                None => return Some(lost()),
            },
            command = commands.recv() => match command {
                Some(Command::Add(link)) => {
                    let channels = link.channels.clone();
                    routes.insert(link);
                    if let Err(error) = subscribe(sink, &channels).await {
                        return Some(error);
                    }
                }
                Some(Command::Remove(link)) => {
                    if !routes.remove(&link) {
                        continue;
                    }
                    if let Err(error) = unsubscribe(sink, &link.channels).await {
                        return Some(error);
                    }
                }
                None => return None,
            },
        }
    }
}

fn lost() -> redis::RedisError {
    redis::RedisError::from(std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "the subscribed connection to redis closed",
    ))
}

/// Keeps `inbound` alive as a trait object for a [`Link`].
pub(crate) fn link(channels: Channels, inbound: &Arc<impl Inbound>) -> Link {
    let inbound: Arc<dyn Inbound> = inbound.clone();
    Link {
        channels,
        inbound: Arc::downgrade(&inbound),
    }
}
