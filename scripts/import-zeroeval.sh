#!/usr/bin/env bash
# Regenerates data/zeroeval/gsm8k-zeroeval.jsonl.gz from ZeroEval's raw GSM8K result files, graded with
# ZeroEval's rule (see docs/recorded-outputs.md, "Importing ZeroEval results").
#
# Usage: bash scripts/import-zeroeval.sh [RESULT_DIR]
#   RESULT_DIR: a folder of ZeroEval result files, <model>.json, e.g. result_dirs/gsm of a clone of
#   https://github.com/WildEval/ZeroEval at commit 8c1485e (all 43 models; the 17 below are imported).
#   Default: ../shared/data/zeroeval/gsm (the 17 files, copied unchanged).
set -euo pipefail
cd "$(dirname "$0")/.."
src="${1:-../shared/data/zeroeval/gsm}"
if [ ! -d "$src" ]; then
  echo "usage: bash scripts/import-zeroeval.sh RESULT_DIR   (no folder $src)" >&2
  exit 2
fi
models=(
  Meta-Llama-3.1-70B-Instruct Meta-Llama-3.1-8B-Instruct Mistral-Large-2 Mixtral-8x7B-Instruct-v0.1
  Qwen2-72B-Instruct Qwen2-7B-Instruct claude-3-5-haiku-20241022 claude-3-5-sonnet-20241022
  claude-3-haiku-20240307 command-r deepseek-v2.5-0908 gemini-1.5-flash gemma-2-2b-it gemma-2-9b-it
  gpt-3.5-turbo-0125 gpt-4o-2024-08-06 gpt-4o-mini-2024-07-18
)
[ -f dist/bin/maestro.js ] || npm run build
node dist/bin/maestro.js import zeroeval "$src" --models "$(IFS=,; echo "${models[*]}")" \
  --tokenizer cl100k_base --out data/zeroeval/gsm8k-zeroeval.jsonl.gz
