import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { InputError, zodToInputError } from "../core/errors.js";
import { decodeUtf8 } from "../core/text.js";
import type { Agent } from "./agent.js";
import { agentDefinitionSchema, type AgentDefinition } from "./definition.js";
import { EchoAgent } from "./echo.js";
import { LlmAgent } from "./llm.js";
import type { LlmClient } from "../llm/client.js";
import { buildRecordedAgent, type RecordedPool } from "./recorded.js";
import { SimAgent } from "./sim.js";
import { TerminatorAgent } from "./terminator.js";
import { ModuleAgent, moduleAgentFunction } from "./module.js";
import { loadedModuleExport, resolveModuleFile, setModuleOrigin } from "./user-module.js";

/** The `agents/` folder shipped with maestro (the default pool). */
export const bundledAgentsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../agents");

/** Parses a YAML file, reporting syntax errors with the file name and line. */
export function readYamlFile(file: string): unknown {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new InputError(`${file}: cannot read file (${(e as NodeJS.ErrnoException).code ?? String(e)})`, file);
  }
  const text = decodeUtf8(bytes, file);
  const doc = YAML.parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const err = doc.errors[0]!;
    const pos = err.linePos?.[0];
    throw new InputError(`${file}${pos ? `:${pos.line}:${pos.col}` : ""}: malformed YAML: ${err.message.split("\n")[0]}`, file);
  }
  return doc.toJS();
}

/**
 * Where an agent reference (a name like `echo`, or a path like `agents/echo.yaml`) may be found,
 * in search order: relative to the config file, `agents/` beside or above the config's folder,
 * `agents/` in the working directory, then the agents shipped with maestro.
 */
export function agentCandidates(ref: string, configDir: string): string[] {
  const isPath = ref.includes("/") || ref.includes("\\") || /\.ya?ml$/.test(ref);
  if (isPath) {
    return path.isAbsolute(ref) ? [ref] : [path.resolve(configDir, ref), path.resolve(ref)];
  }
  const file = `${ref}.yaml`;
  return [
    path.resolve(configDir, "agents", file),
    path.resolve(configDir, "..", "agents", file),
    path.resolve("agents", file),
    path.join(bundledAgentsDir, file),
  ];
}

/** Loads and validates one agent definition file. */
export function loadAgentFile(file: string): AgentDefinition {
  const raw = readYamlFile(file);
  const parsed = agentDefinitionSchema.safeParse(raw);
  if (!parsed.success) throw zodToInputError(file, parsed.error, { schema: agentDefinitionSchema, raw });
  return parsed.data;
}

/**
 * Resolves the `agents` list of a config into validated definitions. `where` names the config file
 * and field for error messages.
 */
export function resolveAgentDefinitions(
  refs: ReadonlyArray<string | Record<string, unknown>>,
  configDir: string,
  where: string,
): AgentDefinition[] {
  const defs = refs.map((ref, i) => {
    if (typeof ref !== "string") {
      const parsed = agentDefinitionSchema.safeParse(ref);
      if (!parsed.success) throw zodToInputError(where, parsed.error, { prefix: `agents.${i}`, schema: agentDefinitionSchema, raw: ref });
      return withModuleFile(parsed.data, { file: where, field: `agents[${i}]` }, configDir);
    }
    const candidates = agentCandidates(ref, configDir);
    const found = candidates.find((c) => fs.existsSync(c));
    if (!found) {
      throw new InputError(
        `${where}: agents[${i}]: agent file for "${ref}" not found (looked in: ${candidates.join(", ")})`,
        where,
        `agents[${i}]`,
      );
    }
    return withModuleFile(loadAgentFile(found), { file: found, field: "" }, path.dirname(found));
  });
  const seen = new Set<string>();
  defs.forEach((d, i) => {
    if (seen.has(d.name)) {
      throw new InputError(`${where}: agents[${i}]: duplicate agent name "${d.name}"`, where, `agents[${i}]`);
    }
    seen.add(d.name);
  });
  if (defs.length < 2) {
    throw new InputError(`${where}: agents: the pool needs at least 2 agents, got ${defs.length}`, where, "agents");
  }
  return defs;
}

/**
 * A `kind: module` definition with its module path made absolute (relative paths are read from the
 * folder of the file the definition is written in; the run folder's config.yaml then finds the same
 * file), the file checked to exist, and where it was written remembered for later errors.
 */
function withModuleFile(def: AgentDefinition, origin: { file: string; field: string }, baseDir: string): AgentDefinition {
  if (def.kind !== "module") return def;
  const at = `${origin.file}: ${origin.field ? `${origin.field}.module` : "module"}`;
  const out = { ...def, module: resolveModuleFile(def.module, baseDir, at) };
  setModuleOrigin(out, origin);
  return out;
}

/** What some agent kinds need besides their definition (LLM agents: the run's shared LLM client; recorded agents: the table and prices). */
export interface AgentDeps {
  llm?: LlmClient;
  recorded?: RecordedPool;
}

/** Builds the runtime agent of a definition. */
export function buildAgent(def: AgentDefinition, deps: AgentDeps = {}): Agent {
  switch (def.kind) {
    case "llm":
      if (!deps.llm) throw new InputError(`agent "${def.name}" is an LLM agent but the config has no llm section`, undefined, "llm");
      return new LlmAgent(
        {
          name: def.name,
          role: def.role ?? def.name,
          prompt: def.prompt,
          model: def.model,
          lastTurns: def.transcript.lastTurns,
          transcriptTokens: def.transcript.maxTokens,
          extract: def.extract,
          instruction: def.instruction,
        },
        deps.llm,
      );
    case "echo":
      return new EchoAgent(def.name, def.cost);
    case "terminator":
      return new TerminatorAgent(def.name, def.cost);
    case "recorded":
      if (!deps.recorded)
        throw new InputError(
          `agent "${def.name}" is a recorded agent but the config's tasks are not recorded outputs`,
          undefined,
          "tasks.source",
        );
      return buildRecordedAgent(def, deps.recorded);
    case "module": {
      const ref = { module: def.module, export: def.export };
      const fn = moduleAgentFunction(
        loadedModuleExport(ref, `agent "${def.name}"`),
        `agent "${def.name}" (${def.module}, export "${def.export}")`,
      );
      return new ModuleAgent({ name: def.name, ref, fn, params: def.params, ...(def.cost !== undefined ? { cost: def.cost } : {}) });
    }
    case "sim":
      return new SimAgent({
        name: def.name,
        cost: def.cost,
        solve: def.solve,
        boost: def.boost,
        ...(def.tiers ? { tiers: def.tiers } : {}),
      });
  }
}
