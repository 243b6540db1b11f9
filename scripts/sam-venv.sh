# shellcheck shell=bash
# .venv-sam: aws-sam-cli and cfn-lint (which pin boto3 and pydantic) in a virtualenv of their own, at the repo root.
# Sourced by lint-template.sh and transform-template.sh; sets $sam_venv, in step with locks/sam.txt.

# shellcheck source=scripts/tool-venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/tool-venv.sh"

sam_venv="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.venv-sam"
tool_venv "$sam_venv" "$(dirname "$sam_venv")/locks/sam.txt"

# SAM builds a boto3 session: it needs a region and some credentials, never real ones.
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-testing}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-testing}"
export SAM_CLI_TELEMETRY=0
