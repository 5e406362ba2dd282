/** src/serve: using a trained orchestrator on new tasks. */
export {
  loadOrchestrator,
  Orchestrator,
  type OrchestrationTrace,
  type TraceStep,
  type SolveOptions,
  type LoadOrchestratorOptions,
} from "./orchestrate.js";
export { serveRun, startServer, buildServer, SERVED_MODEL, type MaestroServer, type ServeOptions, type MaestroInfo } from "./server.js";
