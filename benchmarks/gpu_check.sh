#!/usr/bin/env bash
# The CUDA path in one go, for the day a GPU is lent (issue 21, item 6): under 5 minutes
# on one GPU, figures printed as it goes and a summary at the end.
#   benchmarks/gpu_check.sh [OUT_DIR]          # PYTHON=... to choose the interpreter
# 1. the tests marked cuda (tests/core/test_cuda.py: bfloat16 training, the frame on
#    the GPU against the CPU's, the self-test's device line);
# 2. a short WR_FGSM training through the CLI (fgsm-studio-cli train --device cuda);
# 3. the same through the Train view's worker (benchmarks/bench_train_view.py --device cuda:
#    GUI stalls, images/s against the CLI in the same process);
# 4. training images/s, GPU against CPU, on the same digits and model;
# 5. the slider benchmark on the big networks (ResNet50, DenseNet121); the Explorer keeps
#    its models on the CPU (nothing in gui/ moves them to a GPU), so this measures the
#    lent machine's CPU cores, the figure to compare with the 2-core laptop's.
# Without a GPU it says so in one line, shows the cuda tests skip, and exits 0
# (REQUIRE_GPU=1: exit 1 instead). Each step has its own time limit.
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
OUT="${1:-$(mktemp -d /tmp/gpu-check.XXXXXX)}"
mkdir -p "$OUT"
export QT_QPA_PLATFORM=offscreen FGSM_STUDIO_HOME="$OUT/home" PYTHONUNBUFFERED=1
SUMMARY=()
start_all=$(date +%s)

step() {  # step NAME SECONDS COMMAND...: run with a limit, log to OUT, one summary line
  local name=$1 limit=$2
  shift 2
  local t0=$(date +%s) rc
  echo "== $name (limit ${limit} s)"
  timeout "$limit" "$@" 2>&1 | tee "$OUT/$name.log"
  rc=${PIPESTATUS[0]}
  local took=$(( $(date +%s) - t0 ))
  if [ "$rc" = 0 ]; then SUMMARY+=("ok    $name (${took} s)"); else SUMMARY+=("FAIL  $name: exit $rc (${took} s; $OUT/$name.log)"); fi
}

gpu=$("$PY" -c "import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')" 2>/dev/null)
echo "torch: $("$PY" -c "import torch; print(torch.__version__, 'CUDA', torch.version.cuda)")"
if [ -z "$gpu" ]; then
  echo "gpu_check: no CUDA GPU here (torch.cuda.is_available() is False): nothing measured on a GPU; the cuda tests must skip:"
  "$PY" -m pytest -q -m cuda tests/core/test_cuda.py -p no:cacheprovider 2>&1 | tail -2
  [ "${REQUIRE_GPU:-0}" = 1 ] && exit 1
  exit 0
fi
echo "GPU: $gpu"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,utilization.gpu --format=csv,noheader

step cuda-tests 120 "$PY" -m pytest -q -m cuda tests/core/test_cuda.py -p no:cacheprovider

step cli-train 90 "$PY" -m fgsm_studio.core.cli train --dataset mnist-5k --folds 0 --epochs 2 \
  --limit 3000 --eval-limit 1000 --defense wr_fgsm --device cuda --out "$OUT/cli-model.safetensors"

step train-view 120 "$PY" benchmarks/bench_train_view.py --device cuda

step images-per-s 90 "$PY" - <<'EOF'
"""WR_FGSM training images/s on the GPU against the CPU: same model, digits and batches."""
import torch

from fgsm_studio.core.data.loaders import load_dataset
from fgsm_studio.core.models.networks import build
from fgsm_studio.core.training.config import TrainConfig
from fgsm_studio.core.training.loop import run

data = load_dataset("mnist-5k").subset(range(3000))
for arch in ("small_cnn", "resnet50"):
    rates = {}
    for device in ("cuda", "cpu"):
        model = build(arch, num_classes=10, in_channels=1, image_size=28, mean=[0.13], std=[0.31])
        # ResNet50 at 28 px (stride-1 stem) is slow on a CPU: 128 images measure it
        subset = data if device == "cuda" or arch == "small_cnn" else data.subset(range(128))
        config = TrainConfig(defense="wr_fgsm", epochs=1, batch_size=64, device=device)
        rates[device] = run(model, subset, subset.subset(range(128)), config).history[-1].images_per_s
    print(f"{arch}: GPU {rates['cuda']:.0f} images/s, CPU {rates['cpu']:.0f} images/s "
          f"({rates['cuda'] / rates['cpu']:.1f}x; CPU threads {torch.get_num_threads()})")
EOF

step slider-big 150 "$PY" benchmarks/bench_explorer.py --only slider --models resnet50 --moves 100
step slider-densenet 120 "$PY" benchmarks/bench_explorer.py --only slider --models densenet121 --moves 100

echo
echo "gpu_check on $gpu: $(( $(date +%s) - start_all )) s in all; logs in $OUT"
printf '%s\n' "${SUMMARY[@]}"
printf '%s\n' "${SUMMARY[@]}" | grep -q '^FAIL' && exit 1
exit 0
