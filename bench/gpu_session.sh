#!/usr/bin/env bash
# One GPU session's measurements as one command, for a GPU host with no network
# and a short lease. Each step's full output goes to $OUT/<step>.log (at most
# eight files, as a device machine sends back); its RESULT, PASS and FAIL lines are
# echoed as it ends. Steps run in order of what is least known, and each gets at
# most what is left of GPU_SESSION_SECONDS, so a slow one cuts the later ones short
# instead of the whole run.
#
#   text-engine-8way  bench/concurrency.py, engine text: aggregate tokens/s at 1, 2,
#                     4 and 8 clients (the issue's 5x at 8 streams on a GPU)
#   engine            bench/engine.py: one job through GenHub against the engine
#                     streamed directly, then 8 direct streams
#   musicgen          bench/gpu_smoke.py --only musicgen: the EnCodec decode timed
#                     apart from the decoder's steps
#   image             bench/image.py, SD 1.5's shape at 512², 25 steps, batches 1 and 4
#   audio             bench/audio.py, MusicGen small, 5 s
#   image-fp16        bench/image.py at batch 1 in float16, against image's bfloat16
#
# On the device machine, from the repository root, with .device (scripts/device-bundle,
# run here first) carried:
#
#   bash bench/gpu_session.sh
#
# GPU_SESSION_TINY=1 runs the same steps with the tiny models and this checkout's
# .venv, on any machine: the plumbing, not the figures.
set -uo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-var/gpu-session}
BUDGET=${GPU_SESSION_SECONDS:-540}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 PIP_NO_INDEX=1

if [ -n "${GPU_SESSION_TINY:-}" ]; then
  PY=.venv/bin/python
  TEXT=(--text-model tiny) IMAGE=(--model tiny --size 64 --steps 4) AUDIO=(--model tiny --duration 1)
  SMOKE=(--tiny-cpu)
else
  # The host's own python3 holds its CUDA torch; GenHub's other pins go beside it,
  # built for its Python (scripts/device-bundle).
  PY=python3
  python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' \
    || { echo "the bundle's wheels are for Python 3.12; python3 here is $(python3 -V)"; exit 1; }
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .device/wheels/*.whl || exit 1
  export PYTHONPATH=/tmp/site PATH="$PWD/.device/bin:$PATH"
  TEXT=(--text-model llama-1b) IMAGE=(--model sd15 --size 512 --steps 25) AUDIO=(--model musicgen-small --duration 5)
  SMOKE=()
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
fi
"$PY" -c 'import torch, transformers, diffusers; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), "transformers", transformers.__version__, "diffusers", diffusers.__version__)' || exit 1

step() {
  local name=$1 wanted=$2
  shift 2
  local left=$((BUDGET - SECONDS - 5))
  local limit=$((wanted < left ? wanted : left))
  if [ "$limit" -lt 30 ]; then
    echo "=== $name: skipped, ${left}s left"
    return
  fi
  echo "=== $name (at ${SECONDS}s, up to ${limit}s)"
  timeout --kill-after=10 "$limit" "$PY" "$@" > "$OUT/$name.log" 2>&1
  local status=$?
  grep -E '^(RESULT|PASS|FAIL)' "$OUT/$name.log"
  case $status in 124 | 137) echo "($name stopped at its ${limit}s)" ;; esac
  echo "=== $name: exit $status after ${SECONDS}s"
}

# Wanted: 490 s, against 540 less the install; the last steps are the first cut.
step text-engine-8way 120 bench/concurrency.py --paths text-engine "${TEXT[@]}" --jobs 2
step engine 100 bench/engine.py "${TEXT[@]}" --rounds 3 --direct-clients 8
step musicgen 50 bench/gpu_smoke.py --only musicgen --quick "${SMOKE[@]}"
step image 100 bench/image.py "${IMAGE[@]}" --rounds 7 --warmups 3 --batches 1,4 --dtype bfloat16
step audio 70 bench/audio.py "${AUDIO[@]}" --rounds 7 --warmups 3
step image-fp16 50 bench/image.py "${IMAGE[@]}" --rounds 5 --warmups 3 --batches 1 --dtype float16
echo "done in ${SECONDS}s"
