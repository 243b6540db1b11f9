"""Cold start and DynamoDB calls per function: prints figures, asserts nothing (these machines are noisy).

For each function, a fresh interpreter imports its app.py as Lambda would (the layer on sys.path), which builds
its clients; the time is compared with `import boto3` in a fresh interpreter, in the same run, as a ratio of
medians. It also lists which heavy packages each function loaded (provider SDKs, the X-Ray SDK). Then the chat
function again with each real provider configured (a dummy key: nothing is called), which imports that provider's
SDK at init, against `import boto3` plus that SDK alone in a fresh interpreter.

    .venv/bin/python scripts/bench_cold_start.py [--runs 11]

`--against DIR` times each function of another checkout too (a git worktree of an earlier commit), round-robin in
the same run, and prints both with the median of the per-round differences: what a change cost. `--imports` times
the pieces README's "Cold start" names (Powertools' resolver and Logger) on top of `import boto3, pydantic`.

    git worktree add /tmp/before <commit> && .venv/bin/python scripts/bench_cold_start.py --against /tmp/before
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from localdev.environment import template_globals  # noqa: E402 - after the path above
from localdev.template import load_template  # noqa: E402

LAYER = ROOT / "layers" / "common" / "python"
FUNCTIONS = ("chat", "chat_stream", "create_session", "list_sessions", "get_history", "submit_feedback", "escalate",
             "rate_message", "stop_reply", "get_usage", "cost_rollup", "sweep_turns")
CALLS_A_MODEL = {"chat", "chat_stream"}
# A dummy key: the chat function imports the SDK at init but calls no model until a request arrives.
PROVIDERS = {
    "openai": {"LLM_PROVIDER": "openai", "OPENAI_API_KEY": "sk-bench-not-a-real-key"},
    "anthropic": {"LLM_PROVIDER": "anthropic", "ANTHROPIC_API_KEY": "sk-ant-bench-not-a-real-key"},
}
WATCHED = ("openai", "anthropic", "aws_xray_sdk", "boto3")
TARGET = 1.6  # x `import boto3`, for the functions that call no model

_CHILD = """
import json, sys, time
t0 = time.perf_counter()
{body}
elapsed = time.perf_counter() - t0
print(json.dumps({{"ms": elapsed * 1000, "loaded": [m for m in {watched!r} if m in sys.modules]}}))
"""


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LLM_", "OPENAI", "ANTHROPIC"))}
    # The template's plain Globals, as Lambda sets them (PYDANTIC_DISABLE_PLUGINS among them).
    env.update(template_globals(load_template(ROOT / "template.yaml")))
    env.update(AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="bench",
               AWS_SECRET_ACCESS_KEY="bench", TABLE_NAME="ai-chat", PYTHONDONTWRITEBYTECODE="1",
               JWT_ISSUER="https://issuer.example", JWT_AUDIENCE="ai-chat")  # the stream authorizer's
    return env


def run_once(body: str, path: list[Path], extra_env: dict[str, str] | None = None,
             python: str = sys.executable) -> tuple[float, list[str]]:
    """Milliseconds of `body` in one fresh interpreter, and the watched modules it loaded."""
    env = _child_env()
    env.update(extra_env or {})
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in path)
    out = subprocess.run([python, "-c", _CHILD.format(body=body, watched=WATCHED)], env=env,
                         capture_output=True, text=True, check=True, cwd=path[0] if path else ROOT)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return float(result["ms"]), list(result["loaded"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--calls-only", action="store_true", help="only the AWS calls per request")
    parser.add_argument("--against", type=Path, help="another checkout to time each function against")
    parser.add_argument("--imports", action="store_true", help="only the cost of single imports")
    parser.add_argument("--built-layer", action="store_true",
                        help="only the functions on the CommonLayer as built for Lambda, with and without bytecode")
    args = parser.parse_args()
    if args.built_layer:
        built_layer_figures(args.runs)
        return
    if args.calls_only:
        print_calls()
        return
    if args.against:
        compare(args.against.resolve(), args.runs)
        return
    if args.imports:
        import_figures(args.runs)
        return

    targets: dict[str, tuple[str, list[Path]]] = {"import boto3": ("import boto3", [])}
    for name in FUNCTIONS:
        targets[name] = ("import app", [ROOT / "functions" / name, LAYER])
    times: dict[str, list[float]] = {name: [] for name in targets}
    loaded: dict[str, list[str]] = {}
    run_once("import boto3", [])  # warm the disk cache
    # Round-robin, so a burst of load on this noisy machine hits the baseline and the functions alike.
    for _ in range(args.runs):
        for name, (body, path) in targets.items():
            ms, mods = run_once(body, path)
            times[name].append(ms)
            loaded[name] = mods
    baseline = statistics.median(times["import boto3"])
    print(f"import boto3 (baseline): {baseline:.0f} ms, median of {args.runs} fresh interpreters")
    print(f"{'function':<16} {'import+init':>12} {'x boto3':>8} {'target':>8}  loaded")
    for name in FUNCTIONS:
        ms = statistics.median(times[name])
        ratio = ms / baseline
        target = "-" if name in CALLS_A_MODEL else f"<= {TARGET}"
        verdict = "" if name in CALLS_A_MODEL else ("  ok" if ratio <= TARGET else "  over")
        print(f"{name:<16} {ms:>9.0f} ms {ratio:>7.2f}x {target:>8}  {', '.join(loaded[name]) or '-'}{verdict}")
        if name in CALLS_A_MODEL or ratio > TARGET:
            print(f"{'':<16} biggest import: {biggest_imports(targets[name][1])}")
    print()
    provider_figures(args.runs)
    print()
    print_calls()


def biggest_imports(path: list[Path], depth: int = 3) -> str:
    """The chain of biggest imports under `import app` (`python -X importtime`, cumulative ms, one interpreter):
    at each level the child that took longest, `depth` levels down."""
    env = _child_env()
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in path)
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", "import app"], env=env, capture_output=True,
                         text=True, check=True, cwd=path[0]).stderr
    # Each line: "import time: self | cumulative | <indent>name"; a module's children are printed before it, one
    # level deeper.
    rows = []
    for line in err.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|")
        rows.append((len(name) - len(name.lstrip()), name.strip(), int(cumulative) / 1000))
    chain, parent = [], next(i for i in range(len(rows) - 1, -1, -1) if rows[i][1] == "app")
    for _ in range(depth):
        level = rows[parent][0] + 2
        children, i = [], parent - 1
        while i >= 0 and rows[i][0] >= level:
            if rows[i][0] == level:
                children.append(i)
            i -= 1
        if not children:
            break
        parent = max(children, key=lambda c: rows[c][2])
        chain.append(f"{rows[parent][1]} {rows[parent][2]:.0f} ms")
    return " > ".join(chain) or "-"


def compare(other: Path, runs: int) -> None:
    """Each function's import+init here and in another checkout, round-robin, with the paired difference."""
    trees = {"this": ROOT, "other": other}
    targets: dict[str, tuple[str, list[Path]]] = {"import boto3": ("import boto3", [])}
    for name in FUNCTIONS:
        for label, tree in trees.items():
            targets[f"{name} {label}"] = ("import app", [tree / "functions" / name, tree / "layers/common/python"])
    times = _round_robin(targets, runs)
    baseline = statistics.median(times["import boto3"])
    print(f"import boto3: {baseline:.0f} ms; median of {runs} fresh interpreters, round-robin; other = {other}")
    print(f"{'function':<16} {'other':>8} {'x boto3':>8} {'this':>8} {'x boto3':>8} {'this - other':>13}"
          "  (median of per-round differences)")
    for name in FUNCTIONS:
        before, after = times[f"{name} other"], times[f"{name} this"]
        paired = statistics.median(a - b for a, b in zip(after, before, strict=True))
        b, a = statistics.median(before), statistics.median(after)
        print(f"{name:<16} {b:>5.0f} ms {b / baseline:>7.2f}x {a:>5.0f} ms {a / baseline:>7.2f}x {paired:>+10.0f} ms")


def built_layer_figures(runs: int) -> None:
    """Each function on the CommonLayer as scripts/build-python.sh builds it (for this machine, with Python 3.12, the
    runtime's version) three ways: as source with botocore whole (what SAM's python3.12 method shipped), compiled to
    bytecode, and compiled with botocore trimmed to the layer's services (what it ships now); round-robin with
    `import boto3` from the compiled, whole layer: the floor, as Lambda's own runtime ships boto3 compiled."""
    python = subprocess.run(["bash", "-c", f"source {ROOT / 'scripts/find-python.sh'} && find_python"],
                            capture_output=True, text=True, check=True).stdout.strip()
    builds = {"source": {"BUILD_BYTECODE": "0", "BUILD_TRIM_BOTOCORE": "0"},
              "bytecode": {"BUILD_BYTECODE": "1", "BUILD_TRIM_BOTOCORE": "0"},
              "trimmed": {"BUILD_BYTECODE": "1", "BUILD_TRIM_BOTOCORE": "1"}}
    with tempfile.TemporaryDirectory(prefix="bench-layer-") as tmp:
        layers = {label: Path(tmp) / label / "python" for label in builds}
        # The stream front's authorizer ships its own requirements (PyJWT, cryptography), built the same way.
        authorizers = {label: Path(tmp) / label / "authorizer" for label in builds}
        authorizer = ROOT / "functions" / "stream_authorizer"
        for label, settings in builds.items():
            env = {**os.environ, "BUILD_PYTHON": python, "BUILD_PLATFORM": "host", **settings}
            for requirements, out, path in ((LAYER / "requirements.txt", layers[label], LAYER / "aichat"),
                                            (authorizer / "requirements.txt", authorizers[label],
                                             authorizer / "app.py")):
                subprocess.run(["bash", str(ROOT / "scripts/build-python.sh"), str(requirements), str(out),
                                str(path)], env=env, check=True, stdout=subprocess.DEVNULL)
        targets = {f"import boto3 {label}": ("import boto3", [path]) for label, path in layers.items()}
        for floor_label, body in FLOORS.items():
            for label in ("bytecode", "trimmed"):
                targets[f"{floor_label} {label}"] = (body, [layers[label]])
        for name in FUNCTIONS:
            for label, path in layers.items():
                targets[f"{name} {label}"] = ("import app", [ROOT / "functions" / name, path])
        for label, path in layers.items():  # its first request builds the verifier, as a cold start does
            targets[f"stream_authorizer {label}"] = ("import app\napp.verifier()", [authorizers[label], path])
        times = _round_robin(targets, runs, python)
    floor = statistics.median(times["import boto3 bytecode"])
    print(f"the CommonLayer built for this machine by scripts/build-python.sh, {python}; median of {runs} fresh "
          f"interpreters, round-robin; floor: `import boto3` from the compiled, whole layer, {floor:.0f} ms")
    print(f"{'':<52}" + "".join(f"{label:>18}" for label in builds))
    rows = ["import boto3", *FUNCTIONS, "stream_authorizer", *FLOORS]
    for name in rows:
        if name == next(iter(FLOORS)):
            print("what every table function does before any code of its own:")
        cells = []
        for label in builds:
            samples = times.get(f"{name} {label}")
            ms = statistics.median(samples) if samples else None
            cells.append(f"{ms:>7.0f} ms {ms / floor:>5.2f}x" if ms else f"{'-':>16}")
        print(f"{name:<52}" + "".join(f"{cell:>18}" for cell in cells))


# The least a table function does at init: botocore and its table's client, then pydantic and a first model (its
# settings are one); as the functions do it, with botocore alone (aichat.core.aws).
_CLIENT = "import botocore.session\nbotocore.session.get_session().create_client('dynamodb', region_name='us-east-1')"
FLOORS = {
    "botocore + a DynamoDB client": _CLIENT,
    "botocore + a DynamoDB client + pydantic, one model": (
        f"{_CLIENT}\nimport pydantic\nclass M(pydantic.BaseModel):\n    x: int = 0\nM(x=1)"),
}


IMPORTS = {
    "Powertools resolver (event_handler)": "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver",
    "Powertools Logger, built": "from aws_lambda_powertools import Logger\nLogger(service='x')",
    # What PYDANTIC_DISABLE_PLUGINS (template.yaml's Globals) saves a cold start: the child env sets it, so this
    # turns it back on for the first model built.
    "pydantic's plugin scan (first model)": "import os\nos.environ.pop('PYDANTIC_DISABLE_PLUGINS', None)\n"
                                            "class M(pydantic.BaseModel):\n    x: int = 0",
    "a first model, plugins off": "class M(pydantic.BaseModel):\n    x: int = 0",
}


def import_figures(runs: int) -> None:
    """What single imports add to `import boto3, pydantic`, each in a fresh interpreter, round-robin."""
    base = "import boto3, pydantic"
    targets = {"base": (base, [])} | {label: (f"{base}\n{body}", []) for label, body in IMPORTS.items()}
    times = _round_robin(targets, runs)
    print(f"`{base}`: {statistics.median(times['base']):.0f} ms; median of {runs}, round-robin; added by:")
    for label in IMPORTS:
        paired = statistics.median(a - b for a, b in zip(times[label], times["base"], strict=True))
        print(f"  {label:<38} {paired:>+6.0f} ms")


def _round_robin(targets: dict[str, tuple[str, list[Path]]], runs: int,
                 python: str = sys.executable) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in targets}
    for body, path in targets.values():
        run_once(body, path, python=python)  # warm the disk cache
    for _ in range(runs):
        for name, (body, path) in targets.items():
            times[name].append(run_once(body, path, python=python)[0])
    return times


def print_calls() -> None:
    """AWS calls per request, and per sweeper run."""
    print("AWS calls per request (moto in-process, counted by botocore before-call hooks, tenant config cached):")
    for route, calls in calls_per_route().items():
        print(f"  {route:<34} {sum(calls.values())}  ({', '.join(f'{k} {v}' for k, v in sorted(calls.items()))})")
    print("  (the sweeper reads one Query page per shard, and writes one transaction per turn it releases)")


def provider_figures(runs: int) -> None:
    """The chat function's import+init with each provider configured, against boto3 plus that SDK alone."""
    chat_path = [ROOT / "functions" / "chat", LAYER]
    print("chat with a provider configured (its SDK imported at init, which SnapStart snapshots), median of "
          f"{runs}, round-robin:")
    print(f"{'provider':<10} {'chat import+init':>17} {'boto3 + SDK alone':>18} {'difference':>11}  loaded")
    for name, env in PROVIDERS.items():
        run_once(f"import boto3\nimport {name}", [])  # warm the disk cache for this SDK's files
        chat_times, alone_times, loaded = [], [], []
        for _ in range(runs):
            ms, loaded = run_once("import app", chat_path, env)
            chat_times.append(ms)
            alone_times.append(run_once(f"import boto3\nimport {name}", [])[0])
        chat, alone = statistics.median(chat_times), statistics.median(alone_times)
        print(f"{name:<10} {chat:>14.0f} ms {alone:>15.0f} ms {chat - alone:>8.0f} ms  {', '.join(loaded) or '-'}")


def calls_per_route() -> dict[str, dict[str, int]]:
    """Drive each layer service once on moto and count the DynamoDB and SNS calls it makes."""
    # Figures here, not EMF lines or the turns' log lines.
    os.environ.update(_child_env(), POWERTOOLS_METRICS_DISABLED="true", POWERTOOLS_LOG_LEVEL="WARNING")
    sys.path[:0] = [str(LAYER), str(ROOT)]
    import botocore.session
    from moto import mock_aws

    from aichat import wiring
    from aichat.core.clock import utc_day, utc_now
    from aichat.core.identity import Identity
    from aichat.core.ids import new_id
    from aichat.core.models import ChatRequest, CreateSessionRequest, EscalateRequest, FeedbackRequest, StopRequest
    from aichat.core.records import MessageRecord
    from aichat.core.settings import Settings
    from localdev.table import create_table

    results: dict[str, dict[str, int]] = {}
    with mock_aws():
        session = botocore.session.get_session()
        db, sns = session.create_client("dynamodb"), session.create_client("sns")
        create_table(db, "ai-chat")
        topic = sns.create_topic(Name="escalations")["TopicArn"]
        services = wiring.build(Settings(TABLE_NAME="ai-chat", ESCALATION_TOPIC_ARN=topic), dynamodb=db, sns=sns)
        me = Identity(user_id="bench", tenant_id="bench", roles=frozenset())
        sid = services.chat.send(me, ChatRequest(message="warm up")).session_id
        routes = {
            "POST /chat (new session)": lambda: services.chat.send(me, ChatRequest(message="hi")),
            "POST /chat (existing session)": lambda: services.chat.send(me, ChatRequest(message="hi", session_id=sid)),
            "POST /chat (one tool call)": lambda: services.chat.send(me, ChatRequest(
                message="Please create a ticket: bench", session_id=sid)),
            "POST /chat/stream (existing session)": lambda: _drained(services.chat.stream(
                me, ChatRequest(message="hi", session_id=sid))),
            "POST /sessions/{id}/stop": lambda: services.sessions.stop(me, sid, StopRequest()),
            "POST /sessions": lambda: services.sessions.create(me, CreateSessionRequest()),
            "GET /sessions/{id}/history": lambda: services.sessions.history(me, sid, 50, None),
            "GET /sessions/my": lambda: services.sessions.mine(me, 20, None),
            "POST /sessions/{id}/feedback": lambda: services.sessions.feedback(me, sid, FeedbackRequest(rating=5)),
            "POST /sessions/{id}/escalate": lambda: services.sessions.escalate(me, sid, EscalateRequest(reason="x")),
        }
        for route, call in routes.items():
            results[route] = _counted([db, sns], call)
        dead = 25
        sid = services.sessions.create(me, CreateSessionRequest()).id  # the first one is escalated by now
        for i in range(dead):  # turns whose invocation died after the reserve: pending, never settled
            services.ledger.reserve(services.store.session(sid, me), False, utc_day(utc_now()), [], MessageRecord(
                id=new_id(utc_now()), role="user", content=f"dies {i}", created_at="2026-11-24T12:00:00.000Z"),
                sweep_after=0)
        for label in (f"sweeper run ({dead} dead turns)", "sweeper run (nothing pending)"):
            results[label] = _counted([db], lambda: services.ledger.sweep(time.time()))
    return results


def _drained(turn: Any) -> None:
    for _ in turn:
        pass


def _counted(clients: list[Any], call: Callable[[], object]) -> dict[str, int]:
    from collections import Counter

    calls: Counter[str] = Counter()

    def count(model: object, **_: object) -> None:
        calls[getattr(model, "name", "?")] += 1

    for client in clients:
        client.meta.events.register("before-call", count)
    call()
    for client in clients:
        client.meta.events.unregister("before-call", count)
    return dict(calls)


if __name__ == "__main__":
    main()
