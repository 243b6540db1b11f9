"""Contract tests: the real local server over HTTP (a package, so its conftest is not tests/conftest.py)."""
