#!/usr/bin/env bash
# Lint template.yaml with cfn-lint and `sam validate --lint`.
# aws-sam-cli pins boto3 and pydantic, so it lives in its own virtualenv: .venv-sam at the repo root.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
venv="$repo_root/.venv-sam"

# shellcheck source=scripts/find-python.sh
source "$repo_root/scripts/find-python.sh"

if [[ ! -x "$venv/bin/sam" || ! -x "$venv/bin/cfn-lint" ]]; then
    python="$(find_python)"
    echo "Creating $venv with $("$python" --version 2>&1) ($python)"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install -qq --upgrade pip
    "$venv/bin/python" -m pip install -qq aws-sam-cli cfn-lint
fi

# sam validate builds a boto3 session; it needs a region and some credentials, never real ones.
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-testing}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-testing}"
export SAM_CLI_TELEMETRY=0

echo "cfn-lint $("$venv/bin/cfn-lint" --version 2>&1 | awk '{print $NF}'): template.yaml"
"$venv/bin/cfn-lint" template.yaml
echo "cfn-lint: no findings"

"$venv/bin/sam" validate --lint --template template.yaml --region us-east-1
