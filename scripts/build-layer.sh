#!/usr/bin/env bash
# Builds a layer for `sam build` (BuildMethod: makefile, see layers/*/python/Makefile): the locked requirements'
# arm64 wheels for Python 3.12 and any packages named after them, in python/ (on the runtime's sys.path as /opt/python),
# then every module compiled to bytecode. SAM's python3.12 build method ships source only, and /opt is read-only in
# Lambda, so each cold start compiled every module it imported (docs/performance.md#layers has the figures).
#
#   bash scripts/build-layer.sh REQUIREMENTS OUT [PACKAGE_DIR ...]
#
# LAYER_PYTHON: a Python 3.12 (default: the first that runs, scripts/find-python.sh); the bytecode is its version's.
# A layer holding botocore and aichat keeps botocore's data for aichat.core.aws.SERVICES alone (trim_botocore.py).
# LAYER_PLATFORM=host builds for this machine instead of arm64; LAYER_BYTECODE=0 leaves the modules as source and
# LAYER_TRIM_BOTOCORE=0 botocore whole: what scripts/bench_cold_start.py --built-layer times, before and after.
set -euo pipefail

if [[ $# -lt 2 ]]; then
    echo "usage: build-layer.sh REQUIREMENTS OUT [PACKAGE_DIR ...]" >&2
    exit 2
fi
requirements=$1
out=$2/python
shift 2

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/find-python.sh
source "$here/find-python.sh"
python=${LAYER_PYTHON:-$(find_python)}
if ! "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))'; then
    echo "build-layer.sh: $python is not Python 3.12, the functions' runtime, whose bytecode the layer must carry;" \
         "put a python3.12 on PATH or set LAYER_PYTHON" >&2
    exit 1
fi

platform=()
if [[ "${LAYER_PLATFORM:-arm64}" != host ]]; then
    # The wheels Lambda's arm64 python3.12 loads (pydantic-core and rpds-py are compiled); no source builds.
    platform=(--platform manylinux2014_aarch64 --implementation cp --python-version 3.12 --only-binary=:all:)
fi
mkdir -p "$out"
"$python" -m pip install --quiet --disable-pip-version-check --no-compile --target "$out" "${platform[@]}" \
    --requirement "$requirements"
rm -rf "$out/bin"  # console scripts (jmespath's jp.py): nothing in Lambda runs them

for package in "$@"; do
    cp -R "$package" "$out/"
done
find "$out" -name __pycache__ -prune -exec rm -rf {} +

if [[ -d "$out/botocore" && -d "$out/aichat" && "${LAYER_TRIM_BOTOCORE:-1}" != 0 ]]; then
    "$python" "$here/trim_botocore.py" "$out"
    find "$out" -name __pycache__ -prune -exec rm -rf {} +  # what importing aichat.core.aws there wrote
fi

if [[ "${LAYER_BYTECODE:-1}" != 0 ]]; then
    # unchecked-hash: Python loads the .pyc without comparing it to the source's mtime or hash; a layer never changes
    # once published, and a zip's timestamps need not survive its extraction.
    "$python" -m compileall -q -j 0 --invalidation-mode unchecked-hash "$out" >/dev/null
fi
