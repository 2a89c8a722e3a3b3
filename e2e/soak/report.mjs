// The soak's report: what the run did and saw, as markdown, and the verdict (the list of
// failures; an empty list passes).

/** The `p`th percentile (0-100) of `values`, nearest rank; 0 without values. */
export function percentile(values, p) {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.round((p / 100) * (sorted.length - 1)))];
}

const mib = (bytes) => (bytes / 1024 / 1024).toFixed(1);
const ms = (value) => (value < 10 ? value.toFixed(1) : Math.round(value).toString());
const seconds = (value) => `${Math.round(value / 1000)} s`;

/** A markdown table of `rows` (arrays of cells) under `header`. */
function table(header, rows) {
  const line = (cells) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** `[label, p50, p99, max, count]` of latency `samples` (`[at, ms]` pairs). */
function latencyRow(label, samples) {
  const values = samples.map(([, value]) => value);
  return [
    label,
    ms(percentile(values, 50)),
    ms(percentile(values, 99)),
    ms(values.reduce((a, b) => Math.max(a, b), 0)),
    values.length,
  ];
}

/** What went wrong in `run` against its `bounds`: a list of sentences, empty when it passed. */
export function verdict(run) {
  const failures = [...run.unexpected.map(([what, n]) => `${what} (${n}×)`)];
  const { bounds, samples, phases } = run;
  if (run.serverExit) failures.push(`the server exited during the run: ${run.serverExit}`);
  if (run.ready < run.settings.clients) {
    failures.push(`only ${run.ready} of ${run.settings.clients} normal clients connected`);
  }
  const chaos = run.latency.filter(([at]) => at >= phases.chaos && at < phases.drain).map(([, v]) => v);
  const p99 = percentile(chaos, 99);
  if (chaos.length === 0) failures.push("no echo round trip was measured during the chaos");
  if (p99 > bounds.p99Ms) failures.push(`normal clients' p99 under chaos ${ms(p99)} ms > ${bounds.p99Ms} ms`);
  const maxRss = Math.max(...samples.map((s) => s.rss));
  if (maxRss > bounds.rssMib * 1024 * 1024) failures.push(`max RSS ${mib(maxRss)} MiB > ${bounds.rssMib} MiB`);
  const before = run.beforeChaos;
  const end = samples.at(-1);
  if (before && end) {
    const growth = end.rss - before.rss;
    if (growth > bounds.growthMib * 1024 * 1024) {
      failures.push(`RSS grew ${mib(growth)} MiB from before the chaos to the end (> ${bounds.growthMib} MiB)`);
    }
    if (end.fds > before.fds + bounds.fdSlack) {
      failures.push(`file descriptors: ${end.fds} at the end, ${before.fds} before the chaos`);
    }
  }
  return failures;
}

/** The whole report, markdown. */
export function render(run, failures) {
  const { settings, samples, phases } = run;
  const out = [];
  out.push(`# Soak report (${new Date(run.startedAt).toISOString()})`, "");
  out.push(
    `Duration ${seconds(run.elapsed)}: ${seconds(phases.ready)} to connect the normal clients, then ` +
      `${seconds(phases.chaos - phases.ready)} with them alone, ${seconds(phases.drain - phases.chaos)} ` +
      `with the attackers, and ${seconds(run.elapsed - phases.drain)} after them (the attackers' last ` +
      "rounds finish, the server drops what they left).",
    "",
    `Command: \`${run.command}\``,
    "",
    `Server: \`${run.server}\` with ${Object.entries(run.env)
      .map(([k, v]) => `\`${k}=${v}\``)
      .join(", ")}.`,
    "",
    `Machine: ${run.machine}; load average (1 min) ${run.loads.map((l) => l.toFixed(2)).join(" → ")} ` +
      "(sampled at the start, in the middle and at the end).",
    "",
  );
  out.push(`## Verdict: ${failures.length === 0 ? "PASS" : "FAIL"}`, "");
  out.push(
    `Bounds: p99 of normal clients' echo round trips under chaos ≤ ${run.bounds.p99Ms} ms; ` +
      `RSS ≤ ${run.bounds.rssMib} MiB at every sample; RSS at the end ≤ RSS before the chaos + ` +
      `${run.bounds.growthMib} MiB; file descriptors at the end ≤ before the chaos + ${run.bounds.fdSlack}; ` +
      "no normal client disconnected, refused or left without an ack; the server up throughout; " +
      "no attacker outcome marked unexpected.",
    "",
  );
  out.push(...(failures.length === 0 ? ["Nothing failed."] : failures.map((f) => `- ${f}`)), "");

  const normal = run.normal ?? {};
  out.push("## Normal clients", "");
  out.push(
    `${settings.clients} official \`socket.io-client\` sockets (${Object.entries(normal.stats?.byTransport ?? {})
      .map(([k, n]) => `${n} ${k}`)
      .join(", ")}), ` +
      `each emitting \`echo\` with an ack every ${settings.echoEveryMs} ms, in ${settings.rooms} rooms ` +
      `that get a broadcast every ${settings.broadcastEveryMs} ms. ` +
      `Echoes sent ${normal.stats?.echoes ?? "?"}, acked ${normal.stats?.acked ?? "?"}; ` +
      `broadcasts sent ${normal.stats?.broadcasts ?? "?"}, received ${normal.stats?.received ?? "?"}. ` +
      (normal.loop
        ? `The clients' own event loop was late by p99 ${ms(normal.loop.p99)} ms (max ${ms(normal.loop.max)} ms), ` +
          "which the latencies below include."
        : ""),
    "",
  );
  const minutes = Math.ceil(run.elapsed / 60_000);
  const rows = [];
  for (let m = 0; m < minutes; m++) {
    rows.push(latencyRow(`minute ${m + 1}`, run.latency.filter(([at]) => at >= m * 60_000 && at < (m + 1) * 60_000)));
  }
  const phase = (from, to) => run.latency.filter(([at]) => at >= from && at < to);
  rows.push(latencyRow("**before the chaos**", phase(0, phases.chaos)));
  rows.push(latencyRow("**under chaos**", phase(phases.chaos, phases.drain)));
  rows.push(latencyRow("**after**", phase(phases.drain, Infinity)));
  rows.push(latencyRow("**overall**", run.latency));
  rows.push(latencyRow("broadcast delivery, overall", run.broadcastLatency));
  out.push("Echo round trips (ms):", "", table(["", "p50", "p99", "max", "count"], rows), "");

  out.push("## Attackers", "");
  out.push(
    "Connections opened, rounds finished and every outcome as the attacker saw it " +
      "(HTTP status and Engine.IO code, WebSocket close code, CONNECT_ERROR message).",
    "",
  );
  const kinds = Object.entries(run.chaos ?? {});
  out.push(
    table(
      ["kind", "connections", "rounds", "time to close (p50 / max)"],
      kinds.map(([kind, s]) => [
        kind,
        s.connections,
        s.rounds,
        s.timed.length ? `${ms(percentile(s.timed, 50) / 1000)} s / ${ms(Math.max(...s.timed) / 1000)} s` : "",
      ]),
    ),
    "",
  );
  const outcomes = kinds.flatMap(([kind, s]) =>
    Object.entries(s.outcomes)
      .sort((a, b) => b[1] - a[1])
      .map(([outcome, n]) => [kind, outcome.replaceAll("|", "\\|"), n]),
  );
  out.push(table(["kind", "outcome", "count"], outcomes), "");
  const total = kinds.reduce((sum, [, s]) => sum + s.connections, 0);
  out.push(`${total} attacker connections in all, besides the ${settings.clients} normal clients.`, "");

  out.push("## Server", "");
  const rss = samples.map((s) => s.rss);
  out.push(
    `RSS: start ${mib(rss[0] ?? 0)} MiB, max ${mib(Math.max(...rss))} MiB, end ${mib(rss.at(-1) ?? 0)} MiB. ` +
      `File descriptors: start ${samples[0]?.fds}, max ${Math.max(...samples.map((s) => s.fds))}, ` +
      `end ${samples.at(-1)?.fds}. CPU time used: ${ms((samples.at(-1)?.cpu ?? 0) / 1000)} s. ` +
      `Log: ${run.log.warn} warnings, ${run.log.error} errors, ${run.log.panics} panics.`,
    "",
  );
  if (run.log.messages.length > 0) {
    out.push(
      "What the server logged, by message:",
      "",
      table(
        ["count", "message"],
        run.log.messages.slice(0, 20).map(([message, n]) => [n, `\`${message.replaceAll("|", "\\|")}\``]),
      ),
      "",
    );
  }
  const every = Math.max(1, Math.ceil(samples.length / 60));
  const shown = samples.filter((_, i) => i % every === 0 || i === samples.length - 1);
  out.push(
    table(
      ["time", "phase", "RSS (MiB)", "fds", "CPU (s)"],
      shown.map((s) => [
        seconds(s.at),
        s.at < phases.chaos ? "before" : s.at < phases.drain ? "chaos" : "after",
        mib(s.rss),
        s.fds,
        ms(s.cpu / 1000),
      ]),
    ),
    "",
  );
  return out.join("\n");
}
