#!/usr/bin/env bash
# template.yaml with the SAM transform applied, as CloudFormation receives it, in .aws-sam/transformed.json
# (aws-sam-translator from .venv-sam; see transform_template.py). tests/unit/test_transformed_template.py reads it.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
# shellcheck source=scripts/sam-venv.sh
source "$repo_root/scripts/sam-venv.sh"

"$sam_venv/bin/python" scripts/transform_template.py template.yaml "${1:-.aws-sam/transformed.json}"
