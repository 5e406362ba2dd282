/** src/config: the experiment config — zod schema, YAML loading with `--set` overrides, heads, docs. */
export { configSchema, algoNames, constrainedAlgos, agentDefinitionSchema, type Config, type RawConfig } from "./schema.js";
export { loadConfig, validateConfig, applyOverrides, parseSetValue, configToYaml, configWarnings, type LoadOptions } from "./load.js";
export { headsOf, isMultiHead, knownHeadNames } from "./heads.js";
export { configReference } from "./docs.js";
