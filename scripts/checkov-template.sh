#!/usr/bin/env bash
# Scan template.yaml with checkov, the security scanner platform teams run before they deploy.
# Every check passes, or is skipped inline in template.yaml (the resource's Metadata: checkov: skip, with a one-line
# reason), or is one of the few below that fit this product nowhere. Anything else fails `make test`.
# checkov pins its own dependencies, so it lives in its own virtualenv: .venv-checkov at the repo root.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
venv="$repo_root/.venv-checkov"

# Skipped on every resource, because they fit none of this product's:
#   CKV_AWS_117  Lambda functions inside a VPC. The functions reach only AWS's public endpoints (DynamoDB, SNS,
#                Secrets Manager, SSM) and the model providers' public APIs; a VPC would add NAT gateways, their cost
#                and a cold-start penalty, and put nothing behind it.
#   CKV_AWS_173  Lambda environment variables encrypted with a customer-managed KMS key. Lambda already encrypts them
#                at rest with an AWS-managed key, and they hold table names, limits and claim names, never a secret:
#                provider keys are read from Secrets Manager or SSM by name at run time.
global_skips="CKV_AWS_117,CKV_AWS_173"

# The version these results were checked with is pinned in locks/checkov.in (a newer checkov may bring new checks, so
# it is a deliberate bump); locks/checkov.txt pins it and everything it needs.
# shellcheck source=scripts/tool-venv.sh
source "$repo_root/scripts/tool-venv.sh"
tool_venv "$venv" "$repo_root/locks/checkov.txt"

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT

# Offline: no update check, nothing downloaded from the vendor's platform (guidelines, policies).
export CKV_SKIP_PACKAGE_UPDATE_CHECK=true
# checkov exits 1 on a failed check; the summary below decides, and also fails on a crash or a parse error.
"$venv/bin/checkov" --file template.yaml --framework cloudformation --skip-download --skip-check "$global_skips" \
    --output json --output-file-path "$results" >"$results/stdout" 2>"$results/stderr" || true
if [[ ! -s "$results/results_json.json" ]]; then
    echo "checkov wrote no results:" >&2
    cat "$results/stdout" "$results/stderr" >&2
    exit 1
fi

"$venv/bin/python" - "$results/results_json.json" "$global_skips" <<'PY'
"""checkov's JSON report in a few lines: what failed (with where), the inline skips grouped by reason, the totals."""
import json
import sys
from collections import defaultdict

report = json.load(open(sys.argv[1]))
global_skips = sys.argv[2].replace(",", ", ")
summary, results = report["summary"], report["results"]
failed, skipped = results.get("failed_checks", []), results.get("skipped_checks", [])
problems = []

for check in failed:
    first, last = check["file_line_range"]
    problems.append(f"FAILED {check['check_id']} {check['check_name']}\n"
                    f"       on {check['resource']} (template.yaml lines {first}-{last})")
for error in results.get("parsing_errors", []):
    problems.append(f"PARSE ERROR {error}")
if not summary["resource_count"]:
    problems.append("checkov found no resources in template.yaml")

reasons = defaultdict(list)
for check in skipped:
    comment = check["check_result"].get("suppress_comment", "").strip()
    if not comment or comment == "No comment provided":
        problems.append(f"SKIPPED WITHOUT A REASON {check['check_id']} on {check['resource']}")
    reasons[(check["check_id"], comment)].append(check["resource"].split(".", 1)[-1])

print(f"checkov {summary['checkov_version']}: template.yaml, {summary['resource_count']} resources: "
      f"{summary['passed']} passed, {summary['failed']} failed, {summary['skipped']} skipped inline "
      f"(skipped everywhere: {global_skips}, see scripts/checkov-template.sh)")
for (check_id, comment), resources in sorted(reasons.items()):
    print(f"  {check_id} skipped on {', '.join(sorted(resources))}: {comment}")
for problem in problems:
    print(problem, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
