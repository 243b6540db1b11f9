"""Each function's peak memory on a realistic request, beside the MemorySize template.yaml gives it.

Each function runs in a fresh interpreter as Lambda runs it (its folder and the layer on sys.path): `import app`,
then its own event (events/<code>.json) three times through its handler, against DynamoDB Local in memory. The
chat functions answer real turns instead, through OpenAI's SDK against a loopback fake of its API (the first one
starts a session, the next two go on in it). The peak is the process's maximum resident set (ru_maxrss), which
is what Lambda's "Max Memory Used" reports. For the chat functions it also prints a turn's CPU time (user +
system), and what that would take at each memory size: Lambda gives a function CPU in proportion to its memory,
one vCPU at 1,769 MB (AWS's Lambda guide, "Configuring Lambda function memory"), so below that a turn's CPU time
stretches by 1,769 / MemorySize. Prints figures and asserts nothing.

    .venv/bin/python scripts/bench_memory.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import yaml  # noqa: E402
from bench_stream_start import TABLE, launch, stream  # noqa: E402
from bench_vs_litellm import MODEL, Upstream  # noqa: E402

from localdev import dynamodb_local  # noqa: E402
from localdev.table import create_table  # noqa: E402

LAYER = ROOT / "layers" / "common" / "python"
ONE_VCPU_MB = 1769
MODEL_FUNCTIONS = ("chat", "chat_stream")

_CHILD = r"""
import json, resource, sys, time
sys.path[:0] = [{function!r}, {layer!r}]

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def cpu_ms():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (usage.ru_utime + usage.ru_stime) * 1000

import app
after_import = peak_mb()
event = json.loads(open({event!r}).read()) if {event!r} else None
cpu = []
session_id = None
for i in range(3):
    started = cpu_ms()
    if {code!r} == "chat":
        event["body"] = json.dumps({{"message": f"How do I reset a password? ({{i}})", "session_id": session_id}})
        answer = app.lambda_handler(event, None)
        assert answer["statusCode"] == 200, answer
        session_id = json.loads(answer["body"])["session_id"]
    elif {code!r} == "chat_stream":
        from aichat.core.identity import Identity
        from aichat.core.models import ChatRequest
        caller = Identity(user_id="bench-user", tenant_id="bench", roles=frozenset())
        turn = app.services.chat.stream(caller, ChatRequest(message=f"How do I reset a password? ({{i}})",
                                                            session_id=session_id))
        for event_ in turn:
            session_id = getattr(event_, "session_id", None) or session_id
    elif event is not None:
        app.lambda_handler(json.loads(json.dumps(event)), None)
    cpu.append(cpu_ms() - started)
print(json.dumps({{"import_mb": after_import, "peak_mb": peak_mb(), "cpu_ms": cpu}}))
"""


def memory_sizes() -> dict[str, int]:
    """Each function's MemorySize in template.yaml (the Globals' where it sets none; a parameter's default), by code
    folder."""
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: {suffix: getattr(node, "value", None)})
    template = yaml.load((ROOT / "template.yaml").read_text(encoding="utf-8"), Loader=Loader)
    parameters = template["Parameters"]

    def number(value: Any) -> int:
        return int(parameters[value["Ref"]]["Default"] if isinstance(value, dict) else value)

    default = number(template["Globals"]["Function"]["MemorySize"])
    sizes: dict[str, int] = {}
    for resource in template["Resources"].values():
        props = resource.get("Properties") or {}
        code_uri = str(props.get("CodeUri", ""))
        if resource.get("Type") == "AWS::Serverless::Function" and code_uri.startswith("functions/"):
            sizes[code_uri.strip("/").split("/")[1]] = number(props.get("MemorySize", default))
    return sizes


def measure(code: str, endpoint: str, upstream_url: str) -> dict[str, Any]:
    event = ROOT / "events" / f"{code}.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LLM_", "OPENAI", "ANTHROPIC"))}
    env.update(AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="bench",
               AWS_SECRET_ACCESS_KEY="bench", TABLE_NAME=TABLE, DYNAMODB_ENDPOINT_URL=endpoint,
               DAILY_COST_LIMIT_CENTS="100000000", SESSION_COST_LIMIT_CENTS="100000000",
               JWT_ISSUER="https://issuer.example", LLM_PROVIDER="openai", LLM_MODEL=MODEL,
               OPENAI_API_KEY="sk-bench-not-a-real-key", OPENAI_BASE_URL=upstream_url)
    child = _CHILD.format(function=str(ROOT / "functions" / code), layer=str(LAYER), code=code,
                          event=str(event) if event.exists() and code != "stream_authorizer" else "")
    done = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True, text=True,
                          cwd=ROOT / "functions" / code)
    if done.returncode != 0:
        raise SystemExit(f"{code}: {done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def measure_stream_process(endpoint: str, upstream_url: str) -> dict[str, Any]:
    """The streaming function as it runs in Lambda, run.sh (uvicorn and the app, one process): its peak resident
    set (VmHWM) after three streamed turns in one session."""
    process, port, _ = launch(endpoint, {"LLM_PROVIDER": "openai", "LLM_MODEL": MODEL,
                                         "OPENAI_API_KEY": "sk-bench-not-a-real-key", "OPENAI_BASE_URL": upstream_url})
    try:
        import_kb = _status_kb(process.pid, "VmHWM")
        session_id = None
        for _ in range(3):
            session_id = stream(port, session_id, whole=True)[1]
        return {"import_mb": import_kb / 1024, "peak_mb": _status_kb(process.pid, "VmHWM") / 1024}
    finally:
        process.kill()
        process.wait()


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise SystemExit(f"no {field} in /proc/{pid}/status")


def main() -> None:
    sizes = memory_sizes()
    upstream = Upstream()
    with dynamodb_local.running() as endpoint:
        import botocore.session

        create_table(botocore.session.get_session().create_client(
            "dynamodb", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="bench",
            aws_secret_access_key="bench"), TABLE)
        figures = {code: measure(code, endpoint, upstream.url) for code in sorted(sizes)}
        served = measure_stream_process(endpoint, upstream.url)
    upstream.close()
    print(f"{'function':22} {'MemorySize':>10} {'after import':>12} {'peak RSS':>9} {'headroom':>8}")
    for code, figure in figures.items():
        print(f"{code:22} {sizes[code]:8} MB {figure['import_mb']:9.0f} MB {figure['peak_mb']:6.0f} MB "
              f"{sizes[code] / figure['peak_mb']:7.1f}x")
    print(f"{'chat_stream, run.sh':22} {sizes['chat_stream']:8} MB {served['import_mb']:9.0f} MB "
          f"{served['peak_mb']:6.0f} MB {sizes['chat_stream'] / served['peak_mb']:7.1f}x  (uvicorn and the app, "
          "as the adapter runs them)")
    print("\nA turn's CPU time (the 2nd and 3rd, in a session; ms), and that time at each memory size "
          f"(x {ONE_VCPU_MB} / MB below one vCPU):")
    for code in MODEL_FUNCTIONS:
        cpu = sorted(figures[code]["cpu_ms"][1:])[0]
        stretched = ", ".join(f"{mb} MB {cpu * max(ONE_VCPU_MB / mb, 1):.0f}" for mb in (256, 512, 1024, 1769))
        print(f"{code:22} {cpu:5.0f} ms here; {stretched}")


if __name__ == "__main__":
    main()
