import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadJsonlTasks } from "../src/tasks/jsonl.js";
import { readYamlFile } from "../src/agents/loader.js";
import { expectInputError, removeTmpDirs, runCli, tmpDir } from "./helpers.js";

// Datasets with invalid UTF-8 are refused with file:line:column; a BOM is dropped.
afterAll(removeTmpDirs);

const line = (id: string, prompt: string) => Buffer.from(JSON.stringify({ id, prompt, answer: "1" }) + "\n", "utf8");

describe("text encoding of input files", () => {
  it("refuses a dataset with invalid UTF-8 bytes, naming file, line and column", () => {
    const dir = tmpDir("utf8");
    const file = path.join(dir, "bad.jsonl");
    // line 3 holds a Latin-1 "é" (0xe9) where UTF-8 was expected
    const bad = Buffer.concat([Buffer.from('{"id":"c","prompt":"caf'), Buffer.from([0xe9]), Buffer.from('","answer":"1"}\n')]);
    fs.writeFileSync(file, Buffer.concat([line("a", "x"), line("b", "ü ok"), bad, line("d", "y")]));
    expectInputError(() => loadJsonlTasks(file), `${file}:3:24: invalid UTF-8 (byte 0xe9`);
  });

  it("strips a UTF-8 byte-order mark instead of reporting or keeping an invisible character", () => {
    const dir = tmpDir("bom");
    const file = path.join(dir, "bom.jsonl");
    fs.writeFileSync(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), line("a", "first"), line("b", "second")]));
    const tasks = loadJsonlTasks(file);
    expect(tasks.map((t) => t.id)).toEqual(["a", "b"]);
    expect(tasks[0]!.prompt).toBe("first");
    const yml = path.join(dir, "c.yaml");
    fs.writeFileSync(yml, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("name: x\n")]));
    expect(readYamlFile(yml)).toEqual({ name: "x" });
  });

  it("maestro train refuses such a dataset before writing anything", { timeout: 60_000 }, () => {
    const dir = tmpDir("utf8cli");
    const data = path.join(dir, "data.jsonl");
    fs.writeFileSync(data, Buffer.concat([line("a", "1+0"), Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d, 0x0a])]));
    const cfg = path.join(dir, "c.yaml");
    fs.writeFileSync(
      cfg,
      `name: enc\nagents: [echo, terminator]\ntasks: { source: jsonl, file: data.jsonl, evalFraction: 0, evaluator: exact }\nenv: { maxSteps: 3 }\nreward: {}\n` +
        `encoder: { name: doa-md5 }\npolicy: {}\nalgo: { name: reinforce }\ntrain: { updates: 1, episodesPerUpdate: 2 }\nlog: { plot: false }\n`,
    );
    const r = runCli(["train", cfg, "--run-dir", path.join(dir, "run"), "--quiet"], { timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${data}:2:3: invalid UTF-8 (byte 0xff`);
    expect(fs.existsSync(path.join(dir, "run"))).toBe(false);
  });
});
