"""Deadline arithmetic.

Calendar mode counts every second. Working-day mode lets time run only from
Monday 00:00 to Saturday 00:00 UTC, so a working day is 24 hours of
Monday-Friday time: five working days from Friday 15:00 end on the next Friday
15:00. Public holidays are NOT taken into account; no municipality's holiday
calendar is modelled yet.

Working time is measured as an offset on a single line that skips weekends
(`_working_offset`). Adding time and measuring what is left are then plain
subtraction on that line, which keeps "pause, then resume" exact.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

UTC = timezone.utc
_EPOCH = datetime(1970, 1, 5, tzinfo=UTC)  # a Monday
_WEEK = timedelta(days=7)
_WORK_WEEK = timedelta(days=5)


def _working_offset(t: datetime) -> timedelta:
    """Working time from _EPOCH to t; weekend moments map to the following Monday."""
    since = t - _EPOCH
    weeks = since // _WEEK
    into_week = since - weeks * _WEEK
    return weeks * _WORK_WEEK + min(into_week, _WORK_WEEK)


def _from_working_offset(offset: timedelta) -> datetime:
    weeks = offset // _WORK_WEEK
    into_week = offset - weeks * _WORK_WEEK
    if not into_week:
        # Exactly on a week boundary: the time ran out at the end of Friday,
        # not on Monday morning.
        return _EPOCH + (weeks - 1) * _WEEK + _WORK_WEEK
    return _EPOCH + weeks * _WEEK + into_week


def add_time(start: datetime, amount: timedelta, working: bool) -> datetime:
    """`start` plus `amount`, where `amount` is working time when `working`."""
    if not working or amount <= timedelta(0):
        return start + amount
    return _from_working_offset(_working_offset(start) + amount)


def add_days(start: datetime, days: int, working: bool) -> datetime:
    """The deadline `days` (working) days after `start`."""
    return add_time(start, timedelta(days=days), working)


def remaining_seconds(now: datetime, due_at: datetime, working: bool) -> int:
    """Whole (working) seconds left until `due_at`; never negative."""
    if working:
        left = _working_offset(due_at) - _working_offset(now)
    else:
        left = due_at - now
    return max(0, left // timedelta(seconds=1))


def resume(now: datetime, remaining_s: int, working: bool) -> datetime:
    """The new deadline for a paused clock that had `remaining_s` left."""
    return add_time(now, timedelta(seconds=remaining_s), working)


def start_of_day(day: date) -> datetime:
    """00:00 UTC on `day`; deadlines tied to agreement dates fall there."""
    return datetime.combine(day, time(0), tzinfo=UTC)


def is_overdue(clock, now: datetime) -> bool:
    """True once the clock's deadline has been reached (now >= due_at)."""
    return clock.due_at is not None and now >= clock.due_at


def add_months(moment: datetime, months: int) -> datetime:
    """The same day ``months`` later, or the month's last day if it is shorter."""
    import calendar

    total = moment.month - 1 + months
    year, month = moment.year + total // 12, total % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def next_report_due(state) -> datetime | None:
    """When the next progress report is due: a reporting period after the last
    report, or after the agreement's start. None when nothing is due (not in
    operation, or the agreement sets no reporting frequency)."""
    agreement = state.agreement
    if state.state != "in_operation" or agreement is None or not agreement.report_every_months:
        return None
    since = state.last_report_at or start_of_day(agreement.starts_on)
    return add_months(since, agreement.report_every_months)
