"""The CommonLayer as scripts/build-python.sh builds it for `sam build`: every module compiled to Python 3.12's
bytecode, so a cold start in Lambda (where /opt is read-only) compiles none of them.

Built here for this machine (BUILD_PLATFORM=host) from the same locked requirements; `sam build` builds the same
for arm64 (docs/performance.md#layers).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aichat.core.aws import SERVICES

ROOT = Path(__file__).resolve().parents[2]
LAYER_SOURCE = ROOT / "layers" / "common" / "python"
HASH_BASED_UNCHECKED = 0b01  # PEP 552: the pyc's flags word, hash-based and never checked against the source

# In a fresh interpreter: count the modules Python compiles from source while it imports a function's app (and runs
# `then`, its first request's work), then compile one module that has no bytecode, which shows the count sees a
# compile when there is one.
_COUNT_COMPILES = """
import importlib._bootstrap_external as external, json, sys
compiled = []
to_code = external.SourceLoader.source_to_code
def counting(self, data, path, *args, **kwargs):
    compiled.append(path)
    return to_code(self, data, path, *args, **kwargs)
external.SourceLoader.source_to_code = counting
import app
{then}
watched = [path for path in compiled if path.startswith(sys.argv[1])]
sys.path.insert(0, sys.argv[2])
import never_compiled
print(json.dumps({{"watched": watched, "probe": [path for path in compiled if "never_compiled" in path]}}))
"""


def compiled_at_start(python: str, code: Path, watched: Path, probe: Path, env: dict[str, str],
                      then: str = "") -> list[str]:
    """The modules under `watched` that a fresh interpreter compiles while it imports `code`'s app (and runs `then`)."""
    probe.mkdir()
    (probe / "never_compiled.py").write_text("VALUE = 1\n", encoding="utf-8")
    out = subprocess.run([python, "-c", _COUNT_COMPILES.format(then=then), str(watched), str(probe)],
                         env={**env, "PYTHONDONTWRITEBYTECODE": "1"}, cwd=code, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["probe"], "the counter saw no compile of a module without bytecode"
    return list(result["watched"])


def without_bytecode(folder: Path) -> tuple[list[Path], list[Path]]:
    """The modules under `folder` with no cpython-312 .pyc, and the .pyc files Python would check against their
    source (not PEP 552's unchecked hash)."""
    missing, checked = [], []
    for module in folder.rglob("*.py"):
        cached = module.parent / "__pycache__" / f"{module.stem}.cpython-312.pyc"
        if not cached.is_file():
            missing.append(module)
        elif int.from_bytes(cached.read_bytes()[4:8], "little") != HASH_BASED_UNCHECKED:
            checked.append(cached)
    return missing, checked


@pytest.fixture(scope="module")
def python312() -> str:
    return subprocess.run(["bash", "-c", f"source {ROOT / 'scripts/find-python.sh'} && find_python"],
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def built_layer(tmp_path_factory: pytest.TempPathFactory, python312: str) -> Path:
    out = tmp_path_factory.mktemp("layer") / "python"
    build(python312, LAYER_SOURCE / "requirements.txt", out, LAYER_SOURCE / "aichat")
    return out


def build(python: str, requirements: Path, out: Path, *paths: Path) -> None:
    """scripts/build-python.sh for this machine, as `sam build` runs it for arm64."""
    env = dict(os.environ, BUILD_PYTHON=python, BUILD_PLATFORM="host", BUILD_BYTECODE="1", BUILD_TRIM_BOTOCORE="1")
    subprocess.run(["bash", str(ROOT / "scripts/build-python.sh"), str(requirements), str(out), *map(str, paths)],
                   env=env, check=True, capture_output=True, timeout=600)


def test_the_layer_holds_the_aichat_package_and_its_locked_requirements_in_its_python_folder(
    built_layer: Path,
) -> None:
    sources = {p.relative_to(LAYER_SOURCE) for p in (LAYER_SOURCE / "aichat").rglob("*.py")}
    assert sources == {p.relative_to(built_layer) for p in (built_layer / "aichat").rglob("*.py")}
    assert {"boto3", "botocore", "pydantic", "pydantic_core", "aws_lambda_powertools"} <= {
        p.name for p in built_layer.iterdir()}
    # Not the source folder's build files, nor the console scripts pip installs.
    assert not {"requirements.txt", "Makefile", "bin"} & {p.name for p in built_layer.iterdir()}


def test_every_module_in_the_layer_has_python312_bytecode_that_python_loads_without_checking_the_source(
    built_layer: Path,
) -> None:
    assert len(list(built_layer.rglob("*.py"))) > 500  # botocore, pydantic, Powertools and aichat
    missing, checked = without_bytecode(built_layer)
    assert not missing, f"{len(missing)} modules without bytecode, e.g. {missing[:3]}"
    assert not checked, f"{len(checked)} .pyc files checked against their source, e.g. {checked[:3]}"


def test_a_cold_start_on_the_built_layer_compiles_none_of_its_modules(
    built_layer: Path, python312: str, tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LLM_", "OPENAI", "ANTHROPIC"))}
    env.update(PYTHONPATH=str(built_layer), AWS_REGION="us-east-1", AWS_ACCESS_KEY_ID="test",
               AWS_SECRET_ACCESS_KEY="test", TABLE_NAME="ai-chat")
    compiled = compiled_at_start(python312, ROOT / "functions" / "get_history", built_layer, tmp_path / "probe", env)
    assert compiled == [], f"compiled at import: {compiled[:5]}"


def test_the_build_refuses_an_interpreter_whose_bytecode_lambda_would_not_load(tmp_path: Path) -> None:
    if sys.version_info[:2] == (3, 12):
        pytest.skip("this interpreter is 3.12, the runtime's own version")
    env = dict(os.environ, BUILD_PYTHON=sys.executable, BUILD_PLATFORM="host")
    out = subprocess.run(["bash", str(ROOT / "scripts/build-python.sh"), str(LAYER_SOURCE / "requirements.txt"),
                          str(tmp_path / "out")], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "is not Python 3.12" in out.stderr and "BUILD_PYTHON" in out.stderr
    assert not (tmp_path / "out").exists(), "nothing is installed for the wrong version"


# One request of each service the layer calls, stopped before it is sent: where it would go and the scope it is
# signed for, per region (the partitions' differences: aws, aws-us-gov, aws-cn).
_PROBES = {
    "dynamodb": ("describe_table", {"TableName": "t"}),
    "events": ("put_events", {"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}"}]}),
    "sns": ("publish", {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message": "m"}),
    "ssm": ("get_parameter", {"Name": "n"}),
    "secretsmanager": ("get_secret_value", {"SecretId": "s"}),
    "lambda": ("invoke", {"FunctionName": "f"}),
    "bedrock-runtime": ("converse", {"modelId": "m", "messages": [{"role": "user", "content": [{"text": "hi"}]}]}),
}
_WHERE_REQUESTS_GO = """
import json, sys
import botocore.session
probes, regions = json.loads(sys.argv[1]), json.loads(sys.argv[2])
class Stop(Exception):
    pass
seen = {}
def stop(request, **_):
    scope = request.headers["Authorization"].decode().split("Credential=")[1].split(",")[0].split("/", 1)[1]
    seen[key] = [request.url, scope]
    raise Stop
session = botocore.session.get_session()
for service, (operation, params) in probes.items():
    for region in regions:
        key = f"{service} {region}"
        client = session.create_client(service, region_name=region)
        client.meta.events.register("before-send", stop)
        try:
            getattr(client, operation)(**params)
        except Stop:
            pass
print(json.dumps(seen))
"""


def test_the_layers_trimmed_botocore_keeps_only_the_services_the_layer_calls(built_layer: Path) -> None:
    data = built_layer / "botocore" / "data"
    assert {p.name for p in data.iterdir() if p.is_dir()} == SERVICES
    assert set(_PROBES) == SERVICES, "each service the layer calls has a probe below"


def test_the_trimmed_botocore_sends_each_services_requests_where_the_whole_one_does_signed_alike(
    built_layer: Path, python312: str,
) -> None:
    regions = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", PYTHONDONTWRITEBYTECODE="1")
    args = [json.dumps(_PROBES), json.dumps(regions)]
    trimmed = subprocess.run([python312, "-c", _WHERE_REQUESTS_GO, *args], env={**env, "PYTHONPATH": str(built_layer)},
                             capture_output=True, text=True, timeout=120, check=True)
    # The whole botocore: the tests' own, the version uv.lock pins for the layer too.
    whole = subprocess.run([sys.executable, "-c", _WHERE_REQUESTS_GO, *args], env=env, capture_output=True,
                           text=True, timeout=120, check=True)
    assert json.loads(trimmed.stdout) == json.loads(whole.stdout)
    assert len(json.loads(whole.stdout)) == len(_PROBES) * len(regions)


def test_the_stream_authorizer_ships_its_requirements_compiled_and_starts_without_compiling_any(
    built_layer: Path, python312: str, tmp_path: Path,
) -> None:
    # Its cold start is on the path of a stream's first request (API Gateway calls it before the stream function).
    code = tmp_path / "authorizer"
    function = ROOT / "functions" / "stream_authorizer"
    build(python312, function / "requirements.txt", code, function / "app.py")
    assert {"app.py", "jwt", "cryptography"} <= {p.name for p in code.iterdir()}
    assert without_bytecode(code) == ([], []), "every module compiled, unchecked"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "JWT_"))}
    env.update(PYTHONPATH=f"{code}{os.pathsep}{built_layer}", AWS_REGION="us-east-1",
               JWT_ISSUER="https://issuer.example", JWT_AUDIENCE="ai-chat")
    compiled = compiled_at_start(python312, code, code, tmp_path / "probe", env, then="app.verifier()")
    assert compiled == [], f"compiled at import: {compiled[:5]}"
