"""How fast programs dial: token buckets and concurrency limits, on an injected clock.

Three limits, all of which must allow a dial:
- the program's own: `maxConcurrent` calls at once and `callsPerSecond`;
- per gateway: `gatewayLimits` concurrent calls, counted across every program of the process;
- FreeSWITCH's: its `sessions-per-second` (setting `freeswitch_sps`) refuses originates
  beyond it with DESTINATION_OUT_OF_ORDER. Programs together stay at SPS_MARGIN of it, so a
  dial is never refused by the throttle, whatever else (inbound calls, ad-hoc calls) runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

SPS_MARGIN = 0.8
_EPSILON = 1e-9  # a token refilled as 0.99999999999995 by float arithmetic is a token


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up. Starts full."""

    def __init__(
        self, rate: float, burst: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self.clock = clock
        self._tokens = self.burst
        self._at = clock()

    def _refill(self) -> None:
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now

    def available(self) -> int:
        self._refill()
        return int(self._tokens + _EPSILON)

    def take(self) -> bool:
        self._refill()
        if self._tokens + _EPSILON < 1:
            return False
        self._tokens -= 1
        return True

    def wait(self) -> float:
        """Seconds until a token is there (0 when one is)."""
        self._refill()
        return 0.0 if self._tokens + _EPSILON >= 1 else (1 - self._tokens) / self.rate


@dataclass
class GatewayLoad:
    """Calls in progress per gateway, shared by the programs of one process."""

    active: dict[str, int] = field(default_factory=dict)

    def room(self, gateway: str, limit: int | None) -> int:
        if limit is None:
            return 1 << 30
        return max(0, limit - self.active.get(gateway, 0))

    def add(self, gateway: str, delta: int) -> None:
        self.active[gateway] = self.active.get(gateway, 0) + delta


def program_rate_limit(freeswitch_sps: float) -> float:
    """The calls per second programs may use together, below FreeSWITCH's throttle."""
    return freeswitch_sps * SPS_MARGIN
