#!/usr/bin/env bash
# Every install carries the formulas: build an sdist and a wheel (the wheel from the sdist, as `python -m
# build` does), install the wheel into a fresh virtual environment outside the checkout, and from an empty
# folder build a workbook and recalculate it against the oracle. The build backend must print no warning.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# PYTHONDONTWRITEBYTECODE makes setuptools say it skips byte-compiling: not a warning about the project
env -u PYTHONDONTWRITEBYTECODE "$PY" -m build --outdir "$work/dist" . >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
if grep -i -E "warning|deprecat" "$work/build.log"; then
  echo "check_install: the build backend printed warnings (above)"; exit 1
fi
tar tzf "$work"/dist/xlgpt-*.tar.gz >"$work/sdist.txt"
grep -q "templates/embed.toml" "$work/sdist.txt" || { echo "check_install: the sdist lacks templates/"; exit 1; }
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "$work"/dist/xlgpt-*.whl
mkdir "$work/empty"
cd "$work/empty"
"$work/venv/bin/xlgpt" --version
# the wheel carries the compiled loops (built where a C compiler is found, as here): else xlgpt is 2-3x slower
"$work/venv/bin/python" -c "from xlgpt.xlsx import speedups; assert speedups.available(), 'the wheel lacks xlgpt/xlsx/_speedups'"
"$work/venv/bin/xlgpt" build --weights random:tiny --out tiny.xlsx
"$work/venv/bin/xlgpt" recalc tiny.xlsx --out again.xlsx --check
echo "check_install: the wheel installs and works outside the checkout"
