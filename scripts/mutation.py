"""`make mutation`: mutmut over the money, identity and pricing rules, then the score per module.

mutmut names a mutant after its file's path (dropping only a `src/` prefix) and finds the tests of a function by
that name, while the tests import the layer as `aichat`. So it runs in .mutation/, where src/aichat links to the
layer's package, and pyproject.toml (its [tool.mutmut] section is the configuration), tests/ and what also_copy
names link to the repository's. mutmut copies them into .mutation/mutants/ and mutates only the copies; every run
starts afresh.

Of the files in `only_mutate` every function counts, except in the ledger, where only the pure functions do: its
other mutants (the DynamoDB I/O) are generated but never run, and are left out of the table.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STAGE = ROOT / ".mutation"
LOG = STAGE / "mutmut.log"
LAYER_PACKAGE = "layers/common/python/aichat"
# Modules of which only these functions are mutation-tested; every other module counts whole.
PURE_FUNCTIONS = {"aichat.table.ledger.reservations": ("sweep_after", "recordable", "fit_reply", "_has_surrogates")}
# A mutant that made a test fail, or the tests run past their time limit, is detected.
DETECTED = ("killed", "timeout", "caught by type check")


@dataclass
class Score:
    label: str
    statuses: Counter[str] = field(default_factory=Counter)

    @property
    def killed(self) -> int:
        return sum(self.statuses[status] for status in DETECTED)

    @property
    def survived(self) -> int:
        return self.statuses["survived"]

    @property
    def total(self) -> int:
        return self.statuses.total()

    def line(self, width: int) -> str:
        score = f"{100 * self.killed / self.total:5.1f}%" if self.total else "     -"
        other = self.total - self.killed - self.survived
        return f"{self.label:<{width}}  {self.killed:>6}  {self.survived:>8}  {other:>5}  {self.total:>5}  {score}"


def mutmut_config() -> dict[str, Any]:
    config: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    return config


def scope(config: dict[str, Any]) -> dict[str, list[str]]:
    """The mutant-name patterns that count, by module: from only_mutate, narrowed by PURE_FUNCTIONS."""
    patterns: dict[str, list[str]] = {}
    for path in config["only_mutate"]:
        module = path.removeprefix("src/").removesuffix(".py").replace("/", ".")
        functions = PURE_FUNCTIONS.get(module)
        patterns[module] = [f"{module}.x_{name}__mutmut_*" for name in functions] if functions else [f"{module}.*"]
    return patterns


def stage(config: dict[str, Any]) -> None:
    """A fresh .mutation/: links to what mutmut copies, and no mutants or results of an earlier run."""
    shutil.rmtree(STAGE, ignore_errors=True)  # removes the links, never what they point to
    links = {name: name for name in ["pyproject.toml", "tests", *config["also_copy"]]}
    links[config["source_paths"][0]] = LAYER_PACKAGE
    for name, target in links.items():
        link = STAGE / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(ROOT / target, target_is_directory=(ROOT / target).is_dir())


def run_mutmut(patterns: list[str]) -> None:
    mutmut = Path(sys.executable).parent / "mutmut"
    print(f"mutmut run (its output: {LOG.relative_to(ROOT)}); this takes minutes ...", flush=True)
    with LOG.open("w") as log:
        done = subprocess.run([str(mutmut), "run", *patterns], cwd=STAGE, stdout=log, stderr=subprocess.STDOUT,
                              check=False)
    if done.returncode != 0:
        print(LOG.read_text()[-4000:])
        sys.exit(f"mutmut run failed (exit {done.returncode})")


def report(patterns: dict[str, list[str]], seconds: float) -> None:
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.stats import status_by_exit_code

    os.chdir(STAGE)  # mutmut reads its results relative to the directory it ran in
    scores, survivors = [], []
    for module, globs in patterns.items():
        path = Path("src", *module.split(".")).with_suffix(".py")
        data = SourceFileMutationData(path=path)
        data.load()
        functions = PURE_FUNCTIONS.get(module)
        score = Score(module + (f" ({', '.join(functions)})" if functions else ""))
        for name, code in sorted(data.exit_code_by_key.items(), key=lambda item: _in_order(item[0])):
            if any(fnmatch.fnmatchcase(name, glob) for glob in globs):
                score.statuses[status_by_exit_code[code]] += 1
                if status_by_exit_code[code] == "survived":
                    survivors.append((name, path))
        scores.append(score)
    scores.append(Score("all", sum((score.statuses for score in scores), Counter())))

    width = max(len(score.label) for score in scores)
    print(f"\n{'module':<{width}}  killed  survived  other  total   score")
    for score in scores:
        print(score.line(width))
    print(f"\n{seconds / 60:.1f} minutes. Killed includes timeouts; other: no test ran it, or it was not run.")
    if survivors:
        print(f"\n{len(survivors)} surviving mutants (each to be killed by a test, or listed in docs/testing.md as "
              "equivalent):")
    for name, path in survivors:
        diff = get_diff_for_mutant(name, path=path).splitlines()[2:]
        print(f"  {name}", *(f"    {line[0]} {line[1:].strip()}" for line in diff if line[:1] in "+-"), sep="\n")


def _in_order(name: str) -> tuple[str, int]:
    function, _, number = name.rpartition("__mutmut_")
    return function, int(number) if number.isdigit() else 0


def main() -> None:
    started = time.monotonic()
    config = mutmut_config()
    patterns = scope(config)
    stage(config)
    run_mutmut([glob for globs in patterns.values() for glob in globs])
    report(patterns, time.monotonic() - started)


if __name__ == "__main__":
    main()
