"""Shared pieces of the fuzz tests: hypothesis profiles, strategies, the response checks every fuzzed
request must pass, and the per-endpoint counters printed at the end of the run (README figures).

Budget: `CHUMNUOY_FUZZ_EXAMPLES` examples per endpoint test (default 100 in `make test`); the
`bench` profile (`HYPOTHESIS_PROFILE=bench` or `chumnuoy bench fuzz`) runs 2,000 per endpoint.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

DEFAULT_EXAMPLES = 100
BENCH_EXAMPLES = 2000

settings.register_profile(
    "chumnuoy",
    max_examples=int(os.environ.get("CHUMNUOY_FUZZ_EXAMPLES", DEFAULT_EXAMPLES)),
    deadline=None,
    database=None,  # no .hypothesis/ directory in the tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile(
    "bench",
    parent=settings.get_profile("chumnuoy"),
    max_examples=int(os.environ.get("CHUMNUOY_FUZZ_EXAMPLES", BENCH_EXAMPLES)),
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "chumnuoy"))

def budget(fraction: float) -> settings:
    """A share of the profile's examples, for endpoints fuzzed in many variants (portal forms and
    pages): each variant still gets at least 10 examples, the bench profile hundreds."""
    return settings(max_examples=max(10, int(settings.default.max_examples * fraction)))


KHMER = re.compile(r"[\u1780-\u17ff]")
LEAKS = re.compile(
    r"Traceback|File \"/|\b(?:[A-Z][A-Za-z]+(?:Error|Exception)|KeyError|StopIteration|"
    r"IntegrityError|OperationalError|DataError|ProgrammingError|sqlalchemy|psycopg|werkzeug)\b")
"""What must never reach a caller: a stack trace or an exception class name."""

# ------------------------------------------------------------------------------ strategies

_any_text = st.text(st.characters(codec="utf-8"), max_size=300)
printable_junk = st.one_of(
    _any_text,
    st.text(st.characters(codec="utf-8"), min_size=100, max_size=600),
    st.text(st.sampled_from("\x00\x01\x1b\u200b\u202e\ufeff\ufffdaក១"), max_size=8),
)
"""Any Unicode scalar value (NUL, controls, bidi marks, emoji, Khmer, unpaired combining marks), and
strings longer than any database column."""

khmerish = st.text(st.sampled_from(
    "០១២៣៤៥៦៧៨៩0123456789*#+ កខគឃងចឆជឈញដឋឌឍណតថទធនបផពភមយរលវសហឡអាិីឹឺុូួើឿៀេែៃោៅំះ៉៊់៌៍៎៏័្\u200b\u200c"
    "STOPstartHELPmenuឈប់ជំនួយម៉ឺនុយ"), max_size=80)
"""Text close to what citizens send, so fuzzing also walks the journeys instead of bouncing off."""

citizen_text = st.one_of(printable_junk, khmerish, st.sampled_from(
    ["", "1", "2", "3", "4", "00", "0", "98", "99", "*", "**", "1*1*1", "12041996", "១២០៤១៩៩៦",
     "12/04/1996", "STOP", "START", "HELP", "ឈប់", "10000010", "%s%n", "' OR 1=1 --", "\x00", "\ud7ff",
     "\u202e1", "9" * 5000]))

phones = st.one_of(
    st.sampled_from(["+85512000101", "+85512000199", "85597000103", "012000108", "+", "", "abc",
                     "+855" + "9" * 40, "០១២០០០១០១", "\x00", "+85512000199\x00"]),
    st.text("0123456789+ -០១", min_size=1, max_size=120),
    printable_junk,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | printable_junk,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(printable_junk, children, max_size=4),
    max_leaves=12,
)


def form_with(fixed: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, str]]:
    """A form with the given fields (each sometimes missing) plus arbitrary extra fields."""
    optional = {name: strategy for name, strategy in fixed.items()}
    return st.fixed_dictionaries({}, optional=optional).flatmap(
        lambda base: st.dictionaries(printable_junk, printable_junk, max_size=3).map(
            lambda extra: {**extra, **base}))


# ------------------------------------------------------------------------------ checks and counts

COUNTS: Counter[str] = Counter()
FAILURES: Counter[str] = Counter()


@contextmanager
def case(endpoint: str) -> Iterator[None]:
    """Count one fuzz case for `endpoint`, and a failure when its checks raise."""
    COUNTS[endpoint] += 1
    try:
        yield
    except BaseException:
        FAILURES[endpoint] += 1
        raise


def assert_safe(response: Any, allowed: Callable[[int], bool] = lambda status: status < 500) -> str:
    """No 5xx, no stack trace or exception name in the body. Returns the body text."""
    body = response.get_data(as_text=True)
    assert allowed(response.status_code), f"status {response.status_code}: {body[:500]!r}"
    leak = LEAKS.search(body)
    assert leak is None, f"internal detail {leak.group()!r} in the answer: {body[:500]!r}"
    return body


def report_path() -> Path | None:
    value = os.environ.get("CHUMNUOY_FUZZ_REPORT")
    return Path(value) if value else None


def summary_lines() -> list[str]:
    lines = [f"{endpoint:<42} cases tried {COUNTS[endpoint]:>7,}   failures {FAILURES[endpoint]}"
             for endpoint in sorted(COUNTS)]
    total, failed = sum(COUNTS.values()), sum(FAILURES.values())
    lines.append(f"{'all endpoints':<42} cases tried {total:>7,}   failures {failed}")
    return lines


def write_report() -> None:
    path = report_path()
    if path is not None and COUNTS:
        path.write_text(json.dumps({"cases": dict(COUNTS), "failures": dict(FAILURES)}, indent=1))
