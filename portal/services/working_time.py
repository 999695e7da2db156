"""Working-time arithmetic for the grievance SLA clock (SPEC §6).

A working day is a whole calendar day, Monday to Friday in Asia/Phnom_Penh, that is not a public
holiday (portal/data/holidays-kh.yaml, or the file named by CHUMNUOY_HOLIDAYS_FILE). "N working days"
is N × 24 hours of working time, so a case lodged on Friday at 15:00 with 2 working days to go is due
on Tuesday at 15:00, and one lodged on Saturday is due on Wednesday at 00:00. Pauses (waiting for the
citizen) are intervals during which the clock stands still; an open pause has no end yet.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

PHNOM_PENH = ZoneInfo("Asia/Phnom_Penh")
DEFAULT_HOLIDAYS_FILE = Path(__file__).resolve().parent.parent / "data" / "holidays-kh.yaml"
_HORIZON_DAYS = 5 * 366

Pause = tuple[datetime, datetime | None]


def load_holidays(path: str | Path) -> frozenset[date]:
    """The dates of a holiday file: `holidays: {year: [{date: YYYY-MM-DD, name}, ...]}`."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    found: set[date] = set()
    for entries in (data.get("holidays") or {}).values():
        for entry in entries or []:
            value = entry["date"] if isinstance(entry, dict) else entry
            found.add(value if isinstance(value, date) else date.fromisoformat(str(value)))
    return frozenset(found)


def aware_utc(value: datetime) -> datetime:
    """An aware UTC datetime (SQLite hands back naive datetimes; they are stored in UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_aware = aware_utc


class WorkingCalendar:
    def __init__(self, holidays: Iterable[date] = (), tz: ZoneInfo = PHNOM_PENH) -> None:
        self.holidays = frozenset(holidays)
        self.tz = tz

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def _day_bounds(self, day: date) -> tuple[datetime, datetime]:
        start = datetime.combine(day, time(0), self.tz)
        return start, datetime.combine(day + timedelta(days=1), time(0), self.tz)

    def _working_segments(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals from `start` onwards, in order (bounded by a five-year horizon)."""
        day = start.astimezone(self.tz).date()
        for _ in range(_HORIZON_DAYS):
            if self.is_working_day(day):
                day_start, day_end = self._day_bounds(day)
                if day_end > start:
                    yield max(day_start, start), day_end
            day += timedelta(days=1)

    @staticmethod
    def _minus_pauses(segment: tuple[datetime, datetime], pauses: Sequence[Pause]
                      ) -> Iterator[tuple[datetime, datetime | None]]:
        """Parts of `segment` outside every pause; a part ending in None runs into an open pause."""
        parts: list[tuple[datetime, datetime]] = [segment]
        open_from: datetime | None = None
        for p_start, p_end in sorted(((_aware(s), _aware(e) if e else None) for s, e in pauses),
                                     key=lambda p: p[0]):
            if p_end is None:
                open_from = p_start if open_from is None else min(open_from, p_start)
                continue
            parts = [piece for a, b in parts for piece in ((a, min(b, p_start)), (max(a, p_end), b))
                     if piece[0] < piece[1]]
        for a, b in parts:
            if open_from is not None and b > open_from:
                if a < open_from:
                    yield a, open_from
                yield open_from, None
                return
            yield a, b

    def elapsed(self, start: datetime, end: datetime, pauses: Sequence[Pause] = ()) -> timedelta:
        """Working time between `start` and `end`, not counting pauses (an open pause runs to `end`)."""
        start, end = _aware(start), _aware(end)
        total = timedelta(0)
        for segment in self._working_segments(start):
            if segment[0] >= end:
                break
            clipped = (segment[0], min(segment[1], end))
            for a, b in self._minus_pauses(clipped, pauses):
                if b is None:
                    return total
                total += b - a
        return total

    def add(self, start: datetime, working: timedelta, pauses: Sequence[Pause] = ()) -> datetime | None:
        """The instant at which `working` working time has passed since `start`, skipping pauses;
        None while an open pause stops the clock before that."""
        start = _aware(start)
        remaining = working
        if remaining <= timedelta(0):
            return start
        for segment in self._working_segments(start):
            for a, b in self._minus_pauses(segment, pauses):
                if b is None:
                    return None
                if b - a >= remaining:
                    return (a + remaining).astimezone(UTC)
                remaining -= b - a
        raise ValueError("working time beyond the calendar horizon")

    def add_working_days(self, start: datetime, days: int, pauses: Sequence[Pause] = ()) -> datetime | None:
        return self.add(start, timedelta(days=days), pauses)


def holidays_file() -> Path:
    return Path(os.environ.get("CHUMNUOY_HOLIDAYS_FILE") or DEFAULT_HOLIDAYS_FILE)


@cache
def _calendar_for(path: str) -> WorkingCalendar:
    return WorkingCalendar(load_holidays(path))


def default_calendar() -> WorkingCalendar:
    """The calendar of the configured holiday file (cached per file)."""
    return _calendar_for(str(holidays_file()))
