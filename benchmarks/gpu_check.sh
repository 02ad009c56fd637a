#!/usr/bin/env bash
# One call on a lent GPU (docs/gpu-check.md): tests, throughput, the paper training loop, metrics.
#
#   benchmarks/gpu_check.sh pack                # here: fill .gpu/ (wheels, MNIST raw, AE assets)
#   benchmarks/gpu_check.sh run "$OUT"          # there: the check, files into $OUT (at most 8)
#   benchmarks/gpu_check.sh --cpu-dry-run DIR   # here: the same with tiny sizes on the CPU
#
# On the GPU machine (the GPU tool's run, carrying .gpu):  benchmarks/gpu_check.sh run "$OUT"
# It uses that machine's python3 and PyTorch; snntorch, pytorch-fid, clean-fid and this project
# come as wheels from .gpu/wheels (installed with --no-deps into a scratch folder), MNIST as the raw
# IDX files from .gpu/data, the authors' MNIST autoencoder from .gpu/assets. Extra arguments
# after the folder go to benchmarks/gpu_check.py (e.g. --fid-weights FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
PACK=.gpu
usage() { sed -n '2,6p' "$0" >&2; exit 2; }
[ $# -ge 1 ] || usage
mode=$1; shift

case "$mode" in
pack)
    : "${FSVAE_DATA_MIRROR:?set FSVAE_DATA_MIRROR (docs/data.md) to copy MNIST from}"
    : "${FSVAE_ASSET_MIRROR:?set FSVAE_ASSET_MIRROR (docs/metrics.md) for the MNIST autoencoder}"
    PY=${PYTHON:-python3}
    rm -rf "$PACK"
    mkdir -p "$PACK/wheels" "$PACK/data/MNIST/raw"
    # Wheels for the GPU machine's Python 3.12, pure Python, no dependencies (its torch,
    # numpy, scipy, ... are used). Versions as pinned in pyproject.toml.
    "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation py --platform any -d "$PACK/wheels" \
        snntorch==1.0.0 pytorch-fid==0.3.0 clean-fid==0.1.35
    # This project from a copy of the files that travel (a build leaves build/ behind).
    src=$(mktemp -d)
    git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C "$src"
    "$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$PACK/wheels" "$src"
    rm -rf "$src"
    cp "$FSVAE_DATA_MIRROR"/MANIFEST.md "$PACK/data/"
    cp "$FSVAE_DATA_MIRROR"/MNIST/raw/*-ubyte.gz "$PACK/data/MNIST/raw/"
    ae=github.com/kamata1729/FullySpikingVAE/raw/ffadb3d4bf4fe02927acb241ac11e6ad693c22dc/metrics
    for f in stat_checkpoints/mnist_64.pth stats/mnist_test_64.npz; do
        mkdir -p "$PACK/assets/$ae/$(dirname $f)"
        cp "$FSVAE_ASSET_MIRROR/$ae/$f" "$PACK/assets/$ae/$f"
    done
    tree=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
    packed=$(du -sb "$PACK" | cut -f1)
    echo "gpu_check pack: $PACK $((packed / 1024)) KiB + tracked tree $((tree / 1024)) KiB" \
        "= $(((packed + tree) / 1048576)) MiB of the 64 MiB a call carries"
    ls -l "$PACK/wheels"
    ;;
run | --cpu-dry-run)
    [ $# -ge 1 ] || usage
    out=$1; shift
    if [ -e "$out" ] && { [ ! -d "$out" ] || [ -n "$(ls -A "$out")" ]; }; then
        echo "gpu_check: $out must be an empty folder or not exist" >&2; exit 2
    fi
    mkdir -p "$out"
    exec > >(tee "$out/gpu_check.log") 2>&1
    export PYTHONUNBUFFERED=1 DVC_NO_ANALYTICS=1
    if [ "$mode" = run ]; then
        [ -d "$PACK/wheels" ] || { echo "gpu_check: no $PACK/wheels: run 'pack' here and carry $PACK" >&2; exit 2; }
        site=$(mktemp -d /tmp/gpu_check_site.XXXXXX)
        python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
            --target "$site" "$PACK"/wheels/*.whl
        # The tree's code first (it is what was sent); the wheel adds the installed
        # distribution (its version in every record) and the packages torch lacks.
        export PYTHONPATH="$PWD:$site" PATH="$site/bin:$PATH"
        export FSVAE_DATA_MIRROR="$PWD/$PACK/data" FSVAE_ASSET_MIRROR="$PWD/$PACK/assets"
        nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
        # Every part stops at its own budget (docs/gpu-check.md); this bounds the whole call
        # at 8 minutes whatever happens (files already written stay in $out).
        timeout "${GPU_CHECK_LIMIT_S:-470}" python3 benchmarks/gpu_check.py "$out" "$@"
    else
        export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
        "${PYTHON:-python}" benchmarks/gpu_check.py --cpu-dry-run "$out" "$@"
    fi
    ;;
*) usage ;;
esac
