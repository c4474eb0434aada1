"""NDR/PDR search: the highest rate a device forwards with at most a given
loss ratio, found by trials (FD.io CSIT's binary search, with the
forwarding-rate hint MLRsearch starts from).

Pure: it knows nothing of TRex.  A *trial* is a callable
``trial(rate_pps, duration_s) -> TrialResult`` that offers ``rate_pps`` for
``duration_s`` and returns the port counters: packets the generator actually
sent, packets that came back, and the time the run actually took.

Loss is ``sent - received`` from those counters, never ``asked - received``:
a generator that cannot keep up (TRex stretches the run, a memif port
silently sends less) must not look like loss in the device under test.
Such a trial -- actual tx rate below ``saturation`` (99 %) of the target --
is flagged ``saturated``.  It never becomes an upper bound: the search
lowers its ceiling to what the generator actually managed and goes on
below it.  If the device passes everything the generator can produce, the
result is flagged ``generator_limited`` (the true NDR is at least that).

Search for one loss-ratio goal (``0.0`` = NDR, ``0.005`` = PDR):

1. trial at the maximum rate; a pass ends the search (``at_max``);
2. after a failure, trial at the forwarding rate just measured (what the
   device did forward is usually just below its capacity);
3. trial at the minimum rate if no pass is known yet; a failure there ends
   the search (``below_min``, rate 0);
4. bisect the interval [highest pass, lowest failure] until its width
   relative to its upper end is at most ``precision``.

NDR and PDR share trials: every valid trial is a bound for both goals, so
the PDR search starts from what the NDR search already knows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

from mupvpp.errors import InputError

__all__ = [
    "DEFAULT_PDR_LOSS",
    "DEFAULT_PRECISION",
    "SATURATION",
    "GoalResult",
    "SearchInputError",
    "SearchResult",
    "Trial",
    "TrialResult",
    "search",
    "search_ndr_pdr",
]

SATURATION = 0.99  # actual tx rate below this fraction of the target: saturated
DEFAULT_PRECISION = 0.005  # final interval width / its upper end
DEFAULT_PDR_LOSS = 0.005  # 0.5 % as CSIT's PDR
DEFAULT_MAX_TRIALS = 40


class SearchInputError(InputError, ValueError):
    """Bad search parameters, or a trial that returned nonsense."""


@dataclass(frozen=True)
class TrialResult:
    """Port counters of one trial.

    ``sent``: packets the generator's TX port(s) actually sent (opackets);
    ``received``: packets its RX port(s) got back (ipackets);
    ``duration_s``: the time the run actually took (TRex stretches a run it
    cannot keep up with); ``offered_pps``: the rate that was asked for.
    """

    sent: int
    received: int
    duration_s: float
    offered_pps: float

    @property
    def loss(self) -> int:
        return max(0, self.sent - self.received)

    @property
    def loss_ratio(self) -> float:
        """Lost / sent; 1.0 when nothing was sent (nothing was shown)."""
        return self.loss / self.sent if self.sent > 0 else 1.0

    @property
    def tx_pps(self) -> float:
        """Rate actually offered: packets sent over the time actually taken."""
        return self.sent / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def rx_pps(self) -> float:
        """Forwarding rate: packets received over the time actually taken."""
        return (
            min(self.received, self.sent) / self.duration_s
            if self.duration_s > 0
            else 0.0
        )

    def saturated(self, threshold: float = SATURATION) -> bool:
        return self.tx_pps < threshold * self.offered_pps


@dataclass(frozen=True)
class Trial:
    """One trial as the search saw it."""

    index: int
    target_pps: float
    duration_s: float  # asked
    result: TrialResult
    saturated: bool

    @property
    def loss_ratio(self) -> float:
        return self.result.loss_ratio

    def passes(self, goal: float) -> bool:
        return self.result.sent > 0 and self.result.loss_ratio <= goal

    def as_dict(self) -> dict:
        r = self.result
        return {
            "index": self.index,
            "target_pps": self.target_pps,
            "duration_s": self.duration_s,
            "actual_duration_s": r.duration_s,
            "sent": r.sent,
            "received": r.received,
            "loss": r.loss,
            "loss_ratio": r.loss_ratio,
            "tx_pps": r.tx_pps,
            "rx_pps": r.rx_pps,
            "saturated": self.saturated,
        }


@dataclass
class GoalResult:
    """The outcome of the search for one loss-ratio goal.

    ``rate_pps``: highest rate (actually offered) that met the goal, 0 when
    even the minimum failed; ``upper_pps``: lowest valid rate that failed
    (None: none failed); ``generator_limited``: the device met the goal at
    every rate the generator could produce, the true value is higher;
    ``converged``: the precision goal was reached (or the search ended at a
    limit: maximum rate, minimum rate, generator ceiling).
    """

    name: str
    loss_ratio_goal: float
    rate_pps: float = 0.0
    upper_pps: float | None = None
    at_max: bool = False
    below_min: bool = False
    generator_limited: bool = False
    converged: bool = False
    lower_trial: int | None = None  # index of the trial behind rate_pps
    upper_trial: int | None = None  # index of the trial behind upper_pps
    trials: list[int] = field(default_factory=list)  # run by this goal's search

    @property
    def relative_width(self) -> float | None:
        if self.upper_pps is None or self.upper_pps <= 0:
            return None
        return (self.upper_pps - self.rate_pps) / self.upper_pps

    def as_dict(self) -> dict:
        d = asdict(self)
        d["relative_width"] = self.relative_width
        return d


@dataclass
class SearchResult:
    ndr: GoalResult
    pdr: GoalResult
    trials: list[Trial]
    min_pps: float
    max_pps: float
    precision: float
    generator_ceiling_pps: float | None = None  # None: never saturated

    @property
    def saturated(self) -> bool:
        return any(t.saturated for t in self.trials)

    def as_dict(self) -> dict:
        return {
            "ndr_pps": self.ndr.rate_pps,
            "pdr_pps": self.pdr.rate_pps,
            "ndr": self.ndr.as_dict(),
            "pdr": self.pdr.as_dict(),
            "min_pps": self.min_pps,
            "max_pps": self.max_pps,
            "precision": self.precision,
            "saturated": self.saturated,
            "generator_ceiling_pps": self.generator_ceiling_pps,
            "trials": [t.as_dict() for t in self.trials],
        }


def _check_params(min_pps, max_pps, duration, precision, goals, max_trials, sat):
    def num(x) -> bool:
        return (
            isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
        )

    if not num(min_pps) or min_pps <= 0:
        raise SearchInputError(
            f"min rate must be a positive number of pps, not {min_pps!r}"
        )
    if not num(max_pps) or max_pps < min_pps:
        raise SearchInputError(
            f"max rate must be a number >= min rate ({min_pps}), not {max_pps!r}"
        )
    if not num(duration) or duration <= 0:
        raise SearchInputError(f"trial duration must be > 0 s, not {duration!r}")
    if not num(precision) or not 0 < precision < 1:
        raise SearchInputError(f"precision must be in (0, 1), not {precision!r}")
    for g in goals:
        if not num(g) or not 0 <= g < 1:
            raise SearchInputError(f"loss ratio goal must be in [0, 1), not {g!r}")
    if not isinstance(max_trials, int) or max_trials < 1:
        raise SearchInputError(
            f"max trials must be a positive integer, not {max_trials!r}"
        )
    if not num(sat) or not 0 < sat <= 1:
        raise SearchInputError(f"saturation threshold must be in (0, 1], not {sat!r}")


class _Searcher:
    def __init__(
        self, trial, min_pps, max_pps, duration, precision, max_trials, sat, progress
    ):
        if not callable(trial):
            raise SearchInputError(
                "trial must be callable: trial(rate_pps, duration_s)"
            )
        self.trial_fn = trial
        self.min_pps = float(min_pps)
        self.max_pps = float(max_pps)
        self.duration = float(duration)
        self.precision = float(precision)
        self.max_trials = max_trials
        self.sat = float(sat)
        self.progress = progress
        self.trials: list[Trial] = []
        # Highest rate worth asking for: lowered to what the generator
        # actually managed whenever a trial comes back saturated.
        self.ceiling = self.max_pps
        self.gen_ceiling: float | None = None

    # -- trials ------------------------------------------------------------
    def run(self, rate: float) -> Trial:
        rate = float(rate)
        r = self.trial_fn(rate, self.duration)
        if not isinstance(r, TrialResult):
            raise SearchInputError(
                f"trial({rate}, {self.duration}) returned {type(r).__name__}, "
                "not TrialResult"
            )
        if r.sent < 0 or r.received < 0 or not r.duration_s >= 0:
            raise SearchInputError(f"trial returned impossible counters: {r}")
        if r.offered_pps <= 0:  # the trial did not say: it is what we asked
            r = TrialResult(r.sent, r.received, r.duration_s, rate)
        t = Trial(len(self.trials), rate, self.duration, r, r.saturated(self.sat))
        self.trials.append(t)
        if t.saturated:
            achieved = r.tx_pps
            self.gen_ceiling = (
                achieved
                if self.gen_ceiling is None
                else min(self.gen_ceiling, achieved)
            )
            # Ask a little less than what was achieved, so the next trial
            # at the ceiling can be a valid one; strictly decreasing.
            self.ceiling = min(self.ceiling, achieved * self.sat, rate * self.sat)
        if self.progress:
            self.progress(t)
        return t

    # -- bounds ------------------------------------------------------------
    def bounds(self, goal: float, top: float) -> tuple[Trial | None, Trial | None]:
        """(trial of the highest passing rate, trial of the lowest failing
        rate) for ``goal``; rates by :meth:`rate_of`.

        Only valid (unsaturated) trials at or below ``top`` fail; a
        saturated trial that met the goal passes at the rate it actually
        offered; a saturated trial that did not counts for nothing.  A
        pass above the lowest failure (a noisy device) is not believed:
        the pass taken is the highest one below that failure.
        """
        hi = None
        for t in self.trials:
            if not t.saturated and not t.passes(goal) and t.target_pps <= top:
                if hi is None or t.target_pps < hi.target_pps:
                    hi = t
        lo = None
        for t in self.trials:
            if t.passes(goal):
                rate = self.rate_of(t)
                if hi is None or rate < hi.target_pps:
                    if lo is None or rate > self.rate_of(lo):
                        lo = t
        return lo, hi

    @staticmethod
    def rate_of(t: Trial) -> float:
        """The rate a trial stands for: the target, or what a saturated
        generator actually offered."""
        return min(t.target_pps, t.result.tx_pps) if t.saturated else t.target_pps

    def narrow_enough(self, lo: float, hi: float) -> bool:
        # (a hair of tolerance: a probe at lo / (1 - precision) is enough)
        return hi <= lo or (hi - lo) / hi <= self.precision * (1 + 1e-9)

    # -- one goal ----------------------------------------------------------
    def search(self, name: str, goal: float) -> GoalResult:
        res = GoalResult(name, goal)
        first = len(self.trials)
        # Relative step of the upward probe from the highest pass.  A later
        # goal starts probing right away: its answer is usually just above
        # the previous goal's.
        probe: float | None = self.precision if self.trials else None
        # A failed hint means the loss does not fall with the rate the way a
        # capacity limit's does (a receiver that misses a few percent at any
        # rate): hints are then left alone until a trial passes.
        hint_failed = False
        while True:
            top = min(self.max_pps, self.ceiling)
            lo_t, hi_t = self.bounds(goal, top)
            lo = self.rate_of(lo_t) if lo_t else None
            hi = hi_t.target_pps if hi_t else None
            res.lower_trial = lo_t.index if lo_t else None
            res.upper_trial = hi_t.index if hi_t else None
            if lo is not None and lo >= top:
                # Everything up to what can be offered passes.
                res.rate_pps = lo
                res.at_max = self.gen_ceiling is None
                res.generator_limited = self.gen_ceiling is not None
                res.converged = True
                break
            if top < self.min_pps:
                # The generator cannot even produce the minimum rate.
                res.rate_pps = lo or 0.0
                res.upper_pps = hi
                res.generator_limited = True
                res.below_min = lo is None
                res.converged = lo is not None
                break
            if hi is not None and hi <= self.min_pps and lo is None:
                res.rate_pps = 0.0
                res.upper_pps = hi
                res.below_min = True
                res.converged = True
                break
            if lo is not None and hi is not None and self.narrow_enough(lo, hi):
                res.rate_pps = lo
                res.upper_pps = hi
                res.converged = True
                break
            if len(self.trials) >= self.max_trials:
                res.rate_pps = lo or 0.0
                res.upper_pps = hi
                break
            # Next rate to try.
            h = None
            if hi_t is not None and not hint_failed:
                h = self.hint(hi_t, goal, lo)
            kind = "bisect"
            if hi is None:
                rate = top  # maximum first (or the lowered ceiling)
                last = self.trials[-1] if self.trials else None
                if last is not None and last.saturated and not last.passes(goal):
                    # A saturated trial with loss is no bound, but what the
                    # device forwarded meanwhile is a good next guess (a
                    # memif port held back by a slow reader sends less at
                    # every rate: walking the ceiling down is slow).
                    h = self.hint(last, goal, lo, below=top)
                    if h is not None:
                        rate, kind = h, "hint"
            elif h is not None:
                rate, kind = h, "hint"
            elif lo is None and hint_failed:
                # halve down from the failure towards a first pass
                rate = max(self.min_pps, hi / 2)
            elif lo is None:
                rate = self.min_pps
            elif probe is not None and lo / (1 - probe) < (lo + hi) / 2:
                rate, kind = lo / (1 - probe), "probe"
            else:
                rate = (lo + hi) / 2
            t = self.run(rate)
            # After a pass at a hinted rate the capacity is likely just
            # above it: probe upwards in steps that double from the
            # precision goal (MLRsearch's external search) until a failure.
            ok = t.passes(goal)
            hint_failed = (hint_failed or kind == "hint") and not ok
            if kind == "hint":
                probe = self.precision if ok else None
            elif kind == "probe":
                probe = probe * 2 if ok else None
        res.trials = list(range(first, len(self.trials)))
        return res

    def hint(
        self, fail: Trial, goal: float, lo: float | None, below: float | None = None
    ) -> float | None:
        """After a failure: the forwarding rate measured there, scaled to
        the loss allowed, if it is usefully inside the interval (above the
        minimum and the highest pass, below the failure -- or ``below`` --
        by more than the precision).  For a device that drops what it
        cannot forward this is its capacity."""
        rx = fail.result.rx_pps / (1 - goal)
        floor = self.min_pps if lo is None else lo / (1 - self.precision)
        top = fail.target_pps if below is None else min(below, fail.target_pps)
        if floor < rx < top * (1 - self.precision):
            return rx
        return None


def search(
    trial: Callable[[float, float], TrialResult],
    min_pps: float,
    max_pps: float,
    duration: float = 1.0,
    *,
    loss_ratios: Iterable[float] = (0.0, DEFAULT_PDR_LOSS),
    names: Iterable[str] | None = None,
    precision: float = DEFAULT_PRECISION,
    max_trials: int = DEFAULT_MAX_TRIALS,
    saturation: float = SATURATION,
    progress: Callable[[Trial], None] | None = None,
) -> tuple[list[GoalResult], list[Trial], float | None]:
    """Search every loss-ratio goal in turn (ascending), sharing trials.

    Returns (one GoalResult per goal, every trial, the generator ceiling in
    pps or None if no trial saturated).  ``max_trials`` bounds the trials
    of all goals together; a goal cut short has ``converged`` False.
    """
    goals = list(loss_ratios)
    _check_params(min_pps, max_pps, duration, precision, goals, max_trials, saturation)
    if not goals:
        raise SearchInputError("no loss ratio goal given")
    names = list(names) if names is not None else [f"loss<={g:g}" for g in goals]
    if len(names) != len(goals):
        raise SearchInputError("one name per loss ratio goal")
    s = _Searcher(
        trial, min_pps, max_pps, duration, precision, max_trials, saturation, progress
    )
    order = sorted(range(len(goals)), key=lambda i: goals[i])
    out: list[GoalResult | None] = [None] * len(goals)
    for i in order:
        out[i] = s.search(names[i], float(goals[i]))
    return out, s.trials, s.gen_ceiling  # type: ignore[return-value]


def search_ndr_pdr(
    trial: Callable[[float, float], TrialResult],
    min_pps: float,
    max_pps: float,
    duration: float = 1.0,
    *,
    pdr_loss: float = DEFAULT_PDR_LOSS,
    precision: float = DEFAULT_PRECISION,
    max_trials: int = DEFAULT_MAX_TRIALS,
    saturation: float = SATURATION,
    progress: Callable[[Trial], None] | None = None,
) -> SearchResult:
    """NDR (zero loss) and PDR (``pdr_loss``, 0.5 % by default) of the
    device behind ``trial``, between ``min_pps`` and ``max_pps``."""
    if not isinstance(pdr_loss, int | float) or not 0 < pdr_loss < 1:
        raise SearchInputError(f"PDR loss ratio must be in (0, 1), not {pdr_loss!r}")
    (ndr, pdr), trials, ceiling = search(
        trial,
        min_pps,
        max_pps,
        duration,
        loss_ratios=(0.0, pdr_loss),
        names=("NDR", "PDR"),
        precision=precision,
        max_trials=max_trials,
        saturation=saturation,
        progress=progress,
    )
    return SearchResult(
        ndr, pdr, trials, float(min_pps), float(max_pps), precision, ceiling
    )
