// The metrics endpoint of the test bed (`METRICS_PATH`), scraped after traffic from the
// official socket.io-client: the text is valid OpenMetrics and counts what happened.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { EVENT_TIMEOUT, ack, nextEvent, useSocketTestbed } from "../lib/socketio.mjs";

/** One sample line: a name, optional labels, a value. */
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.e+-]+|[+-]Inf|NaN)$/;

/** Scrapes `/metrics`; returns the samples by series (`name{labels}`), after checking the text. */
async function scrape(url) {
  const response = await fetch(`${url}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type"), /^application\/openmetrics-text/);
  const text = await response.text();
  const lines = text.trimEnd().split("\n");
  assert.equal(lines.at(-1), "# EOF");
  const samples = new Map();
  for (const line of lines.slice(0, -1)) {
    if (line.startsWith("# HELP ") || line.startsWith("# TYPE ") || line.startsWith("# UNIT ")) {
      continue;
    }
    const match = SAMPLE.exec(line);
    assert.ok(match, `not a sample: ${line}`);
    samples.set(match[1] + (match[2] ?? ""), Number(match[3]));
  }
  return samples;
}

/** The value of `series`, which must be there. */
function value(samples, series) {
  assert.ok(samples.has(series), `no ${series}`);
  return samples.get(series);
}

/** Scrapes until `check(samples)` holds, for at most EVENT_TIMEOUT. */
async function until(url, check) {
  const deadline = Date.now() + EVENT_TIMEOUT;
  for (;;) {
    const samples = await scrape(url);
    if (check(samples)) return samples;
    assert.ok(Date.now() < deadline, "the metrics did not get there in time");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("socket.io metrics endpoint", () => {
  const { server, clients } = useSocketTestbed({ METRICS_PATH: "/metrics" });

  it("counts connections, packets, broadcasts and disconnects", async () => {
    const a = await clients.connect(server.url, "/", { transports: ["websocket"] });
    const b = await clients.connect(server.url, "/", { transports: ["websocket"] });
    const c = await clients.connect(server.url, "/", { transports: ["polling"] });

    const news = [b, c].map((socket) => nextEvent(socket, "news"));
    assert.deepEqual(await ack(a, "to-room", { event: "news" }, "hi"), ["ok"]);
    for (const received of await Promise.all(news)) {
      assert.equal(received.at(-1), "hi");
    }
    assert.deepEqual(await ack(a, "echo", 1), [1]);

    let samples = await scrape(server.url);
    assert.equal(value(samples, 'tidings_engine_connections{transport="websocket"}'), 2);
    assert.equal(value(samples, 'tidings_engine_connections{transport="polling"}'), 1);
    assert.equal(value(samples, "tidings_sockets"), 3);
    assert.equal(value(samples, 'tidings_packets_received_total{type="connect"}'), 3);
    assert.equal(value(samples, 'tidings_packets_received_total{type="event"}'), 2);
    assert.equal(value(samples, 'tidings_packets_sent_total{type="ack"}'), 2);
    assert.equal(value(samples, "tidings_broadcasts_total"), 1);
    assert.equal(value(samples, "tidings_broadcast_recipients_sum"), 2);
    assert.ok(value(samples, "tidings_engine_received_bytes_total") > 0);
    assert.ok(value(samples, "tidings_engine_sent_bytes_total") > 0);

    b.disconnect();
    samples = await until(
      server.url,
      (s) => s.get('tidings_disconnects_total{reason="client_namespace_disconnect"}') === 1,
    );
    assert.equal(value(samples, "tidings_sockets"), 2);
  });
});
