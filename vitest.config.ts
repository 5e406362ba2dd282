import os from "node:os";
import { defineConfig } from "vitest/config";

/**
 * Two tiers, chosen by where a test file lives:
 *   fast  test/*.test.ts       unit and small integration tests (short trainings, the CLI on small runs);
 *                              `npm test`, a few minutes on a 2-core machine
 *   slow  test/slow/*.test.ts  acceptance (trainers on their defaults against the exact LP optimum),
 *                              generalisation, the Redis queue and fault injection; `npm run test:all`
 *                              runs both tiers (docs/testing.md says which to run when)
 * A test file that needs the built `maestro` command gets it from the globalSetup, which builds only
 * when dist/ is missing or older than its sources. One worker per core: vitest's default leaves one core
 * free (one worker on a 2-core machine), but the main process idles while the files run.
 */
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: Math.max(2, os.availableParallelism()),
    globalSetup: ["test/setup/bundle.ts"],
    projects: [
      { extends: true, test: { name: "fast", include: ["test/*.test.ts"] } },
      { extends: true, test: { name: "slow", include: ["test/slow/**/*.test.ts"] } },
    ],
  },
});
