/** `maestro config`: the config reference as Markdown, generated from the schema's descriptions. */
import type { Argv } from "yargs";
import { configReference } from "../config/docs.js";
import { helpOf } from "./args.js";

export function builder(y: Argv) {
  return helpOf(y, "config-and-completion", [["config > config-reference.md", "every field: type, default, meaning"]]);
}

export async function handler(): Promise<void> {
  console.log(configReference());
}
