// Imported first by every script in scripts/ (a side-effect import, so it runs before the script's other
// imports, which may need a build): `--help` / `-h` prints the script's own header comment — what it does,
// how to run it — and exits 0; a bad option (node:util parseArgs) prints its message and that usage, exit 2,
// instead of a stack trace.
import fs from "node:fs";
import path from "node:path";

const script = process.argv[1] ? path.resolve(process.argv[1]) : "";

/** The leading comment block of the script (// lines or one /** … *\/ block), without comment markers. */
function usage() {
  const lines = fs.readFileSync(script, "utf8").split("\n");
  let i = lines[0]?.startsWith("#!") ? 1 : 0;
  const out = [];
  if (lines[i]?.trim().startsWith("/**")) {
    for (i++; i < lines.length && !lines[i].trim().startsWith("*/"); i++) out.push(lines[i].replace(/^\s*\* ?/, ""));
  } else {
    for (; i < lines.length && lines[i].startsWith("//"); i++) out.push(lines[i].replace(/^\/\/ ?/, ""));
  }
  const text = out.join("\n").trim();
  const rel = path.relative(process.cwd(), script) || script;
  return `usage: node ${rel} [options]\n\n${text}\n`;
}

if (script && (process.argv.includes("--help") || process.argv.includes("-h"))) {
  process.stdout.write(usage());
  process.exit(0);
}

process.on("uncaughtException", (e) => {
  if (typeof e?.code === "string" && e.code.startsWith("ERR_PARSE_ARGS")) {
    process.stderr.write(`error: ${e.message}\n\n${usage()}`);
    process.exit(2);
  }
  throw e;
});
