"""`chumnuoy bench …`: benchmarks that print their figures (run all with `make bench`)."""

from __future__ import annotations

import click


@click.group()
def bench() -> None:
    """Benchmarks; each prints the figures quoted in the README."""


@bench.command("list")
def list_benchmarks() -> None:
    """Print the benchmark names, one per line (used by `make bench`)."""
    for name in sorted(bench.commands):
        if name != "list":
            click.echo(name)


@bench.command("registry")
@click.option("--persons", type=int, default=1_000_000, show_default=True)
@click.option("--lookups", type=int, default=2_000, show_default=True)
@click.option("--database-url", default=None, help="default: a fresh SQLite file under var/bench/")
def registry_bench(persons: int, lookups: int, database_url: str | None) -> None:
    """Seed N persons into a fresh sandbox database, then time sync search by identifier."""
    from registry_sandbox.bench import run

    run(persons=persons, lookups=lookups, database_url=database_url)


@bench.command("nlu")
def nlu_bench() -> None:
    """Both NLU backends on the held-out split, plus parse-CLI and load timings."""
    from nlu.bench import run

    run()
