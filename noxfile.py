"""Developer tasks: ``nox -s tests``, ``nox -s lint``, ``nox -s typecheck``, ``nox -s bench``."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHONS = ["3.11", "3.12", "3.13", "3.14"]
"""The Pythons with upstream support (3.11 to 3.14): ``requires-python``, the
classifiers, mypy's and ruff's target and the type tests' pyright config follow it."""


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The whole test suite (the same command as the README and CI)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHONS[0])
def tests_oldest_deps(session: nox.Session) -> None:
    """The suite against the oldest dependency versions pyproject.toml allows, on the
    oldest supported Python."""
    session.install(
        "trio==0.25.0", "httpx==0.27.0", "pydantic==2.12.5", "outcome==1.3.0", "h11==0.14.0"
    )
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def sansio_no_deps(session: nox.Session) -> None:
    """The sans-IO core imports and decodes with trio and httpx absent."""
    session.install("pydantic>=2.12.5")
    session.run("python", "tests/sansio/check_no_io_deps.py")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff")
    session.run("ruff", "check", "trio_msgstream", "tests", "examples", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "trio_msgstream", "tests", "examples", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package, plus the static type tests."""
    session.install("-e", ".[test]", "mypy")
    session.run("mypy")
    session.run("mypy", "--strict", "tests/type_tests")
    session.install("pyright")
    session.run("pyright", "--verifytypes", "trio_msgstream", "--ignoreexternal")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site (mkdocs-material + mkdocstrings) in strict mode."""
    session.install("-e", ".", "mkdocs-material", "mkdocstrings[python]")
    session.run("mkdocs", "build", "--strict", "--site-dir", "site")


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmark against raw httpx and the official SDK (``-- --quick`` for a smoke run).

    The ``anthropic`` SDK and matplotlib are benchmark-only dependencies, installed here.
    """
    session.install("-e", ".", "anthropic", "matplotlib")
    session.run("python", "benchmarks/run.py", *session.posargs)
