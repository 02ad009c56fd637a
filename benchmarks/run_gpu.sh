#!/usr/bin/env bash
# Benchmark on a CUDA GPU: the paper profile's MNIST FSVAE trained through the training loop
# in both posterior modes, prefix (the paper profile's) and stream (images/s and the
# extrapolated 150-epoch time of each), then bench_models.py
# fp32 eager, bf16 autocast, and autocast + torch.compile. Sized for one 10-minute call on an
# H200. Needs prepared MNIST in benchmarks/.cache/prepared (or $FSVAE_DATA_MIRROR to make it).
# Usage: benchmarks/run_gpu.sh [extra bench_models.py flags]   (from the repository root)
# STREAM_VS_PREFIX_EVIDENCE=1 also runs the full outcome evidence of issue 10 (6 runs of 300
# steps + evaluations; needs $FSVAE_ASSET_MIRROR and the FID weights; not timed on a GPU yet),
# written beside the CPU evidence (stream_vs_prefix.json), not over it.
set -euo pipefail
PY=${PYTHON:-.venv/bin/python}
if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "run_gpu.sh: no CUDA device (torch.cuda.is_available() is False), nothing measured." \
    "On CPU: $PY benchmarks/bench_models.py, and" \
    "$PY benchmarks/stream_vs_prefix.py --device cpu --threads 1" >&2
  exit 1
fi
OUT=benchmarks/results
mkdir -p "$OUT"
# 60000 / 250 = 240 steps per epoch; 40 steps per mode, the first 10 (warm-up) left out of the
# timing. Not yet timed on a GPU: sized from the step cost on CPU (a few s at 1 thread).
"$PY" benchmarks/stream_vs_prefix.py --device cuda --batch 250 --T 16 --steps 40 --warmup 10 \
  --seeds 0 --metrics none --no-progress --out "$OUT/gpu_train_modes.json" \
  | tee "$OUT/gpu_train_modes.txt"
if [ "${STREAM_VS_PREFIX_EVIDENCE:-0}" = 1 ]; then
  "$PY" benchmarks/stream_vs_prefix.py --device cuda --no-progress \
    --out "$OUT/gpu_stream_vs_prefix.json" | tee "$OUT/gpu_stream_vs_prefix.txt"
fi
"$PY" benchmarks/bench_models.py --device cuda --batch 250 --threads 4 --out "$OUT/gpu.json" "$@"
"$PY" benchmarks/bench_models.py --device cuda --batch 250 --threads 4 --amp \
  --memory-batch 0 --out "$OUT/gpu_amp.json" "$@"
"$PY" benchmarks/bench_models.py --device cuda --batch 250 --threads 4 --amp --compile \
  --phases train --memory-batch 0 --out "$OUT/gpu_amp_compile.json" "$@"
