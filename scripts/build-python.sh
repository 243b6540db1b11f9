#!/usr/bin/env bash
# Builds Python code for `sam build` (BuildMethod: makefile: layers/*/python/Makefile, functions/stream_authorizer/
# Makefile): the locked requirements' arm64 wheels for Python 3.12 and the paths named after them in OUT (a layer's
# python/ folder, on the runtime's sys.path as /opt/python, or a function's code folder), then every module compiled
# to bytecode. SAM's python3.12 build method ships source only, and /opt and /var/task are read-only in Lambda, so
# each cold start compiled every module it imported (docs/performance.md#layers has the figures).
#
#   bash scripts/build-python.sh REQUIREMENTS OUT [PATH ...]
#
# BUILD_PYTHON: a Python 3.12 (default: the first that runs, scripts/find-python.sh); the bytecode is its version's.
# A layer holding botocore and aichat keeps botocore's data for aichat.core.aws.SERVICES alone (trim_botocore.py).
# BUILD_PLATFORM=host builds for this machine instead of arm64; BUILD_BYTECODE=0 leaves the modules as source and
# BUILD_TRIM_BOTOCORE=0 botocore whole: what scripts/bench_cold_start.py --built-layer times, before and after.
set -euo pipefail

if [[ $# -lt 2 ]]; then
    echo "usage: build-python.sh REQUIREMENTS OUT [PATH ...]" >&2
    exit 2
fi
requirements=$1
out=$2
shift 2

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/find-python.sh
source "$here/find-python.sh"
python=${BUILD_PYTHON:-$(find_python)}
if ! "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))'; then
    echo "build-python.sh: $python is not Python 3.12, the functions' runtime, whose bytecode the build must carry;" \
         "put a python3.12 on PATH or set BUILD_PYTHON" >&2
    exit 1
fi

platform=()
if [[ "${BUILD_PLATFORM:-arm64}" != host ]]; then
    # The wheels Lambda's arm64 python3.12 loads (pydantic-core, rpds-py and cryptography are compiled): its runtime
    # is Amazon Linux 2023, glibc 2.34. No source builds.
    platform=(--platform manylinux2014_aarch64 --platform manylinux_2_34_aarch64 --implementation cp
              --python-version 3.12 --only-binary=:all:)
fi
mkdir -p "$out"
"$python" -m pip install --quiet --disable-pip-version-check --no-compile --target "$out" "${platform[@]}" \
    --requirement "$requirements"
rm -rf "$out/bin"  # console scripts (jmespath's jp.py): nothing in Lambda runs them

for path in "$@"; do
    cp -R "$path" "$out/"
done
find "$out" -name __pycache__ -prune -exec rm -rf {} +

if [[ -d "$out/botocore" && -d "$out/aichat" && "${BUILD_TRIM_BOTOCORE:-1}" != 0 ]]; then
    "$python" -B "$here/trim_botocore.py" "$out"  # -B: it imports aichat.core.aws from $out, and writes no .pyc there
fi

if [[ "${BUILD_BYTECODE:-1}" != 0 ]]; then
    # unchecked-hash: Python loads the .pyc without comparing it to the source's mtime or hash; code never changes
    # once published, and a zip's timestamps need not survive its extraction.
    "$python" -m compileall -q -j 0 --invalidation-mode unchecked-hash "$out" >/dev/null
fi
