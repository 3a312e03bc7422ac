#!/usr/bin/env bash
# GPU check of the hot paths (issue 22): times P1 (orthogonal projector vs nn.Linear),
# P5 (whitening vs its FLOP floor) and the VKD loss on a device, then runs the
# pure-torch unit tests of the projector maths, whitening and the loss functions there.
#
# Made for a GPU machine with Python + torch + nvcc but NO OpenMMLab packages and no
# network: nothing here imports MMCV / MMEngine / MMRazor (tools/benchmark/pure_torch.py
# loads mmkd_ext's pure-torch modules without the package __init__ and blocks OpenMMLab
# imports, so a run on this machine proves the same). The only extra package is pytest,
# installed from carried wheels (into a scratch folder, the system is left alone).
#
# Usage (from anywhere; paths are resolved from this file):
#   tools/benchmark/gpu_check.sh --make-wheels DIR     # here, with PyPI: pytest wheels
#   tools/benchmark/gpu_check.sh [--device cuda|cpu] [--wheels DIR] [--quick] [--out DIR]
#     --device  cuda (default when torch sees a GPU) or cpu (1 thread, CPU time)
#     --wheels  folder of wheels to install pytest from when it is missing
#     --quick   5 repeats and fewer shapes (the CPU test uses it)
#     --out     folder for gpu_check.json (the ratios), timings.txt and pytest.txt
#   Environment: PYTHON (default python3), WHEEL_PYTHON_VERSION for --make-wheels
#   (default 3.12, the GPU machine's).
# Exit status: 0 when the timings ran and every test passed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PY="${PYTHON:-python3}"
DEVICE=""
WHEELS=""
QUICK=""
OUT=""
MAKE_WHEELS=""
TESTS=(
    tests/test_models/test_utils/test_orthogonal.py
    tests/test_models/test_utils/test_whitening.py
    tests/test_models/test_losses/test_loss_functional.py
)

die() { echo "gpu_check.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --device) DEVICE="${2:?--device needs cuda or cpu}"; shift 2 ;;
        --wheels) WHEELS="${2:?--wheels needs a folder}"; shift 2 ;;
        --out) OUT="${2:?--out needs a folder}"; shift 2 ;;
        --quick) QUICK="--quick"; shift ;;
        --make-wheels) MAKE_WHEELS="${2:?--make-wheels needs a folder}"; shift 2 ;;
        -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done

if [ -n "$MAKE_WHEELS" ]; then
    # pure-Python wheels of the pytest this repository tests with, for the GPU machine's
    # Python (pytest and its dependencies are all py3-none-any)
    ver="$("$PY" -c 'import pytest; print(pytest.__version__)' 2>/dev/null || true)"
    spec="pytest${ver:+==$ver}"
    mkdir -p "$MAKE_WHEELS"
    "$PY" -m pip download --only-binary=:all: --dest "$MAKE_WHEELS" \
        --python-version "${WHEEL_PYTHON_VERSION:-3.12}" "$spec"
    echo "gpu_check.sh: wheels for $spec in $MAKE_WHEELS:"; ls "$MAKE_WHEELS"
    exit 0
fi

case "$DEVICE" in
    ''|cpu|cuda) ;;
    *) die "--device must be cuda or cpu, got '$DEVICE'" ;;
esac
CUDA_OK="$("$PY" -c 'import torch; print(int(torch.cuda.is_available()))' 2>/dev/null)" \
    || die "$PY cannot import torch (set PYTHON)"
if [ -z "$DEVICE" ]; then
    DEVICE="$([ "$CUDA_OK" = 1 ] && echo cuda || echo cpu)"
fi
if [ "$DEVICE" = cuda ] && [ "$CUDA_OK" != 1 ]; then
    die "--device cuda but torch.cuda.is_available() is False"
fi
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT

# pytest: already there, or from the carried wheels into a scratch folder
SITE=""
if ! "$PY" -c 'import pytest' 2>/dev/null; then
    [ -n "$WHEELS" ] || die "pytest is not installed: pass --wheels DIR (made with --make-wheels DIR on a machine with PyPI)"
    [ -d "$WHEELS" ] || die "--wheels $WHEELS: no such folder"
    SITE="$SCRATCH/site"
    "$PY" -m pip install --quiet --no-index --find-links "$WHEELS" --target "$SITE" pytest \
        || die "pip could not install pytest from $WHEELS"
fi

echo "== gpu_check: $DEVICE, $("$PY" -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__)'), $(nproc) CPUs; output in $OUT"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
command -v nvcc >/dev/null && nvcc --version | tail -1 || true
uptime || true

cd "$REPO"
export PYTHONPATH="$HERE${SITE:+:$SITE}"
export PYTHONDONTWRITEBYTECODE=1
if [ "$DEVICE" = cpu ]; then  # one thread, as the CPU numbers of docs/vkd.md
    export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
fi
status=0
echo "== timings"
"$PY" "$HERE/gpu_check.py" --device "$DEVICE" $QUICK --json "$OUT/gpu_check.json" \
    2>&1 | tee "$OUT/timings.txt" || status=1  # pipefail: the script's status

echo "== pure-torch unit tests on $DEVICE"
MMKD_TEST_DEVICE="$DEVICE" "$PY" -m pytest --noconftest -p pure_torch -q \
    -p no:cacheprovider "${TESTS[@]}" 2>&1 | tee "$OUT/pytest.txt" || status=1

echo "== gpu_check: $([ $status -eq 0 ] && echo OK || echo FAILED) ($OUT)"
exit $status
