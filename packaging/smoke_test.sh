#!/usr/bin/env bash
# Smoke test of the PyInstaller bundle: build it (or take an existing build), then run
# both executables in a clean environment with no Python on PATH, no PYTHONPATH and a
# fresh home folder: --version on each, the console fgsm-studio-cli reading the bundled
# model cards (resources), --self-test and --screenshot headless, and the window's
# one-sentence refusal where there is no display. Exits non-zero on failure.
#   packaging/smoke_test.sh            # reuse dist/fgsm-studio-cpu if present
#   REBUILD=1 packaging/smoke_test.sh  # build first
#   VARIANT=cuda packaging/smoke_test.sh   # the CUDA variant (default: cpu)
set -euo pipefail
cd "$(dirname "$0")/.."
VARIANT="${VARIANT:-cpu}"
BUNDLE="$PWD/dist/fgsm-studio-$VARIANT"
EXE="$BUNDLE/fgsm-studio"
PY="${PYTHON:-python3}"
VERSION=$("$PY" -c "from importlib.metadata import version; print(version('fgsm-studio'))")
if [ ! -x "$EXE" ] || [ "${REBUILD:-0}" = 1 ]; then
  "$PY" packaging/build.py --variant "$VARIANT"
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# Copy the bundle elsewhere, as lab staff do, so nothing can come from this checkout.
cp -r "$BUNDLE" "$TMP/fgsm-studio"
CLEAN=(env -i HOME="$TMP/home" PATH=/usr/bin:/bin FGSM_STUDIO_HOME="$TMP/data" LANG=C.UTF-8)
RUN=("${CLEAN[@]}" QT_QPA_PLATFORM=offscreen "$TMP/fgsm-studio/fgsm-studio")
CLI=("${CLEAN[@]}" "$TMP/fgsm-studio/fgsm-studio-cli")
mkdir -p "$TMP/home"
if PATH=/usr/bin:/bin command -v python3 >/dev/null && PATH=/usr/bin:/bin python3 -c "import torch" 2>/dev/null; then
  echo "note: /usr/bin/python3 can import torch; the bundle does not use it (no PYTHONPATH, frozen imports)"
fi

got=$("${RUN[@]}" --version)
[ "$got" = "fgsm-studio $VERSION" ] || { echo "SMOKE FAIL: fgsm-studio --version said '$got'"; exit 1; }
got=$("${CLI[@]}" --version)
[ "$got" = "fgsm-studio-cli $VERSION" ] || { echo "SMOKE FAIL: fgsm-studio-cli --version said '$got'"; exit 1; }
echo "versions: fgsm-studio $VERSION, fgsm-studio-cli $VERSION"
start=$(date +%s%N)
"${CLI[@]}" cards > "$TMP/cards.md"
end=$(date +%s%N)
grep -q "mnist_small_cnn_standard.safetensors" "$TMP/cards.md" || { echo "SMOKE FAIL: fgsm-studio-cli cards"; cat "$TMP/cards.md"; exit 1; }
echo "fgsm-studio-cli cards: $(grep -c safetensors "$TMP/cards.md") bundled models, $(( (end - start) / 1000000 )) ms"

# No QT_QPA_PLATFORM and no DISPLAY: one sentence and exit 1, never Qt's abort.
set +e
"${CLEAN[@]}" "$TMP/fgsm-studio/fgsm-studio" 2> "$TMP/nodisplay.txt"
rc=$?
set -e
[ "$rc" = 1 ] && grep -q "^fgsm-studio: There is no X display" "$TMP/nodisplay.txt" \
  || { echo "SMOKE FAIL: no display gave exit $rc"; cat "$TMP/nodisplay.txt"; exit 1; }
echo "no display: $(cat "$TMP/nodisplay.txt")"

start=$(date +%s%N)
"${RUN[@]}" --self-test | tee "$TMP/selftest.txt"
end=$(date +%s%N)
grep -q "^3 passed, 0 failed$" "$TMP/selftest.txt" || { echo "SMOKE FAIL: self-test"; exit 1; }
echo "self-test: $(( (end - start) / 1000000 )) ms"
if [ "${FULL:-0}" = 1 ]; then  # every bundled model, the sweep, a training step
  "${RUN[@]}" --self-test=full | tee "$TMP/selftest-full.txt"
  grep -q "^8 passed, 0 failed$" "$TMP/selftest-full.txt" || { echo "SMOKE FAIL: self-test=full"; exit 1; }
fi

start=$(date +%s%N)
"${RUN[@]}" --screenshot "$TMP/shot.png"
end=$(date +%s%N)
[ "$(head -c 8 "$TMP/shot.png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || { echo "SMOKE FAIL: no PNG"; exit 1; }
size=$(stat -c %s "$TMP/shot.png")
[ "$size" -gt 20000 ] || { echo "SMOKE FAIL: screenshot too small ($size bytes)"; exit 1; }
echo "screenshot: $size bytes; cold start to saved screenshot $(( (end - start) / 1000000 )) ms"
[ -n "${SMOKE_SHOT:-}" ] && cp "$TMP/shot.png" "$SMOKE_SHOT"
echo "bundle: $(du -sh "$TMP/fgsm-studio" | cut -f1)"
echo "SMOKE OK"
