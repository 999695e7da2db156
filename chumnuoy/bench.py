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


@bench.command("ussd")
@click.option("--persons", type=int, default=10_000, show_default=True, help="synthetic persons (sandbox)")
@click.option("--seconds", type=float, default=5.0, show_default=True, help="per throughput round and server")
@click.option("--rounds", type=int, default=2, show_default=True)
@click.option("--latency-seconds", type=float, default=8.0, show_default=True)
@click.option("--keep", is_flag=True, help="keep the var/bench/ussd-* directory (logs, databases)")
@click.option("--redis-url", default="", help="conversation state in this Redis (default: SQL, as make run)")
def ussd_bench(persons: int, seconds: float, rounds: int, latency_seconds: float, keep: bool,
               redis_url: str) -> None:
    """First USSD hop at 50 sessions vs a bare Flask endpoint (same gunicorn); hop p99 at 10 sessions."""
    from bot.bench_ussd import run

    figures = run(persons=persons, seconds=seconds, rounds=rounds, latency_seconds=latency_seconds, keep=keep,
                  redis_url=redis_url)
    if figures.errors:
        raise SystemExit(1)
