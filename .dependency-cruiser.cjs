/**
 * The folder layers of DESIGN.md §2, checked by `npm run lint` (dependency-cruiser): no import cycles,
 * and no import from a folder to one in a higher layer. Same-layer imports are allowed (without cycles).
 *   core ← agents, llm, tasks ← env, policy ← algos ← config, run, analysis ← sweep, serve, plots ← cli
 * Type-only imports count too.
 */
const layers = [
  ["core"],
  ["agents", "llm", "tasks"],
  ["env", "policy"],
  ["algos"],
  ["config", "run", "analysis"],
  ["sweep", "serve", "plots"],
];
const folder = (names) => `^src/(${names.join("|")})/`;

const layerRules = layers.slice(0, -1).map((names, i) => {
  const higher = layers.slice(i + 1).flat();
  return {
    name: `layer-${names.join("-")}`,
    comment: `${names.join(", ")} may not import from a higher layer (${higher.join(", ")}, cli, index)`,
    severity: "error",
    from: { path: folder(names) },
    to: { path: [folder(higher), "^src/(cli|index)\\.ts$", "^src/cli/"] },
  };
});

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "Import cycles make the layers meaningless and module start-up order fragile.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    ...layerRules,
    {
      name: "top-layer-not-imported",
      comment: "sweep, serve and plots are used by the CLI and the library entry, never by lower folders",
      severity: "error",
      from: { path: "^src/", pathNot: ["^src/(sweep|serve|plots)/", "^src/(cli|index)\\.ts$", "^src/cli/"] },
      to: { path: ["^src/(cli|index)\\.ts$", "^src/cli/"] },
    },
    {
      name: "cli-modules-only-from-the-cli",
      comment: "src/cli/ holds the command modules of src/cli.ts (parse, call the folders below, print): nothing else imports them",
      severity: "error",
      from: { path: "^src/", pathNot: ["^src/cli\\.ts$", "^src/cli/"] },
      to: { path: ["^src/cli/"] },
    },
    {
      name: "core-is-pure",
      comment: "src/core imports no tfjs, file system or network code (DESIGN.md §2)",
      severity: "error",
      from: { path: "^src/core/" },
      to: { path: ["@tensorflow", "^(node:)?(fs|http|https|net|child_process)$", "node_modules/(openai|@anthropic-ai|bullmq|ioredis)"] },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
  },
};
