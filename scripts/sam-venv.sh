# shellcheck shell=bash
# .venv-sam: aws-sam-cli and cfn-lint (which pin boto3 and pydantic) in a virtualenv of their own, at the repo root.
# Sourced by lint-template.sh and transform-template.sh; sets $sam_venv, creating it on first use.

# shellcheck source=scripts/find-python.sh
source "$(dirname "${BASH_SOURCE[0]}")/find-python.sh"

sam_venv="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.venv-sam"

if [[ ! -x "$sam_venv/bin/sam" || ! -x "$sam_venv/bin/cfn-lint" ]]; then
    python="$(find_python)"
    echo "Creating $sam_venv with $("$python" --version 2>&1) ($python)"
    "$python" -m venv "$sam_venv"
    "$sam_venv/bin/python" -m pip install -qq --upgrade pip
    "$sam_venv/bin/python" -m pip install -qq aws-sam-cli cfn-lint
fi

# SAM builds a boto3 session: it needs a region and some credentials, never real ones.
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-testing}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-testing}"
export SAM_CLI_TELEMETRY=0
