"""A queued or running job's wait in words a person reads at a glance:
"3rd in line · starts in about 40 s", "About 2 min left", "Finishing…".

static/js/genhub.js (`etaWords`) says the same sentences from the same fields,
so a page rendered by the server and one kept live by its events read alike;
tests/test_eta_words.py holds both to one table of cases.
"""

import math

from genhub.eta import NO_RECENT_RUNS, NO_WORKER, RECENT_RUNS

# Said after an estimate that rests only on how long the model's recent runs
# took (not on this run's own pace), so nobody takes it for a promise.
GUESS = " (a guess from the model's recent run times)"


def eta_words(
    status: str,
    place: int | None,
    eta_seconds: float | None,
    start_seconds: float | None,
    basis: str | None,
) -> str:
    """The sentence for a job in `status` ("" once it ended): `place` in its
    queue (1 = next), seconds until it should be done and (queued) start, and
    what the estimate rests on (genhub/eta.py's `eta_basis`)."""
    if status == "queued":
        parts = [_in_line(place)]
        if basis == NO_WORKER:
            parts.append("no worker serves this queue right now")
        elif start_seconds is not None:
            starts = (
                "starting any moment" if start_seconds < 1 else f"starts in {_about(start_seconds)}"
            )
            parts.append(starts + (GUESS if basis == RECENT_RUNS else ""))
        elif basis == NO_RECENT_RUNS:
            parts.append("no estimate yet (no recent runs of this model)")
        return _capitalized(" · ".join(parts))
    if status == "running":
        if eta_seconds is None:
            return "Running · no estimate yet (no recent runs of this model)"
        if eta_seconds < 1:
            return "Finishing…"
        return _capitalized(f"{_about(eta_seconds)} left" + (GUESS if basis == RECENT_RUNS else ""))
    return ""


def _in_line(place: int | None) -> str:
    if not place:
        return "queued"
    if place == 1:
        return "next in line"
    return f"{_ordinal(place)} in line"


def _ordinal(number: int) -> str:
    if 10 <= number % 100 <= 20:
        return f"{number}th"
    return f"{number}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(number % 10, 'th') }"


def _about(seconds: float) -> str:
    if seconds < 10:
        return "a few seconds"
    if seconds < 60:
        return f"about {max(10, _round(seconds / 5) * 5)} s"
    if seconds < 90 * 60:
        return f"about {max(1, _round(seconds / 60))} min"
    return f"about {_round(seconds / 3600)} h"


def _round(value: float) -> int:
    """Halves up, as JavaScript's Math.round (Python's round() goes to even)."""
    return math.floor(value + 0.5)


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]
