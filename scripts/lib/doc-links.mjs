// Dead links and unreachable pages in Markdown docs. Used by scripts/check-docs.mjs and test/docs-links.test.ts.
// A link is dead when its relative target file does not exist or its #anchor is not a heading of the target
// page (GitHub's heading slugs, which TypeDoc's site uses too); a page is unreachable when no chain of links
// from the index page leads to it. Links inside code spans and fenced code blocks are not links.
import fs from "node:fs";
import path from "node:path";

/** The Markdown text without fenced code blocks and inline code spans (lines kept, so line numbers hold). */
export function stripCode(text) {
  return fencesOnly(text)
    .split("\n")
    .map((line) => line.replace(/(`+)[\s\S]*?\1/g, ""))
    .join("\n");
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading) {
  return heading
    .replace(/`/g, "")
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** The anchors of a page's headings (a repeated heading gets -1, -2, … as on GitHub). */
export function anchors(text) {
  const seen = new Map();
  const out = new Set();
  for (const line of text.split("\n")) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** The links of a page: {target, line} for every [text](target) outside code. */
export function links(text) {
  const out = [];
  stripCode(text)
    .split("\n")
    .forEach((line, i) => {
      for (const m of line.matchAll(/!?\[(?:[^\]]|\][^(])*?\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
        out.push({ target: m[1], line: i + 1 });
    });
  return out;
}

const external = (t) => /^[a-z][a-z0-9+.-]*:/i.test(t);

/**
 * Dead links of the Markdown files `files` (absolute paths), as "file:line: message" strings (relative to
 * `root`): a relative target that does not exist, or an anchor that is not a heading of its page.
 */
export function deadLinks(root, files) {
  const problems = [];
  for (const file of files) {
    const raw = fs.readFileSync(file, "utf8");
    for (const { target, line } of links(raw)) {
      if (external(target)) continue;
      const where = `${path.relative(root, file)}:${line}`;
      const [p, anchor] = target.split("#", 2);
      const dest = p ? path.resolve(path.dirname(file), decodeURIComponent(p)) : file;
      if (!fs.existsSync(dest)) {
        problems.push(`${where}: link to ${target}: no such file ${path.relative(root, dest)}`);
        continue;
      }
      if (anchor !== undefined && dest.endsWith(".md")) {
        // headings are read from the raw text minus code blocks (a `#` comment in a code block is no heading)
        const heads = anchors(fencesOnly(fs.readFileSync(dest, "utf8")));
        if (!heads.has(anchor)) problems.push(`${where}: link to ${target}: ${path.relative(root, dest)} has no heading #${anchor}`);
      }
    }
  }
  return problems;
}

/** The text with fenced code blocks blanked (inline code kept: headings may contain it). */
function fencesOnly(text) {
  const out = [];
  let fence = null;
  for (const line of text.split("\n")) {
    const m = /^\s*(```+|~~~+)/.exec(line);
    if (fence) {
      if (m && m[1][0] === fence[0] && m[1].length >= fence.length) fence = null;
      out.push("");
    } else if (m) {
      fence = m[1];
      out.push("");
    } else out.push(line);
  }
  return out.join("\n");
}

/** Every .md file under `dir`, absolute, sorted. */
export function markdownFiles(dir) {
  return fs
    .readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".md"))
    .map((f) => path.join(dir, f))
    .sort();
}

/** The pages of `dir` that no chain of relative links from `index` reaches (absolute paths). */
export function unreachable(dir, index) {
  const seen = new Set([index]);
  const queue = [index];
  while (queue.length) {
    const file = queue.shift();
    for (const { target } of links(fs.readFileSync(file, "utf8"))) {
      if (external(target)) continue;
      const p = target.split("#", 1)[0];
      if (!p) continue;
      const dest = path.resolve(path.dirname(file), decodeURIComponent(p));
      if (dest.endsWith(".md") && dest.startsWith(dir + path.sep) && fs.existsSync(dest) && !seen.has(dest)) {
        seen.add(dest);
        queue.push(dest);
      }
    }
  }
  return markdownFiles(dir).filter((f) => !seen.has(f));
}
