#!/usr/bin/env bash
# Benchmark on a CUDA GPU: fp32 eager, then bf16 autocast, then autocast + torch.compile.
# Usage: benchmarks/run_gpu.sh [extra bench_models.py flags]   (from the repository root)
set -euo pipefail
PY=${PYTHON:-.venv/bin/python}
"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device')"
OUT=benchmarks/results
"$PY" benchmarks/bench_models.py --device cuda --batch 250 --threads 4 --out "$OUT/gpu.json" "$@"
"$PY" benchmarks/bench_models.py --device cuda --batch 250 --threads 4 --amp \
  --memory-batch 0 --out "$OUT/gpu_amp.json" "$@"
"$PY" benchmarks/bench_models.py --device cuda --batch 250 --threads 4 --amp --compile \
  --phases train --memory-batch 0 --out "$OUT/gpu_amp_compile.json" "$@"
