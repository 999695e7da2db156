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


@bench.command("load")
@click.option("--config", "configs", type=click.Choice(["embedded", "production"]), multiple=True,
              help="repeatable; default both")
@click.option("--users", "users_levels", type=int, multiple=True,
              help="concurrent users, repeatable; default 50, 100, 200")
@click.option("--seconds", type=float, default=8.0, show_default=True, help="per channel and concurrency")
@click.option("--max-requests", type=int, default=40_000, show_default=True,
              help="per channel and concurrency")
@click.option("--persons", type=int, default=10_000, show_default=True, help="synthetic persons (sandbox)")
@click.option("--web-workers", type=int, default=4, show_default=True, help="gunicorn workers (production)")
@click.option("--workers", "worker_processes", type=int, default=2, show_default=True,
              help="worker processes (production)")
@click.option("--keep", is_flag=True, help="keep the var/bench/load-* directories (logs, databases)")
def load_bench(configs: tuple[str, ...], users_levels: tuple[int, ...], seconds: float, max_requests: int,
               persons: int, web_workers: int, worker_processes: int, keep: bool) -> None:
    """USSD, SMS and API load at 50/100/200 users, embedded (SQLite) and production (PostgreSQL + Redis)."""
    from chumnuoy.loadbench import CONFIGS, run

    if any(level < 1 or level > 1000 for level in users_levels):
        raise click.BadParameter("users must be between 1 and 1000", param_hint="--users")
    rows = run(configs=configs or CONFIGS, users_levels=users_levels or (50, 100, 200),
               seconds=min(seconds, 120.0), max_requests=max_requests, persons=persons,
               web_workers=web_workers, worker_processes=worker_processes, keep=keep)
    if any(row.errors for row in rows):
        raise SystemExit(1)


@bench.command("faults")
@click.option("--config", "configs", type=click.Choice(["embedded", "production"]), multiple=True,
              help="repeatable; default both")
@click.option("--seconds", type=float, default=30.0, show_default=True, help="of write load around the kills")
@click.option("--keep", is_flag=True, help="keep the var/bench/faults-* directories (logs, databases)")
def faults_bench(configs: tuple[str, ...], seconds: float, keep: bool) -> None:
    """kill -9 of web and workers under load, registry outage, PostgreSQL restart (full form)."""
    from chumnuoy.faultbench import run

    if not run(configs=configs or ("embedded", "production"), seconds=min(seconds, 300.0), keep=keep):
        raise SystemExit(1)


@bench.command("fuzz")
@click.option("--examples", type=int, default=1000, show_default=True,
              help="hypothesis examples per endpoint (portal forms and pages get a fifth)")
def fuzz_bench(examples: int) -> None:
    """Property-based fuzzing of every webhook, API endpoint, portal form and the simulator; prints
    the cases tried and the failures per endpoint (tests/security/test_fuzz_*.py, `bench` profile)."""
    import os
    import subprocess
    import sys

    from chumnuoy import ROOT

    env = {**os.environ, "HYPOTHESIS_PROFILE": "bench", "CHUMNUOY_FUZZ_EXAMPLES": str(examples)}
    files = sorted(str(p) for p in (ROOT / "tests" / "security").glob("test_fuzz_*.py"))
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--show-capture=no", *files]
    result = subprocess.run(argv, cwd=ROOT, env=env, check=False)
    raise SystemExit(result.returncode)
