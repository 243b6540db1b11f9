# shellcheck shell=bash
# Sourced by the scripts that run a tool from a virtualenv of its own (.venv-sam, .venv-checkov): tool_venv DIR LOCK
# makes DIR with the functions' Python (find-python.sh) and syncs it to exactly what LOCK (locks/*.txt, with hashes)
# pins, with the uv that `make install` bootstraps, compiled to bytecode (each tool starts several times a run, and
# where PYTHONDONTWRITEBYTECODE is set would compile every module it imports each time). A venv already in step costs
# one quick check.

# shellcheck source=scripts/find-python.sh
source "$(dirname "${BASH_SOURCE[0]}")/find-python.sh"

tool_venv() {
    local venv="$1" lock="$2" repo_root uv python
    repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    uv="$repo_root/.venv-uv/bin/uv"
    if [[ ! -x "$uv" ]]; then
        echo "$uv is missing: run 'make install' (or 'make .venv-uv/bin/uv') first" >&2
        return 1
    fi
    if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" --version >/dev/null 2>&1; then
        python="$(find_python)"
        echo "Creating $venv with $("$python" --version 2>&1) ($python)"
        rm -rf "$venv"
        UV_PYTHON_DOWNLOADS=never "$uv" venv --quiet --python "$python" "$venv"
    fi
    UV_PYTHON_DOWNLOADS=never "$uv" pip sync --quiet --require-hashes --compile-bytecode --python "$venv/bin/python" \
        "$lock"
}
