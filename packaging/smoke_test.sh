#!/usr/bin/env bash
# Smoke test of the PyInstaller bundle: build it (or take an existing build), then run
# the executable's --self-test and --screenshot headless, in a clean environment with
# no Python on PATH, no PYTHONPATH and a fresh home folder. Exits non-zero on failure.
#   packaging/smoke_test.sh            # reuse dist/fgsm-studio if present
#   REBUILD=1 packaging/smoke_test.sh  # build first
set -euo pipefail
cd "$(dirname "$0")/.."
EXE="$PWD/dist/fgsm-studio/fgsm-studio"
if [ ! -x "$EXE" ] || [ "${REBUILD:-0}" = 1 ]; then
  python3 packaging/build.py
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# Copy the bundle elsewhere, as lab staff do, so nothing can come from this checkout.
cp -r "$PWD/dist/fgsm-studio" "$TMP/fgsm-studio"
RUN=(env -i HOME="$TMP/home" PATH=/usr/bin:/bin QT_QPA_PLATFORM=offscreen FGSM_STUDIO_HOME="$TMP/data"
     LANG=C.UTF-8 "$TMP/fgsm-studio/fgsm-studio")
mkdir -p "$TMP/home"
if PATH=/usr/bin:/bin command -v python3 >/dev/null && PATH=/usr/bin:/bin python3 -c "import torch" 2>/dev/null; then
  echo "note: /usr/bin/python3 can import torch; the bundle does not use it (no PYTHONPATH, frozen imports)"
fi

start=$(date +%s%N)
"${RUN[@]}" --self-test | tee "$TMP/selftest.txt"
end=$(date +%s%N)
grep -q "^6 passed, 0 failed$" "$TMP/selftest.txt" || { echo "SMOKE FAIL: self-test"; exit 1; }
echo "self-test: $(( (end - start) / 1000000 )) ms"

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
