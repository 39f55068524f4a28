"""A program's progress as a few lines of text, for `callflow program status [--follow]`.

Dialled (attempts so far), in progress, by disposition, the dial rate over the last minute,
and a rough time to finish: contacts still to call divided by that rate (retries waiting
for their time are counted as still to call; the estimate ignores windows).
"""

from __future__ import annotations

from controller.programs.store import ProgramRow, ProgramStats

RATE_WINDOW = 60.0


def duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def render(program: ProgramRow, stats: ProgramStats) -> str:
    version = f"@{program.flow_version}" if program.flow_version else ""
    lines = [
        f"program {program.id} ({program.spec.name}): {program.state}"
        + (f" — {program.reason}" if program.reason else ""),
        f"  flow        {program.spec.flow}{version}",
    ]
    done = stats.by_status.get("done", 0)
    lines.append(
        f"  contacts    {stats.contacts}: {done} done, {stats.in_progress} in progress, "
        f"{stats.remaining} to call"
    )
    lines.append(f"  dialled     {stats.attempts} attempt(s)")
    if stats.by_disposition:
        parts = sorted(stats.by_disposition.items(), key=lambda item: (-item[1], item[0]))
        lines.append("  disposition " + ", ".join(f"{name} {count}" for name, count in parts))
    outcomes = {k: v for k, v in stats.attempts_by_outcome.items() if k != "in_progress"}
    if outcomes:
        parts = sorted(outcomes.items(), key=lambda item: (-item[1], item[0]))
        lines.append("  outcomes    " + ", ".join(f"{name} {count}" for name, count in parts))
    rate = stats.recent_attempts / RATE_WINDOW
    lines.append(f"  rate        {rate * 60:.1f} call(s)/min over the last minute")
    if program.state in ("completed", "cancelled"):
        lines.append(f"  finished    {program.state}")
    elif stats.remaining == 0 and stats.in_progress == 0:
        lines.append("  to finish   nothing left to call")
    elif rate > 0:
        lines.append(f"  to finish   about {duration(stats.remaining / rate)} at this rate")
    else:
        lines.append("  to finish   unknown (no calls in the last minute)")
    return "\n".join(lines) + "\n"


def as_dict(stats: ProgramStats) -> dict[str, object]:
    """The same progress as data (the HTTP API): counts, rate, and time to finish (None when
    it cannot be estimated)."""
    rate = stats.recent_attempts / RATE_WINDOW
    remaining = stats.remaining
    eta: float | None = None
    if remaining == 0 and stats.in_progress == 0:
        eta = 0.0
    elif rate > 0:
        eta = round(remaining / rate, 1)
    return {
        "contacts": stats.contacts,
        "done": stats.by_status.get("done", 0),
        "inProgress": stats.in_progress,
        "toCall": remaining,
        "attempts": stats.attempts,
        "byStatus": dict(stats.by_status),
        "byDisposition": dict(stats.by_disposition),
        "byOutcome": {k: v for k, v in stats.attempts_by_outcome.items() if k != "in_progress"},
        "callsPerMinute": round(rate * 60, 2),
        "secondsToFinish": eta,
    }
