"""Developer tasks: ``nox -s tests`` (on httpx), ``nox -s tests_httpx2`` (the same suite on
httpx2), ``nox -s lint``, ``nox -s typecheck``, ``nox -s bench``."""

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
def tests_httpx2(session: nox.Session) -> None:
    """The whole suite with httpx2 as the library's HTTP client (``-- -m "not slow"``
    for a smoke run); ``tests`` runs it on httpx, the default."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs, env={"TRIO_MSGSTREAM_TEST_HTTP": "httpx2"})


@nox.session(python=PYTHONS[0])
def httpx2_only(session: nox.Session) -> None:
    """The contract suite with httpx2 installed and httpx not: a user of httpx2 alone."""
    session.install(
        "trio>=0.25", "pydantic>=2.12.5,<3", "outcome>=1.3", "h11>=0.14", "httpx2>=2.17"
    )
    session.install("pytest>=8", "pytest-trio>=0.8", "pytest-timeout>=2.3", "pytest-xdist>=3.5")
    session.install("--no-deps", "-e", ".")
    session.run("python", "-c", "import importlib.util as u; assert not u.find_spec('httpx')")
    session.run("pytest", "tests/contract", *session.posargs)


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
    """The benchmark against raw httpx and the official SDK (``-- --quick`` for a smoke run),
    with the ``*_httpx2`` contenders measuring the library on httpx2.

    The ``anthropic`` SDK and matplotlib are benchmark-only dependencies, installed here.
    """
    session.install("-e", ".[httpx2]", "anthropic", "matplotlib")
    session.run("python", "benchmarks/run.py", *session.posargs)
