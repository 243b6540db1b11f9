"""Every Python dependency comes from a lock: the tests run in what uv.lock pins, `sam build` installs files exported
from that same lock, and the tool venvs install locks of their own. A dependency that floats fails here, not in AWS.
"""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UV = ROOT / ".venv-uv" / "bin" / "uv"

# Each requirements file `sam build` reads, and the part of uv.lock it is exported from (the Makefile's `lock`).
EXPORTS = {
    "layers/common/python/requirements.txt": ["--no-default-groups"],
    "layers/providers/python/requirements.txt": ["--only-group", "providers"],
    "functions/chat_stream/requirements.txt": ["--only-group", "chat-stream"],
    "functions/stream_authorizer/requirements.txt": ["--only-group", "stream-authorizer"],
}


def uv(*arguments: str) -> subprocess.CompletedProcess[str]:
    """uv as `make install` bootstrapped it (locks/uv.txt), run at the repository's root."""
    assert UV.is_file(), f"{UV} is missing: `make install` bootstraps it from locks/uv.txt"
    environment = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "NO_COLOR": "1"}
    environment.pop("VIRTUAL_ENV", None)
    return subprocess.run([str(UV), *arguments], cwd=ROOT, env=environment, capture_output=True, text=True,
                          timeout=120, check=False)


def pins(text: str) -> dict[str, str]:
    """name -> version of a requirements file's `name==version` lines."""
    return {m["name"].lower(): m["version"] for m in re.finditer(r"^(?P<name>[A-Za-z0-9_.-]+)==(?P<version>\S+)",
                                                                 text, re.M)}


@pytest.mark.parametrize("path", sorted(EXPORTS))
def test_each_requirements_file_sam_build_reads_is_uv_lock_exported_as_text(path: str) -> None:
    exported = uv("export", "--frozen", "--quiet", *EXPORTS[path], "--no-emit-project")
    assert exported.returncode == 0, exported.stderr
    assert (ROOT / path).read_text() == exported.stdout, f"{path} is not what uv.lock gives: run `make lock`"


def test_the_exported_requirements_carry_a_hash_for_every_pin() -> None:
    for path in EXPORTS:
        text = (ROOT / path).read_text()
        entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
        assert entries and all("==" in e and "--hash=sha256:" in e for e in entries), path


def test_every_function_with_requirements_of_its_own_has_them_exported_from_the_lock() -> None:
    own = {str(p.relative_to(ROOT)) for p in (ROOT / "functions").glob("*/requirements.txt")}
    assert own == {path for path in EXPORTS if path.startswith("functions/")}


def test_each_layer_pins_the_sdks_pyproject_declares_for_it_and_only_the_providers_layer_has_a_provider_sdk() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())

    def names(declared: list[str]) -> set[str]:
        return {re.match(r"[A-Za-z0-9_.-]+", d)[0].lower() for d in declared}  # type: ignore[index]

    common = set(pins((ROOT / "layers/common/python/requirements.txt").read_text()))
    providers = set(pins((ROOT / "layers/providers/python/requirements.txt").read_text()))
    assert names(pyproject["project"]["dependencies"]) <= common
    assert names(pyproject["dependency-groups"]["providers"]) == {"openai", "anthropic"} <= providers
    assert not {"openai", "anthropic"} & common, "a function that calls no model carries no provider SDK"


def test_the_project_environment_is_exactly_the_lock() -> None:
    # --locked: uv.lock agrees with pyproject.toml; --check: .venv holds what it pins, nothing more or less.
    checked = uv("sync", "--locked", "--check", "--python", str(ROOT / ".venv" / "bin" / "python"))
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("tool", ["uv", "sam", "checkov"])
def test_each_tool_lock_pins_what_its_in_file_names_with_hashes(tool: str) -> None:
    wanted = (ROOT / "locks" / f"{tool}.in").read_text()
    locked = (ROOT / "locks" / f"{tool}.txt").read_text()
    assert f"uv pip compile --universal --generate-hashes --python-version 3.11 {tool}.in -o {tool}.txt" in locked
    names = re.findall(r"^([A-Za-z0-9_.-]+)(?:==(\S+))?", wanted, re.M)
    locked_pins = pins(locked)
    for name, version in names:
        assert name.lower() in locked_pins, f"{name} is not in locks/{tool}.txt: run `make deps-upgrade`"
        assert not version or locked_pins[name.lower()] == version, f"locks/{tool}.txt pins another {name}"


def test_the_uv_that_installs_is_the_one_locks_uv_txt_pins() -> None:
    version = uv("--version").stdout.split()[1]
    assert pins((ROOT / "locks" / "uv.txt").read_text())["uv"] == version
