#!/usr/bin/env bash
# Reproducible install of the pinned OpenMMLab stack into .venv (called by `make install`).
#
# Idempotent: every step checks whether its result is already there and skips itself.
# Variables (environment or `make VAR=...`):
#   PYTHON          interpreter used to create the venv          (default: python3.11)
#   VENV            virtual environment folder                    (default: .venv)
#   TORCH_PACKAGES  the torch pair to install                     (default: torch==2.14.1 torchvision==0.29.1)
#                   set TORCH_PACKAGES=skip to keep a torch you installed into $VENV yourself
#   TORCH_INDEX_URL extra index for torch (e.g. a CUDA wheel index); empty by default
#   MMKD_WHEELHOUSE where built mmcv wheels are kept, keyed by torch (default: ~/.cache/mmkd_ext/wheelhouse)
#   MAX_JOBS        parallel compile jobs for mmcv                (default: number of cores)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PYTHON=${PYTHON:-python3.11}
VENV=${VENV:-.venv}
TORCH_PACKAGES=${TORCH_PACKAGES:-"torch==2.14.1 torchvision==0.29.1"}
TORCH_INDEX_URL=${TORCH_INDEX_URL:-}
MMKD_WHEELHOUSE=${MMKD_WHEELHOUSE:-$HOME/.cache/mmkd_ext/wheelhouse}
MMCV_VERSION=2.1.0
export MAX_JOBS=${MAX_JOBS:-$(nproc)}
export PIP_DISABLE_PIP_VERSION_CHECK=1

T0=$(date +%s)
STEP_T=$T0
step() { STEP_T=$(date +%s); echo "==> [install] $*"; }
done_step() { local now; now=$(date +%s); echo "    done in $((now - STEP_T)) s (total $((now - T0)) s)"; }
die() { echo "install_stack: ERROR: $*" >&2; exit 1; }

case "$VENV" in /*) ;; *) VENV="$ROOT/$VENV" ;; esac
PY="$VENV/bin/python"
PIP="pip_quiet"
# pip as configured on some machines warns about every missing local index folder;
# keep the real messages only.
pip_quiet() {
  "$PY" -m pip "$@" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
}

# 1. virtual environment
step "virtual environment $VENV ($PYTHON)"
if [ -x "$PY" ] && "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "    exists"
else
  command -v "$PYTHON" >/dev/null || die "PYTHON=$PYTHON not found; Python 3.11 is required"
  "$PYTHON" -m venv "$VENV"
  pip_quiet install -q --upgrade pip
fi
done_step

# 2. torch
step "torch ($TORCH_PACKAGES)"
if [ "$TORCH_PACKAGES" = "skip" ]; then
  "$PY" -c 'import torch, torchvision' 2>/dev/null || die "TORCH_PACKAGES=skip but torch/torchvision do not import in $VENV"
  echo "    keeping the torch already in $VENV"
else
  need=0
  for spec in $TORCH_PACKAGES; do
    name=${spec%%[=<>]*}; want=${spec#*==}
    have=$("$PY" -c "import importlib.metadata as m; print(m.version('$name'))" 2>/dev/null || true)
    if [ "$spec" = "$name" ]; then [ -n "$have" ] || need=1
    else [ "${have%%+*}" = "$want" ] || need=1; fi
  done
  if [ $need = 1 ]; then
    extra=(); [ -n "$TORCH_INDEX_URL" ] && extra=(--extra-index-url "$TORCH_INDEX_URL")
    # shellcheck disable=SC2086
    $PIP install -q "${extra[@]}" $TORCH_PACKAGES
  else
    echo "    already installed"
  fi
fi
TORCH_KEY=$("$PY" - <<'PY'
import sys, torch
cuda = torch.version.cuda or 'none'
abi = int(torch._C._GLIBCXX_USE_CXX11_ABI)
print(f'py{sys.version_info[0]}{sys.version_info[1]}-torch{torch.__version__}-cuda{cuda}-abi{abi}')
PY
)
echo "    torch key: $TORCH_KEY"
done_step

# 3. build requirements
step "build requirements (requirements/build.txt)"
$PIP install -q -r requirements/build.txt
done_step

# 4. the OpenMMLab stack and the rest (none of them requires mmcv at install time)
step "runtime, test and lint requirements"
REQ_HASH=$(cat requirements/runtime.txt requirements/tests.txt requirements/lint.txt setup.py 2>/dev/null | sha256sum | cut -c1-16)
if [ -f "$VENV/.req-$REQ_HASH" ]; then
  echo "    up to date"
else
  # mmcv's own runtime requirements come in here too; mmcv itself is built in the next step.
  $PIP install -q -r requirements/runtime.txt -r requirements/tests.txt -r requirements/lint.txt \
    opencv-python addict yapf packaging Pillow pyyaml
  $PIP install -q --no-deps -e .
  rm -f "$VENV"/.req-*; touch "$VENV/.req-$REQ_HASH"
fi
done_step

# 5. mmcv, built from the sdist into a wheelhouse keyed by torch (and the CUDA flavour of the ops)
MMCV_OPS=cpu
if "$PY" -c 'import torch,sys; sys.exit(not torch.cuda.is_available())' 2>/dev/null || [ "${FORCE_CUDA:-0}" = 1 ]; then
  MMCV_OPS=cudaops
fi
KEY_DIR="$MMKD_WHEELHOUSE/mmcv-$MMCV_VERSION/$TORCH_KEY-$MMCV_OPS"
step "mmcv $MMCV_VERSION (wheelhouse $KEY_DIR)"
have_mmcv=$("$PY" -c "import importlib.metadata as m; print(m.version('mmcv'))" 2>/dev/null || true)
stamp="$VENV/.mmcv-key"
if [ "$have_mmcv" = "$MMCV_VERSION" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$KEY_DIR" ]; then
  echo "    installed, built for this torch"
else
  wheel=$(ls "$KEY_DIR"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -1 || true)
  if [ -z "$wheel" ]; then
    echo "    no wheel for this torch yet: building from the sdist (about 12 minutes on 2 cores)"
    build=$(mktemp -d)
    trap 'rm -rf "$build"' EXIT
    $PIP download -q --no-deps --no-binary :all: --no-build-isolation --no-cache-dir -d "$build" "mmcv==$MMCV_VERSION"
    tar -xzf "$build"/mmcv-"$MMCV_VERSION".tar.gz -C "$build"
    src="$build/mmcv-$MMCV_VERSION"
    # torch >= 2.10 headers need C++20; mmcv 2.1.0 hard-codes -std=c++17.
    sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"
    mkdir -p "$KEY_DIR.tmp"
    ( cd "$src" && MMCV_WITH_OPS=1 pip_quiet wheel -q --no-build-isolation --no-deps --no-cache-dir -w "$KEY_DIR.tmp" . ) \
      || die "building mmcv $MMCV_VERSION against $TORCH_KEY failed (see the compiler output above). mmcv 2.1.0 needs a C++20 compiler for torch >= 2.10; with a CUDA torch, nvcc must match torch.version.cuda."
    rm -rf "$KEY_DIR"; mv "$KEY_DIR.tmp" "$KEY_DIR"
    wheel=$(ls "$KEY_DIR"/mmcv-"$MMCV_VERSION"-*.whl | head -1)
  else
    echo "    reusing $wheel"
  fi
  $PIP install -q --no-deps --force-reinstall --no-cache-dir "$wheel"
  echo "$KEY_DIR" > "$stamp"
fi
done_step

# 6. check
step "import check"
"$PY" - <<'PY'
import torch, mmcv, mmcv.ops, mmengine, mmdet, mmpretrain
import mmkd_ext  # applies mmkd_ext.compat before MMRazor is imported
import mmrazor.models, mmrazor.engine
print(f'    torch {torch.__version__}, mmcv {mmcv.__version__}, mmengine {mmengine.__version__}, '
      f'mmdet {mmdet.__version__}, mmpretrain {mmpretrain.__version__}, mmrazor {mmrazor.__version__}')
PY
done_step
echo "==> [install] finished in $(( $(date +%s) - T0 )) s"
