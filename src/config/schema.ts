import { z } from "zod";
import { agentDefinitionSchema, moduleRefFields, type AgentDefinition } from "../agents/definition.js";
import { answerEvaluatorNames, evaluatorNames, finalAnswerModes } from "../tasks/evaluators.js";
import { arithmeticTypes } from "../tasks/arithmetic.js";
import { cacheModes } from "../llm/cache.js";
import { tokenizerNames } from "../llm/tokens.js";
import { activationNames, backendNames, initNames } from "../policy/names.js";

/**
 * src/config — the experiment config. This file: one zod schema whose every field carries a description, so validation
 * errors, `maestro config` and the README's reference table come from one source.
 * Owns the shape and defaults of a config; loading, `--set` overrides and cross-field checks are in
 * load.ts. Must not run anything.
 */

const positiveInt = () => z.number().int().positive();

const hidden = z.array(positiveInt()).describe("Hidden layer sizes of the MLP.");

/** A user's own success rule: `{kind: module, module, export}` (src/tasks/module-evaluator.ts). */
export const moduleEvaluatorSchema = z
  .object({
    kind: z
      .literal("module")
      .describe(
        "Your own evaluator: an export of a JavaScript/TypeScript module, called with the task, the history and the final answer when a terminal agent ends the episode; returns true or false, sync or async.",
      ),
    ...moduleRefFields,
  })
  .strict();

export type ModuleEvaluatorDefinition = z.infer<typeof moduleEvaluatorSchema>;

const inlineTasks = z
  .object({
    source: z.literal("inline").describe("Tasks listed in the config."),
    items: z.array(z.string().min(1)).min(1).describe("The task texts."),
    order: z
      .enum(["cycle", "random"])
      .default("cycle")
      .describe("cycle: episode e of update n gets task (n·episodesPerUpdate + e) mod #items (the DOA order); random: uniform draws."),
    evaluator: z
      .union([z.enum(evaluatorNames), moduleEvaluatorSchema])
      .default("terminated")
      .describe(
        "Success rule. terminated: ended by a terminal agent before maxSteps (DOA MVP); solved: a simulated agent solved it; {kind: module, module, export}: your own.",
      ),
  })
  .strict();

const simTasks = z
  .object({
    source: z.literal("sim").describe("Simulated tasks: a task type drawn per episode; the task text names the type."),
    types: z
      .record(z.string().regex(/^[A-Za-z0-9_-]+$/, "letters, digits, _ - only"), z.number().positive())
      .refine((r) => Object.keys(r).length > 0, "at least one task type")
      .describe("Task types and their sampling weights, e.g. {easy: 0.6, hard: 0.4}; every sim solver needs a probability for each."),
    evaluator: z
      .enum(evaluatorNames)
      .default("solved")
      .describe("Success rule; simulated tasks use `solved` (a simulated solver succeeded)."),
  })
  .strict();

/** Fields shared by task sources with reference answers (judged on the episode's final answer). */
const answerTaskFields = {
  order: z
    .enum(["cycle", "random"])
    .default("random")
    .describe("Training order over the train split: cycle in order, or uniform draws from the tasks stream."),
  tolerance: z
    .number()
    .nonnegative()
    .default(1e-6)
    .describe("numeric evaluator: success when |answer − reference| ≤ tolerance·max(1, |reference|)."),
  finalAnswer: z
    .enum(finalAnswerModes)
    .default("last")
    .describe("The episode's final answer: the last answer an agent extracted, or the majority over all extracted answers."),
};

const jsonlTasks = z
  .object({
    source: z.literal("jsonl").describe("A JSON-lines dataset, one {id, prompt, answer, type?} object per line."),
    file: z.string().min(1).describe("Dataset file (relative to the config file)."),
    evalFile: z
      .string()
      .optional()
      .describe("Held-out dataset (relative to the config file); without it evalFraction of file is held out."),
    evalFraction: z
      .number()
      .min(0)
      .max(0.9)
      .default(0.2)
      .describe(
        "Share of file held out for evaluation (seeded shuffle) when there is no evalFile; 0 = none (evaluation uses the training tasks).",
      ),
    fields: z
      .object({
        id: z.string().default("id").describe("Field holding the task id (missing → line number)."),
        prompt: z.string().default("prompt").describe("Field holding the task text."),
        answer: z.string().default("answer").describe("Field holding the reference answer."),
        type: z.string().default("type").describe("Field holding the optional task type."),
      })
      .strict()
      .default({ id: "id", prompt: "prompt", answer: "answer", type: "type" })
      .describe("Field names of the dataset's lines."),
    evaluator: z
      .union([z.enum(answerEvaluatorNames), moduleEvaluatorSchema])
      .default("exact")
      .describe(
        "How the final answer is checked: exact (normalised text), numeric (tolerance), choice (option letter), regex (reference is a pattern), contains, zeroeval (ZeroEval's math rule: first numbers equal, fractions evaluated), or {kind: module, module, export}: your own.",
      ),
    ...answerTaskFields,
  })
  .strict();

const arithmeticTasks = z
  .object({
    source: z.literal("arithmetic").describe("Built-in seeded multi-step arithmetic word problems (addsub, muldiv, percent)."),
    train: positiveInt().default(500).describe("Number of training problems."),
    eval: positiveInt().default(200).describe("Number of held-out problems (disjoint from the training ones)."),
    types: z
      .array(z.enum(arithmeticTypes))
      .min(1)
      .default([...arithmeticTypes])
      .describe("Problem types, cycled."),
    minSteps: positiveInt().default(2).describe("Fewest operations per problem."),
    maxSteps: positiveInt().default(4).describe("Most operations per problem."),
    seed: z.number().int().nonnegative().optional().describe("Seed of the generator (default: the run's seed)."),
    evaluator: z
      .union([z.enum(answerEvaluatorNames), moduleEvaluatorSchema])
      .default("numeric")
      .describe("How the final answer is checked (as for jsonl tasks), or {kind: module, module, export}: your own."),
    ...answerTaskFields,
  })
  .strict();

const recordedTasks = z
  .object({
    source: z
      .literal("recorded")
      .describe("Recorded outputs of real models: a table of items × models; agents of kind recorded return the models' recorded answers."),
    file: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .describe(
        "Recorded-output file(s), relative to the config file (else to the working directory): a path, a glob (e.g. `data/mmlu/*.csv`) or a list of them, all of one layout — `.csv` (RouteLLM's: prompt, one True/False column per model, optional <model>_response) or `.jsonl` (maestro's, see the README). Each item's source file name becomes its task type.",
      ),
    gold: z
      .object({
        file: z.string().min(1).describe("JSONL file with reference answers, joined to the items on the (whitespace-normalised) prompt."),
        prompt: z.string().default("prompt").describe("Field of the gold file holding the prompt."),
        answer: z.string().default("answer").describe("Field holding the reference answer."),
        pattern: z
          .string()
          .optional()
          .describe("Regex whose group 1 is the reference answer inside that field, e.g. `####\\s*(.+)$` for GSM8K."),
      })
      .strict()
      .optional()
      .describe("Optional gold answers (e.g. GSM8K's test.jsonl)."),
    judge: z
      .enum(["auto", "recorded", "evaluator"])
      .default("auto")
      .describe(
        "Which correctness counts. auto: the recorded flag (or score) where the table has one — it is the published label all baselines use — else the evaluator against the gold answer; recorded: flags only; evaluator: the evaluator against the gold answer only.",
      ),
    evaluator: z
      .enum(answerEvaluatorNames)
      .default("exact")
      .describe("How an extracted answer is checked against a gold answer (where the judge rule uses one)."),
    tolerance: answerTaskFields.tolerance,
    order: answerTaskFields.order,
    scoreThreshold: z.number().min(0).max(1).default(0.5).describe("A recorded score (0–1) without a flag counts as correct when ≥ this."),
    finalAnswer: z
      .enum(finalAnswerModes)
      .default("last")
      .describe(
        "The episode's answer: the last model's (last); the most frequent answer so far (majority, ties: the latest group); the largest agreeing group, ties to the most expensive model (consensus).",
      ),
    trainItems: z
      .number()
      .positive()
      .nullable()
      .default(null)
      .describe(
        "Items of the training split that training draws from: a share (≤ 1) or a count (> 1); null = all. Training spend is still counted against the whole split's table.",
      ),
    costAxis: z
      .enum(["dollars", "strong-calls"])
      .default("dollars")
      .describe(
        "The cost a policy is trained for: dollars (tokens × prices, every call counted) or strong-calls (1 per call of the most expensive model, else 0: RouteLLM's count).",
      ),
    split: z
      .object({
        train: z.number().positive().default(0.6).describe("Share of items for training."),
        val: z.number().nonnegative().default(0.1).describe("Share held out for validation (choosing the best hand rule; your tuning)."),
        test: z
          .number()
          .positive()
          .default(0.3)
          .describe("Share held out for testing: every figure the `curve` and `eval` commands report."),
        seed: z.number().int().nonnegative().nullable().default(null).describe("Seed of the split (null = the run's seed)."),
      })
      .strict()
      .default({ train: 0.6, val: 0.1, test: 0.3, seed: null })
      .describe("Deterministic train/validation/test split, stratified by task type (fractions are normalised to sum 1)."),
    tokenizer: z
      .enum(tokenizerNames)
      .default("cl100k_base")
      .describe("Tokenizer (gpt-tokenizer) counting the prompt and answer tokens where the table records no counts (prices × tokens)."),
    promptOverheadTokens: z
      .number()
      .int()
      .nonnegative()
      .default(0)
      .describe("Input tokens added to every call (e.g. a few-shot prefix the recorded prompt does not show)."),
    outputTokensWithoutText: z
      .number()
      .int()
      .nonnegative()
      .default(1)
      .describe("Output tokens of a call whose answer text is not recorded (e.g. 1 for MMLU's one-letter answers)."),
  })
  .strict();

const llmModelSchema = z
  .object({
    provider: z
      .enum(["openai", "anthropic"])
      .optional()
      .describe("openai: any OpenAI-compatible chat API; anthropic: the Messages API (default: llm.provider)."),
    model: z.string().min(1).describe("Model name sent to the provider."),
    baseURL: z.string().url().optional().describe("API base URL (default: llm.baseURL, else the SDK's default)."),
    apiKeyEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "the NAME of an environment variable (never the key itself)")
      .optional()
      .describe("Name of the environment variable holding the API key (default: llm.apiKeyEnv; none = no key, e.g. local servers)."),
    temperature: z
      .number()
      .min(0)
      .max(2)
      .optional()
      .describe("Sampling temperature (default: llm.temperature; not sent to Anthropic, whose SDK v1 has none)."),
    maxTokens: positiveInt().optional().describe("Max completion tokens (default: llm.maxTokens)."),
    timeoutMs: positiveInt().optional().describe("Per-attempt request timeout in ms, response body included (default: llm.timeoutMs)."),
    maxRetries: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe("SDK retries with backoff on 408/409/429/5xx/timeouts (default: llm.maxRetries)."),
    inputPricePerM: z.number().nonnegative().default(0).describe("Price per million input tokens (cost mode price)."),
    outputPricePerM: z.number().nonnegative().default(0).describe("Price per million output tokens (cost mode price)."),
    paramsB: z.number().nonnegative().default(0).describe("Model size in billions of parameters (cost mode compute)."),
  })
  .strict();

const llmSchema = z
  .object({
    provider: z.enum(["openai", "anthropic"]).default("openai").describe("Default provider of the models."),
    baseURL: z
      .string()
      .url()
      .optional()
      .describe("Default API base URL of the models (e.g. http://127.0.0.1:8787/v1 for npx maestro sim-server)."),
    apiKeyEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "the NAME of an environment variable (never the key itself)")
      .optional()
      .describe("Default name of the environment variable holding the API key."),
    temperature: z.number().min(0).max(2).default(0.7).describe("Default sampling temperature."),
    maxTokens: positiveInt().default(512).describe("Default max completion tokens."),
    timeoutMs: positiveInt()
      .default(60_000)
      .describe("Default per-attempt timeout in ms; bounds the whole attempt, response body included."),
    maxRetries: z.number().int().nonnegative().default(2).describe("Default SDK retries."),
    maxRetryWaitMs: z
      .number()
      .int()
      .nonnegative()
      .default(60_000)
      .describe(
        "Longest Retry-After wait (429/5xx) honoured before a retry; a server asking for longer fails the call at once (an error turn).",
      ),
    models: z.record(z.string(), llmModelSchema).default({}).describe("Models by reference name (what agents' `model` points at)."),
    prices: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Price table file (YAML: model → {inputPricePerM, outputPricePerM}), relative to the config file, merged into llm.models (fields set there win); a recorded model without a price is then an error.",
      ),
    maxConcurrency: positiveInt().default(8).describe("Most LLM requests in flight at once, over all agents and episodes of the run."),
    requestsPerMinute: positiveInt().optional().describe("Optional cap on requests started per minute."),
    maxErrorRate: z
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe(
        "Stop the run (non-zero exit, folder resumable) when more than this fraction of an update's LLM calls fail for llm.errorPatience updates in a row, or at once when every call of an update fails (that update is never trained on); 1 = never stop.",
      ),
    errorPatience: positiveInt()
      .default(3)
      .describe("Consecutive updates above llm.maxErrorRate before the run stops (it stops before training on the last of them)."),
    sendSeed: z.boolean().default(true).describe("Send the episode index as the request `seed` (OpenAI-compatible providers)."),
    cost: z
      .object({
        mode: z
          .enum(["price", "compute"])
          .default("price")
          .describe("price: tokens × price per token; compute: Puppeteer's proxy 2·params·tokens·computeScale."),
        computeScale: z.number().positive().default(1e-12).describe("Units of the compute proxy (1e-12: TFLOPs)."),
        logStepPhi: z.number().positive().optional().describe("compute mode: also scale by log(1 + t/φ), t = 1-based step (Puppeteer)."),
      })
      .strict()
      .default({ mode: "price", computeScale: 1e-12 })
      .describe("How token usage becomes the step cost."),
    cache: z
      .object({
        mode: z
          .enum(cacheModes)
          .default("read-write")
          .describe("read-write: reuse and store replies; read-only: replay (a miss is an error); off."),
        dir: z.string().default("runs/.llm-cache").describe("Cache folder (relative to the working directory)."),
      })
      .strict()
      .default({ mode: "read-write", dir: "runs/.llm-cache" })
      .describe("On-disk response cache, keyed by provider, model, messages, sampling parameters and episode/step index."),
  })
  .strict()
  .describe("LLM providers, models, limits, cost rule and response cache (needed by kind: llm agents).");

const tasksSchema = z
  .discriminatedUnion("source", [inlineTasks, simTasks, jsonlTasks, arithmeticTasks, recordedTasks])
  .describe("Where episodes' tasks come from.");

const envSchema = z
  .object({
    maxSteps: positiveInt().describe("Episode length limit; reaching it without a terminal step is a failure."),
    terminatorEndsEpisode: z
      .boolean()
      .default(true)
      .describe(
        "true: a terminal agent (the Terminator) ends the episode. false: the DOA code as published — episodes always run maxSteps, each terminal step is scored as a successful terminal step.",
      ),
    budget: z.number().positive().optional().describe("Episode cost budget d of the CMDP (shown to the features encoder)."),
    callOnce: z
      .boolean()
      .default(false)
      .describe(
        "free shape: each non-terminal agent at most once per episode, stop only after a call (always so on recorded tasks: a model asked the same item twice repeats itself).",
      ),
    shape: z
      .enum(["free", "cascade", "router"])
      .default("free")
      .describe(
        "Which calls are allowed (action masks; needs one terminator). free: any agent at any step. cascade: calls go up the pool order (after agent k only agents listed after k, so each at most once; with model * the pool is cheapest first), the terminator from step 2 on (call a model, see its answer, stop or escalate; the final answer is the last model's). router: one agent, then the terminator.",
      ),
  })
  .strict()
  .describe("The orchestration environment.");

const rewardSchema = z
  .object({
    successBonus: z.number().default(1).describe("Task reward r on success."),
    failurePenalty: z.number().default(-1).describe("Task reward r on failure."),
    costPenalty: z
      .number()
      .nonnegative()
      .default(0)
      .describe("λ of the penalised reward R_t = r_t − λ·c_t (Puppeteer/DOA form). Keep 0 for constrained trainers."),
    gamma: z.number().min(0).max(1).default(0.99).describe("Discount factor γ."),
  })
  .strict()
  .describe("Task reward, cost penalty and discount.");

const doaEncoder = z.object({ name: z.literal("doa-md5").describe("DOA's 64-d encoder: md5 of the task + 3 history features.") }).strict();
const featuresEncoder = z
  .object({
    name: z.literal("features").describe("Hashed n-grams of task and recent outputs + structural features."),
    taskBuckets: z.number().int().nonnegative().default(64).describe("Hash buckets for the task text."),
    outputBuckets: z.number().int().nonnegative().default(32).describe("Hash buckets for the recent outputs."),
    recentTurns: z.number().int().nonnegative().default(2).describe("How many latest outputs are hashed."),
    costScale: z.number().positive().default(10).describe("Cost normaliser when the run has no budget."),
    view: z
      .enum(["full", "markov"])
      .default("full")
      .describe(
        "full: every feature above. markov: only the Markov state of simulated configs — the task type (a one-hot of tasks.types for sim tasks when taskBuckets ≥ #types, else task text n-grams), step (scalar + one-hot) and the called-at-least-once flags of helper agents (sim agents with `boost`); nothing else of the history.",
      ),
  })
  .strict();
const embeddingEncoder = z
  .object({
    name: z
      .literal("embedding")
      .describe("Task embedding from an OpenAI-compatible /v1/embeddings endpoint (cached) + the features encoder."),
    model: z.string().min(1).describe("Embedding model name."),
    baseURL: z.string().url().optional().describe("Embeddings API base URL (default: llm.baseURL)."),
    apiKeyEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "the NAME of an environment variable (never the key itself)")
      .optional()
      .describe("Name of the environment variable holding the API key (default: llm.apiKeyEnv)."),
    dimensions: positiveInt().default(64).describe("Embedding size (sent as `dimensions`; the reply must match)."),
    timeoutMs: positiveInt().default(30_000).describe("Per-attempt timeout in ms."),
    maxRetries: z.number().int().nonnegative().default(2).describe("SDK retries."),
    taskBuckets: z.number().int().nonnegative().default(0).describe("Hash buckets for the task text in the structural part."),
    outputBuckets: z.number().int().nonnegative().default(32).describe("Hash buckets for the recent outputs."),
    recentTurns: z.number().int().nonnegative().default(2).describe("How many latest outputs are hashed."),
    costScale: z.number().positive().default(10).describe("Cost normaliser when the run has no budget."),
  })
  .strict();
const answersEncoder = z
  .object({
    name: z
      .literal("answers")
      .describe(
        "For cascades and routers: prompt features (length, numbers, task type, hashed n-grams) and, per agent, whether it was called, the text features of its answer (final answer in the expected form, length, arithmetic checks, hedging...), its cost and whether it agrees with another answer; step and cost spent.",
      ),
    taskBuckets: z.number().int().nonnegative().default(0).describe("Hash buckets for the prompt's word n-grams (0 = none)."),
  })
  .strict();
const encoderSchema = z
  .discriminatedUnion("name", [doaEncoder, featuresEncoder, embeddingEncoder, answersEncoder])
  .describe("State encoder.");

const policySchema = z
  .object({
    hidden: hidden.default([64, 64]),
    activation: z.enum(activationNames).default("tanh").describe("Hidden activation (default tanh, CleanRL's and SB3's for policy MLPs)."),
    init: z
      .enum(initNames)
      .default("orthogonal")
      .describe(
        "Weight init. orthogonal: CleanRL's layer_init (gain √2 hidden, small output gain). torch-default: U(±1/√fan_in) for weights and biases (PyTorch's nn.Linear, DOA parity).",
      ),
    greedy: z
      .enum(["auto", "argmax", "stop-first"])
      .default("auto")
      .describe(
        "Greedy decoding (eval, curve, orchestrate, serve): argmax over all actions; stop-first: stop when P(stop) ≥ ½, else the likeliest agent; auto: stop-first for free orchestration of a recorded pool, else argmax.",
      ),
    heads: z
      .array(
        z
          .object({
            name: z
              .string()
              .min(1)
              .describe(
                "Head name: `agent` (which agent acts; must be the first head; its choices are the pool) or `tier` (the model tier, passed to agents as options.tier).",
              ),
            choices: z
              .array(z.string().regex(/^[A-Za-z0-9_.-]+$/, "letters, digits, _ . - only"))
              .min(2)
              .optional()
              .describe("Names of the head's choices (every head but `agent`, e.g. [small, large])."),
          })
          .strict(),
      )
      .min(1)
      .optional()
      .describe(
        "Factored action space: one head per decision, e.g. [{name: agent}, {name: tier, choices: [small, large]}]. Absent = one agent head. macpo / mappo-lagrangian train one network per head; the other trainers one categorical over the joint actions.",
      ),
  })
  .strict()
  .describe("Policy network.");

const reinforceSchema = z
  .object({
    baseline: z
      .enum(["none", "mean", "value"])
      .default("value")
      .describe(
        "Baseline subtracted from G_t: none (the DOA code), mean of the batch's returns, or a learned value network (default: the variance reduction the random CMDP family needed).",
      ),
    normalizeReturns: z.boolean().default(false).describe("Standardise G_t over the batch before the baseline."),
    lr: z
      .number()
      .positive()
      .nullable()
      .default(0.003)
      .describe(
        "REINFORCE's own policy learning rate; null = algo.lr; left out: algo.lr if the config sets it, else 0.003 (docs/config-notes.md).",
      ),
  })
  .strict()
  .describe("REINFORCE options.");

const ppoSchema = z
  .object({
    clipRatio: z.number().positive().default(0.2).describe("PPO clip range ε of the ratio π/π_old (Schulman et al. 2017, eq. 7)."),
    targetKl: z
      .number()
      .positive()
      .nullable()
      .default(0.02)
      .describe("KL early stop: stop the epochs once a minibatch's approx KL exceeds 1.5·targetKl (SB3's rule); null = off."),
  })
  .strict()
  .describe("The clipped surrogate and its KL early stop (ppo, ppo-lagrangian, p3o, mappo-lagrangian).");

const criticSchema = z
  .object({
    lr: z
      .number()
      .positive()
      .default(1e-3)
      .describe("Adam learning rate of the reward and cost critics (reinforce: of its value baseline)."),
    hidden: hidden.default([64, 64]),
    gaeLambda: z
      .number()
      .min(0)
      .max(1)
      .default(1)
      .describe("GAE λ of the reward advantage (Schulman et al. 2016); default 1: Monte-Carlo advantages (docs/config-notes.md)."),
    costGamma: z.number().min(0).max(1).nullable().default(null).describe("Discount γ_C of the cost signal; null = reward.gamma."),
    costGaeLambda: z.number().min(0).max(1).nullable().default(null).describe("GAE λ of the cost advantage; null = gaeLambda."),
    normalizeAdvantage: z
      .boolean()
      .default(false)
      .describe(
        "Standardise the reward advantage over the batch; default false keeps A_R and A_C in reward and cost units (docs/config-notes.md).",
      ),
    standardizeCostAdvantage: z
      .boolean()
      .default(false)
      .describe("Standardise the cost advantage too (default: only centred, so its scale stays that of the cost)."),
    costWindow: positiveInt()
      .nullable()
      .default(null)
      .describe(
        "J_C = mean undiscounted episode cost over this many most recent episodes; null = the latest batch's (train.episodesPerUpdate).",
      ),
  })
  .strict()
  .describe(
    "Reward and cost critics, GAE and the advantages and J_C computed from them (every trainer but reinforce; reinforce's value baseline uses lr and hidden).",
  );

const pidSchema = z
  .object({
    kp: z.number().nonnegative().default(0.1).describe("Proportional gain K_P (Stooke et al. 2020, Alg. 2)."),
    ki: z.number().nonnegative().default(0.01).describe("Integral gain K_I."),
    kd: z.number().nonnegative().default(0.01).describe("Derivative gain K_D."),
    dDelay: positiveInt().default(10).describe("Delay (updates) of the derivative term: D uses J_C now minus J_C dDelay updates ago."),
    pEmaAlpha: z.number().min(0).max(1).default(0.95).describe("EMA smoothing of the proportional error (0 = no smoothing)."),
    dEmaAlpha: z.number().min(0).max(1).default(0.95).describe("EMA smoothing of the cost used by the derivative term."),
  })
  .strict()
  .describe("PID-Lagrangian gains (OmniSafe's PIDLagrangian).");

const dualSchema = z
  .object({
    lambdaInit: z
      .number()
      .nonnegative()
      .nullable()
      .default(null)
      .describe(
        "Initial Lagrange multiplier λ (of the cost in budget units, c/d); null = calibrated on the first batch: λ_0 = d·cov(A_R, A_C)/var(A_C), the reward the initial policy's actions buy per unit of cost (the scale of the LP's λ*·d).",
      ),
    lambdaLr: z
      .number()
      .positive()
      .default(0.3)
      .describe(
        "Step size η of the dual update on the relative violation (J_C − d)/d: plain λ ← clamp(λ + η·(J_C − d)/d, 0, λ_max); pi: the integral gain in units u = max(λ_0, I); adam: the Adam learning rate.",
      ),
    lambdaMax: z.number().positive().default(100).describe("Upper clamp λ_max of the multiplier."),
    kp: z.number().nonnegative().default(1).describe("pi: proportional gain K_P, λ = I + K_P·u·(J_C − d)/d with u = max(λ_0, I)."),
    optimizer: z
      .enum(["plain", "adam", "pid", "pi"])
      .default("pi")
      .describe(
        "Dual optimiser of λ: plain (projected ascent), adam (OmniSafe), pid (Stooke et al. 2020), pi (scale-free PI controller; docs/config-notes.md).",
      ),
    pid: pidSchema.default(pidSchema.parse({})),
  })
  .strict()
  .describe("The Lagrange multiplier λ and its optimiser (ppo-lagrangian, mappo-lagrangian; p3o's kappaSchedule dual).");

const p3oSchema = z
  .object({
    kappa: z
      .number()
      .nonnegative()
      .default(1)
      .describe(
        "Penalty factor κ of the exact penalty (Zhang et al. 2022, eq. 11) on the cost in budget units; must exceed the multiplier the constraint needs. κ of the fixed schedule, the start of the linear and adaptive ones (dual ignores it).",
      ),
    kappaSchedule: z
      .enum(["dual", "adaptive", "fixed", "linear"])
      .default("dual")
      .describe("κ over training: dual (κ = kappaFactor·λ̂, a running dual estimate), adaptive, fixed or linear (docs/config-notes.md)."),
    kappaRate: z
      .number()
      .positive()
      .default(0.5)
      .describe("Rate η_κ of the adaptive κ (log-κ change per update when the penalty is always or never active: ±η_κ/2)."),
    kappaMin: z.number().positive().default(0.01).describe("Lower bound of the adaptive and dual κ."),
    kappaFactor: z
      .number()
      .positive()
      .default(2)
      .describe(
        "dual: κ = kappaFactor·λ̂, λ̂ a running dual estimate (algo.dual's optimiser on (J_C − d)/d, calibrated on the first batch).",
      ),
    kappaMax: z.number().positive().default(1000).describe("Upper bound of the adaptive and dual κ."),
    kappaFinal: z.number().nonnegative().default(20).describe("κ at the end of a linear schedule."),
    kappaUpdates: positiveInt().default(100).describe("Length (updates) of the linear κ ramp."),
    clipCostSurrogate: z
      .boolean()
      .default(true)
      .describe("true: pessimistic clipped cost surrogate E[max(ρ·A_C, clip(ρ)·A_C)] (the paper); false: plain E[ρ·A_C] (OmniSafe)."),
    constraintScale: z
      .enum(["one-minus-gamma", "one", "inverse-episode-length"])
      .default("inverse-episode-length")
      .describe(
        "Factor s in max(0, L_C + s·(J_C − d)): one-minus-gamma = (1 − γ_C) (the paper, for discounted infinite horizons; 0 when γ_C = 1), one = 1 (OmniSafe), inverse-episode-length = 1 / mean episode length of the batch (puts the per-episode J_C − d on the per-step scale of L_C).",
      ),
  })
  .strict()
  .describe("P3O options.");

const cpoSchema = z
  .object({
    targetKl: z
      .number()
      .positive()
      .default(0.02)
      .describe("Trust region δ: an accepted step keeps the mean KL(π_old‖π) ≤ δ (Achiam et al. 2017, eq. 10)."),
    targetKlFinal: z
      .number()
      .positive()
      .nullable()
      .default(null)
      .describe(
        "If set, δ decays linearly from targetKl to this value over train.updates (the trust-region analogue of annealLr: the final policy settles at the constraint boundary instead of oscillating around it); null = constant δ.",
      ),
    cgIters: positiveInt().default(10).describe("Conjugate-gradient iterations for H⁻¹g and H⁻¹b."),
    cgDamping: z
      .number()
      .nonnegative()
      .default(0.01)
      .describe("Damping ε of the Fisher-vector product: (H + εI)·v (0.1 drowns the small curvature of rarely visited states)."),
    fvp: z
      .enum(["analytic", "finite-difference"])
      .default("analytic")
      .describe(
        "Fisher-vector product: analytic categorical Fisher Jᵀ(diag p − ppᵀ)J·v (J·v by exact forward-mode propagation, Jᵀu by one gradient), or a central finite difference of two gradients of the mean KL.",
      ),
    fdEpsilon: z.number().positive().default(1e-3).describe("Step of the finite-difference Fisher-vector product (relative to |v|)."),
    lineSearchSteps: positiveInt().default(15).describe("Backtracking line-search trials (step fractions 1, decay, decay², …)."),
    lineSearchDecay: z.number().gt(0).lt(1).default(0.8).describe("Backtracking factor of the line search."),
    constraintScale: z
      .enum(["auto", "one-minus-gamma", "one", "inverse-episode-length"])
      .default("auto")
      .describe(
        "Factor s of the constraint value c = s·(J_C − d): one-minus-gamma = (1 − γ_C) (the reference code); one = 1; inverse-episode-length = 1/mean episode length (the undiscounted episodic form); auto = (1 − γ_C) when γ_C < 1, else 1/mean episode length ((1 − γ_C) would be 0).",
      ),
  })
  .strict()
  .describe("The CPO trust-region step (cpo, macpo).");

const macpoSchema = z
  .object({
    step: z
      .enum(["joint", "sequential"])
      .default("joint")
      .describe(
        "macpo's update: joint = one CPO step over every head's parameters; sequential = one CPO step per head in algo.headOrder (Gu et al. 2021; docs/config-notes.md).",
      ),
  })
  .strict()
  .describe("macpo's step over the heads.");

/**
 * The trainers, one line each: whether it solves the CMDP (task reward, cost kept separate, env.budget as a
 * constraint) and its defaults for the fields a config may leave out, `train.updates` and `algo.entropyCoef`.
 * A new trainer adds its line here, its option block under `algo` (below) and its builder in src/run/build.ts.
 *
 * train.updates, measured on the random CMDP family with 128 episodes per update: 300 for the first-order
 * trainers — P3O's penalty and PPO's penalised objective are still improving at 150 (family seed 2, paired: P3O
 * 72% → 90% of runs within 0.97·J_R* and 1.03·d, PPO 89% → 96%); PPO-Lagrangian's misses at 150 were policies
 * within the budget short of J_R* (19 of the 21 runs of the 7 problems it missed on family seed 3 pass at 300);
 * REINFORCE runs 300 at its learning rate 0.003 (algo.reinforce.lr), whose smaller steps keep it from turning
 * deterministic on the first path it likes (family seed 2, paired: 87% → 92% of runs within 0.97 of the
 * penalised optimum). CPO, MACPO and MAPPO-Lagrangian keep 150 (CPO: 87% → 85% at 300 on family seed 2;
 * MAPPO-Lagrangian 87% → 82%). The tables are in docs/benchmarks.md.
 *
 * algo.entropyCoef: 0.05 for the first-order trainers (a policy that collapses early never samples the actions
 * a multiplier or a later reward would favour); 0.01 for CPO and MACPO, whose trust-region step has no
 * multiplier to integrate the bonus's pull away — at 0.05 the bonus bought entropy with the budget (two-head
 * family seed 3: 5 of 7 final policies above 1.03·d, at 0.01 none).
 */
export const trainerTable = {
  reinforce: { constrained: false, updates: 300, entropyCoef: 0.05 },
  ppo: { constrained: false, updates: 300, entropyCoef: 0.05 },
  "ppo-lagrangian": { constrained: true, updates: 300, entropyCoef: 0.05 },
  p3o: { constrained: true, updates: 300, entropyCoef: 0.05 },
  cpo: { constrained: true, updates: 150, entropyCoef: 0.01 },
  macpo: { constrained: true, updates: 150, entropyCoef: 0.01 },
  "mappo-lagrangian": { constrained: true, updates: 150, entropyCoef: 0.05 },
} as const satisfies Record<string, { constrained: boolean; updates: number; entropyCoef: number }>;

export type AlgoName = keyof typeof trainerTable;
export const algoNames = Object.keys(trainerTable) as [AlgoName, ...AlgoName[]];
/** Trainers that solve the CMDP (task reward, cost kept separate, budget as a constraint). */
export const constrainedAlgos: readonly string[] = algoNames.filter((n) => trainerTable[n].constrained);

const algoSchema = z
  .object({
    name: z
      .enum(algoNames)
      .default("reinforce")
      .describe(
        "Trainer: reinforce and ppo optimise the configured (penalised) reward; ppo-lagrangian, p3o, cpo, macpo and mappo-lagrangian the CMDP with env.budget (macpo / mappo-lagrangian: one policy per head of policy.heads).",
      ),
    lr: z.number().positive().default(1e-3).describe("Adam learning rate of the policy."),
    adamEps: z.number().positive().default(1e-8).describe("Adam ε (torch's default)."),
    maxGradNorm: z.number().positive().nullable().default(0.5).describe("Global-norm gradient clip (null = off; 0.5 as CleanRL and SB3)."),
    entropyCoef: z
      .number()
      .nonnegative()
      .optional()
      .describe(
        "Entropy bonus β, decaying to entropyCoefFinal; left out: 0.01 for cpo and macpo, 0.05 for the others (docs/config-notes.md).",
      ),
    entropyCoefFinal: z
      .number()
      .nonnegative()
      .nullable()
      .default(0)
      .describe("If set, β decays linearly from entropyCoef to this over train.updates (explore early, settle late); null = constant β."),
    averagePolicy: z
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe(
        "Share of the last updates whose policies are averaged into the final (checkpointed, evaluated, served) policy; 0 = the last iterate (docs/config-notes.md).",
      ),
    annealLr: z
      .boolean()
      .default(false)
      .describe(
        "Decay the policy and critic learning rates linearly to 0 over train.updates (CleanRL's anneal_lr); off by default (docs/config-notes.md).",
      ),
    epochs: positiveInt()
      .default(4)
      .describe(
        "Passes over each rollout batch (policy epochs of ppo, ppo-lagrangian, p3o, mappo-lagrangian; critic epochs of every trainer with critics).",
      ),
    minibatches: positiveInt().default(2).describe("Minibatches per epoch (rows are shuffled with the trainer's RNG stream)."),
    headOrder: z
      .enum(["random", "fixed"])
      .default("random")
      .describe(
        "Order in which mappo-lagrangian and macpo's sequential step update the heads: random = a fresh seeded permutation every update (HAPPO/MACPO); fixed = policy.heads order.",
      ),
    critic: criticSchema.default(criticSchema.parse({})),
    reinforce: reinforceSchema.default(reinforceSchema.parse({})),
    ppo: ppoSchema.default(ppoSchema.parse({})),
    dual: dualSchema.default(dualSchema.parse({})),
    p3o: p3oSchema.default(p3oSchema.parse({})),
    cpo: cpoSchema.default(cpoSchema.parse({})),
    macpo: macpoSchema.default(macpoSchema.parse({})),
  })
  .strict()
  .describe("Training algorithm.");

const trainSchema = z
  .object({
    updates: positiveInt()
      .optional()
      .describe(
        "Number of policy updates; left out: 300 for reinforce, ppo, ppo-lagrangian and p3o, 150 for cpo, macpo and mappo-lagrangian (docs/config-notes.md).",
      ),
    episodesPerUpdate: positiveInt().default(128).describe("Episodes collected (in lockstep) per update."),
    checkpointEvery: positiveInt()
      .default(10)
      .describe("Save a checkpoint every N updates (and always at the end); a resumed run redoes at most N−1 updates, exactly."),
    keepCheckpoints: positiveInt().default(3).describe("How many recent checkpoints to keep."),
  })
  .strict()
  .describe("Training loop.");

const logSchema = z
  .object({
    episodeSample: z.number().int().min(-1).default(2).describe("Trajectories per update written to episodes.jsonl (-1 = all, 0 = none)."),
    plot: z.boolean().default(true).describe("Write plots/learning-curve.png at the end of the run."),
    tensorboard: z
      .boolean()
      .default(true)
      .describe(
        "Write TensorBoard event files to the run folder's tb/ as the run goes: every metrics column, per update (docs/tracking.md).",
      ),
  })
  .strict()
  .describe("What the run writes besides metrics.csv.");

const knobSchema = z
  .object({
    name: z
      .enum(["lambda", "budget"])
      .describe(
        "lambda: the cost penalty λ of the reward R = r − λ·c/costUnit is drawn per episode; budget: a target mean episode cost b is drawn per episode and λ(b) comes from one Lagrange multiplier per budget bin, raised while episodes of that bin overspend.",
      ),
    scale: z
      .enum(["log", "linear"])
      .default("log")
      .describe(
        "How knob values are spread over [min, max] in training draws, the policy's input and curve sweeps: log = the same share of episodes for every decade (the λ where decisions change depends on the data, so no decade is starved); linear = evenly.",
      ),
    min: z
      .number()
      .nonnegative()
      .nullable()
      .default(null)
      .describe("Smallest knob value (null = auto: λ max/100 on the log scale, else 0; budget: the mean cost of the cheapest agent)."),
    max: z
      .number()
      .positive()
      .nullable()
      .default(null)
      .describe(
        "Largest knob value (null = auto: λ 1.25·(successBonus − failurePenalty), past which no call pays; budget: the mean cost of calling every agent once).",
      ),
    costUnit: z
      .union([z.literal("auto"), z.number().positive()])
      .default("auto")
      .describe(
        "The cost unit λ and budgets are measured in: auto = the mean cost of one call of the most expensive agent over the training items (recorded tasks; 1 otherwise).",
      ),
    bins: positiveInt().default(8).describe("budget: number of budget bins, each with its own Lagrange multiplier."),
    lambdaLr: z
      .number()
      .positive()
      .default(0.5)
      .describe("budget: step of the multipliers' update λ_g ← clamp(λ_g + lr·(J_C,g − b_g), 0, λ_max), costs in costUnits."),
  })
  .strict()
  .describe(
    "Budget-conditioned policy: the cost knob is drawn uniformly per training episode and fed to the policy, so one trained policy covers the whole cost–quality curve; pick the operating point at run time (`orchestrate --lambda/--budget`, `curve` sweeps it). Trainers reinforce and ppo; reward.costPenalty must be 0.",
  );

export const configSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/, "letters, digits, _ . - only")
      .describe("Experiment name; runs go to runs/<name>/<timestamp>-seed<k>/."),
    description: z.string().optional().describe("Free text."),
    seed: z.number().int().nonnegative().default(0).describe("The one seed behind every random choice."),
    backend: z.enum(backendNames).default("auto").describe("tfjs backend: auto picks node → wasm → cpu."),
    agents: z
      .array(z.union([z.string(), z.record(z.string(), z.unknown())]))
      .min(2)
      .describe("Agent pool in action order: names (agents/<name>.yaml), paths, or inline definitions."),
    tasks: tasksSchema,
    llm: llmSchema.optional(),
    env: envSchema,
    reward: rewardSchema.default(rewardSchema.parse({})),
    encoder: encoderSchema.default({ name: "doa-md5" }),
    policy: policySchema.default(policySchema.parse({})),
    algo: algoSchema.default(algoSchema.parse({})),
    train: trainSchema.default(trainSchema.parse({})),
    log: logSchema.default(logSchema.parse({})),
    knob: knobSchema.nullable().optional(),
  })
  .strict();

export type RawConfig = z.infer<typeof configSchema>;
/** A validated config whose agents are resolved to inline definitions (what config.yaml holds). */
export type Config = Omit<RawConfig, "agents" | "train" | "algo"> & {
  agents: AgentDefinition[];
  /** train.updates resolved: the config's, or the trainer's line of `trainerTable`. */
  train: RawConfig["train"] & { updates: number };
  /** algo.entropyCoef resolved: the config's, or the trainer's line of `trainerTable`. */
  algo: RawConfig["algo"] & { entropyCoef: number };
};

export { agentDefinitionSchema };
