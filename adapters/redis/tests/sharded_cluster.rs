//! The sharded adapter on a real Redis Cluster (three masters): three Tidings servers share
//! namespace `/`, with real clients, and every operation is checked across servers,
//! including on a room whose channel lives on another shard than the namespace's. Then a
//! node restarts and the servers subscribe again.

mod common;

use std::time::Duration;

use serde_json::{Value, json};
use tidings::{AckSender, Data, Io, Socket};
use tidings_redis::{ShardedCluster, Status};

use common::client::{Client, Server};
use common::cluster::RedisCluster;
use common::{eventually, within};

const MAIN: &str = "socket.io#/#";

/// A Tidings server of the cluster at `urls`, named `node` in its server-side replies.
async fn server(urls: &[String], node: &'static str) -> (Server, ShardedCluster) {
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    let cluster = ShardedCluster::builder(&urls)
        .requests_timeout(Duration::from_secs(2))
        .connect()
        .await
        .expect("connects to the cluster");
    let io = Io::builder().adapter(cluster.adapter()).build();
    io.ns("/", |socket: Socket| {
        socket.on(
            "join",
            |socket: Socket, Data(room): Data<String>, ack: AckSender| {
                socket.join(room).expect("below the room limit");
                let _ = ack.send("ok");
            },
        );
    });
    io.sockets().on_server_side_emit(move |packet, reply| {
        if let Some(reply) = reply {
            let _ = reply.send(&json!({ "node": node, "event": packet.event }));
        }
    });
    (Server::start(io).await, cluster)
}

/// A room name whose channel is on another node than the namespace's channel.
fn room_on_another_shard(cluster: &RedisCluster) -> String {
    let main = cluster.node_of(MAIN);
    (0..)
        .map(|n| format!("room-{n}"))
        .find(|room| cluster.node_of(&format!("{MAIN}{room}#")) != main)
        .expect("some room hashes elsewhere")
}

async fn subscribed(cluster: &RedisCluster, channel: &str, count: usize) {
    eventually(&format!("{count} subscribers of {channel}"), || async {
        cluster.subscribers(channel) == count
    })
    .await;
}

async fn received(client: &mut Client, event: &str) -> Vec<Value> {
    let got = client.event(event).await;
    assert_eq!(got.name, event, "{got:?}");
    got.args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_crosses_servers() {
    let Some(redis) = RedisCluster::start(3) else {
        return;
    };
    let urls = redis.urls();
    let (a, _) = server(&urls, "A").await;
    let (b, _) = server(&urls, "B").await;
    let (c, _) = server(&urls, "C").await;
    subscribed(&redis, MAIN, 3).await;
    let (ns_a, ns_b, ns_c) = (a.io.sockets(), b.io.sockets(), c.io.sockets());
    assert_eq!(ns_a.server_count().await, 3);

    let mut a1 = a.connect().await;
    let mut b1 = b.connect().await;
    let mut c1 = c.connect().await;
    let room = room_on_another_shard(&redis);
    let room_channel = format!("{MAIN}{room}#");
    assert_eq!(a1.call("join", json!(room)).await, [json!("ok")]);
    assert_eq!(b1.call("join", json!(room)).await, [json!("ok")]);
    // One subscription per server that has the room, on the room's shard.
    subscribed(&redis, &room_channel, 2).await;

    // To everyone, from each server.
    ns_a.emit("all", "from A").expect("emits");
    for client in [&mut a1, &mut b1, &mut c1] {
        assert_eq!(received(client, "all").await, [json!("from A")]);
    }
    ns_c.volatile().emit("volatile", &1).expect("emits");
    for client in [&mut a1, &mut b1, &mut c1] {
        assert_eq!(received(client, "volatile").await, [json!(1)]);
    }

    // To the room on another shard, from a server without it.
    ns_c.to(room.as_str())
        .emit("room", "from C")
        .expect("emits");
    assert_eq!(received(&mut a1, "room").await, [json!("from C")]);
    assert_eq!(received(&mut b1, "room").await, [json!("from C")]);
    c1.nothing("c1 is not in the room").await;

    // Except the room; and local only.
    ns_b.except(room.as_str())
        .emit("except", "from B")
        .expect("emits");
    assert_eq!(received(&mut c1, "except").await, [json!("from B")]);
    ns_a.local().emit("local", "from A").expect("emits");
    assert_eq!(received(&mut a1, "local").await, [json!("from A")]);
    b1.nothing("a local broadcast stays on A").await;
    c1.nothing("a local broadcast stays on A").await;

    // A broadcast with acks, from the server without the room.
    let acks = ns_c
        .to(room.as_str())
        .timeout(Duration::from_secs(3))
        .emit_with_ack("ask", "q")
        .expect("emits");
    for client in [&mut a1, &mut b1] {
        let ask = client.event("ask").await;
        let id = ask.id.expect("an ack is asked for");
        client.ack(id, json!(client.sid)).await;
    }
    let acks = within("the acks", acks).await.expect("every ack came");
    let mut acked: Vec<String> = acks
        .iter()
        .map(|args| args.decode::<String>().expect("a string"))
        .collect();
    acked.sort();
    let mut expected = vec![a1.sid.clone(), b1.sid.clone()];
    expected.sort();
    assert_eq!(acked, expected);

    // fetch_sockets, everywhere and in the room.
    let mut ids: Vec<String> = ns_c
        .fetch_sockets()
        .await
        .iter()
        .map(|socket| socket.id().to_string())
        .collect();
    ids.sort();
    let mut all = vec![a1.sid.clone(), b1.sid.clone(), c1.sid.clone()];
    all.sort();
    assert_eq!(ids, all);
    let in_room = ns_c.to(room.as_str()).fetch_sockets().await;
    assert_eq!(in_room.len(), 2);
    let remote = in_room
        .iter()
        .find(|socket| socket.id().to_string() == b1.sid)
        .expect("b1 is in the room");
    assert!(remote.rooms().iter().any(|r| r.as_ref() == room));

    // sockets_join and sockets_leave from another server; the new room gets its channel.
    ns_a.to(c1.sid.as_str()).sockets_join("joined");
    subscribed(&redis, &format!("{MAIN}joined#"), 1).await;
    ns_b.to("joined").emit("joined", "from B").expect("emits");
    assert_eq!(received(&mut c1, "joined").await, [json!("from B")]);
    ns_a.to("joined").sockets_leave("joined");
    subscribed(&redis, &format!("{MAIN}joined#"), 0).await;
    ns_b.to("joined").emit("joined", "again").expect("emits");
    c1.nothing("c1 left the room").await;

    // Server-side emits, with the other servers' replies.
    let replies = ns_a
        .server_side_emit_with_ack("ping", &1, Duration::from_secs(3))
        .expect("emits");
    let replies = within("the replies", replies)
        .await
        .expect("every server replied");
    let mut nodes: Vec<String> = replies
        .iter()
        .map(|args| {
            let reply: Value = args.decode().expect("JSON");
            reply["node"].as_str().expect("a node").to_owned()
        })
        .collect();
    nodes.sort();
    assert_eq!(nodes, ["B", "C"]);

    // all_rooms is this server's only.
    let rooms = ns_c.all_rooms().await;
    assert!(!rooms.iter().any(|r| r.as_ref() == room), "{rooms:?}");

    // disconnect_sockets from another server.
    ns_b.to(c1.sid.as_str()).disconnect_sockets(false);
    loop {
        let packet = c1.packet("the disconnection").await;
        if packet == "1" {
            break;
        }
    }

    // A server that leaves gives its subscriptions back.
    drop(a);
    drop(b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribes_again_after_a_node_restarts() {
    let Some(mut redis) = RedisCluster::start(3) else {
        return;
    };
    let urls = redis.urls();
    let (a, _) = server(&urls, "A").await;
    let (b, cluster_b) = server(&urls, "B").await;
    subscribed(&redis, MAIN, 2).await;
    let mut b1 = b.connect().await;
    let mut status = cluster_b.status();

    redis.restart(redis.node_of(MAIN));
    // The outage may be over by the time the cluster is whole: the status changed anyway.
    within("B notices the outage", status.changed())
        .await
        .expect("the status is watched");
    within(
        "B is connected again",
        status.wait_for(|s| *s == Status::Connected),
    )
    .await
    .expect("the status is watched");
    subscribed(&redis, MAIN, 2).await;

    a.io.sockets().emit("after", "restart").expect("emits");
    assert_eq!(received(&mut b1, "after").await, [json!("restart")]);
    assert_eq!(a.io.sockets().server_count().await, 2);
}
