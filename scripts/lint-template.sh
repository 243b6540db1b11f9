#!/usr/bin/env bash
# Lint template.yaml with cfn-lint and `sam validate --lint` (both in .venv-sam, see sam-venv.sh).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
# shellcheck source=scripts/sam-venv.sh
source "$repo_root/scripts/sam-venv.sh"

echo "cfn-lint $("$sam_venv/bin/cfn-lint" --version 2>&1 | awk '{print $NF}'): template.yaml"
"$sam_venv/bin/cfn-lint" template.yaml
echo "cfn-lint: no findings"

"$sam_venv/bin/sam" validate --lint --template template.yaml --region us-east-1
