#!/usr/bin/env node
// Checks the links between the repository's markdown files: every relative link must name a
// file or folder that exists, and every anchor (`#section`, `other.md#section`) a heading or an
// `<a id>` of that file, with GitHub's heading ids. Links to other sites are not fetched.
//
//   node scripts/check-links.mjs            # every .md file of the repository
//   node scripts/check-links.mjs README.md  # these files only
//
// Exits with status 1, listing each broken link as `file:line: target (why)`, when any is broken.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Folders never searched for markdown files. */
const SKIP = new Set([".git", "node_modules", "target", "dist", "corpus", "artifacts"]);

/** Every `.md` file under `dir`, as absolute paths. */
function markdownFiles(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const at = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...markdownFiles(at));
    else if (entry.name.endsWith(".md")) found.push(at);
  }
  return found.sort();
}

/**
 * The lines of a markdown text with fenced code blocks blanked out (so that a `#` comment or
 * `[x](y)` in a sample is neither a heading nor a link) and inline code spans removed.
 */
function proseLines(text) {
  let fence = null;
  return text.split("\n").map((line) => {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line);
    if (fence) {
      if (marker && marker[1][0] === fence[0] && marker[1].length >= fence.length) fence = null;
      return "";
    }
    if (marker) {
      fence = marker[1];
      return "";
    }
    return line.replace(/(`+)(?:(?!\1).)+?\1/g, (span) => "\u0000" + span + "\u0000");
  });
}

/** A line without its code spans (kept apart by `proseLines` between NUL characters). */
const withoutCode = (line) => line.replace(/\u0000[^\u0000]*\u0000/g, "");

/** A line with its code spans' text kept and their backticks dropped, as headings are read. */
const codeAsText = (line) => line.replace(/\u0000(`+)([^\u0000]*?)\1\u0000/g, "$2");

/** GitHub's id of a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading) {
  const text = codeAsText(heading)
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1") // links: their text
    .replace(/<[^>]+>/g, "") // inline HTML
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "").replace(/ /g, "-");
}

const anchorCache = new Map();

/** The anchors of a markdown file: its headings' ids (`-1`, `-2` for repeats) and `<a id>`s. */
function anchors(file) {
  let found = anchorCache.get(file);
  if (found) return found;
  found = new Set();
  const seen = new Map();
  for (const line of proseLines(readFileSync(file, "utf8"))) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      const base = slug(heading[1]);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      found.add(n ? `${base}-${n}` : base);
    }
    for (const a of withoutCode(line).matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) found.add(a[1]);
  }
  anchorCache.set(file, found);
  return found;
}

/** The link targets of one line: inline links and images, and reference definitions. */
function targets(line) {
  const prose = withoutCode(line);
  const found = [];
  for (const m of prose.matchAll(/!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)) found.push(m[1]);
  const definition = /^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$/.exec(prose);
  if (definition) found.push(definition[1]);
  return found;
}

/** Why `target`, linked from `file`, is broken; `null` when it resolves. */
function check(file, target) {
  if (target === "" ) return "empty link";
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return null; // another site, mail, ...
  const hash = target.indexOf("#");
  const pathPart = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
  const anchor = hash < 0 ? null : decodeURIComponent(target.slice(hash + 1));
  const resolved = pathPart === "" ? file : path.resolve(path.dirname(file), pathPart);
  if (pathPart.startsWith("/")) return "absolute path: make it relative";
  if (!existsSync(resolved)) return "no such file";
  if (anchor === null || anchor === "") return null;
  if (statSync(resolved).isDirectory() || !resolved.endsWith(".md")) return null;
  return anchors(resolved).has(anchor) ? null : `no heading with id "${anchor}"`;
}

const files = process.argv.length > 2 ? process.argv.slice(2).map((f) => path.resolve(f)) : markdownFiles(root);
const broken = [];
let links = 0;
for (const file of files) {
  proseLines(readFileSync(file, "utf8")).forEach((line, i) => {
    for (const target of targets(line)) {
      links++;
      const why = check(file, target);
      if (why) broken.push(`${path.relative(root, file)}:${i + 1}: ${target} (${why})`);
    }
  });
}
if (broken.length) {
  console.error(`${broken.length} broken link(s):\n` + broken.join("\n"));
  process.exit(1);
}
console.log(`links: ${links} links in ${files.length} markdown files resolve`);
