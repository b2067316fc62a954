"""Data-driven attribution: a first-order Markov chain over marketing channels.

Every journey is a walk `start -> channel -> ... -> channel -> conversion` (an order) or
`... -> null` (no order). Counting the observed transitions between those states and
normalising each row gives an absorbing Markov chain whose transient states are `start`
and the channels, and whose absorbing states are `conversion` and `null`.

P(conversion) is the probability of absorption in `conversion` from `start`. With `Q` the
transition probabilities among transient states and `r` those into `conversion`, the
absorption probabilities `x` solve `(I - Q) x = r` exactly (no simulation). Removing
channel `c` sends every transition into `c` to `null`: `c` leaves the transient states,
and the probability mass that flowed into it is lost. Its removal effect is
`1 - P(conversion without c) / P(conversion)`.

Repeated steps in one channel (self-loops) are kept as observed; they change how long a
walk stays in a channel but not where it is absorbed, so they do not change any removal
effect. Channels are sorted by name, so the same journeys always give the same matrices
and results. Pure numpy: no I/O here (orchestration/defs/attribution.py reads and writes
the warehouse).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

START = "(start)"
CONVERSION = "(conversion)"
NULL = "(null)"


@dataclass(frozen=True)
class Journey:
    """One journey: its channels in order, and whether it ended in an order."""

    channels: tuple[str, ...]
    is_converting: bool


@dataclass(frozen=True)
class MarkovChain:
    """Transition probabilities of the fitted chain.

    Rows are the transient states (`START`, then `channels` in order); columns are the same
    transient states followed by `CONVERSION` and `NULL`. A row without observed
    transitions (`START` when there are no journeys) is all zeros.
    """

    channels: tuple[str, ...]
    transitions: np.ndarray

    @property
    def states(self) -> tuple[str, ...]:
        return (START, *self.channels, CONVERSION, NULL)

    @property
    def conversion_column(self) -> int:
        return len(self.channels) + 1


@dataclass(frozen=True)
class RemovalEffect:
    """The removal effect of one channel, with the figures behind it."""

    channel: str
    removal_effect: float
    conversion_probability: float
    conversion_probability_without: float
    journeys: int
    converting_journeys: int


def journeys_from_steps(steps: Iterable[tuple[str, bool, int, str]]) -> list[Journey]:
    """Group rows (journey_id, is_converting, step_number, channel) into journeys.

    Rows may come in any order; steps are sorted by step number within a journey, and
    journeys are returned in journey_id order.
    """
    grouped: dict[str, tuple[bool, list[tuple[int, str]]]] = {}
    for journey_id, is_converting, step_number, channel in steps:
        flag, journey_steps = grouped.setdefault(journey_id, (bool(is_converting), []))
        if flag != bool(is_converting):
            raise ValueError(f"journey {journey_id!r} is both converting and not converting")
        journey_steps.append((step_number, channel))
    return [
        Journey(tuple(channel for _, channel in sorted(journey_steps)), flag)
        for _, (flag, journey_steps) in sorted(grouped.items())
    ]


def fit_chain(journeys: Sequence[Journey]) -> MarkovChain:
    """Count every journey's transitions and normalise each row to probabilities."""
    channels = tuple(sorted({channel for journey in journeys for channel in journey.channels}))
    index = {channel: position + 1 for position, channel in enumerate(channels)}
    transient = len(channels) + 1
    conversion, null = transient, transient + 1
    counts = np.zeros((transient, transient + 2))
    for journey in journeys:
        states = [0, *(index[channel] for channel in journey.channels)]
        end = conversion if journey.is_converting else null
        for current, following in zip(states, [*states[1:], end], strict=True):
            counts[current, following] += 1
    totals = counts.sum(axis=1, keepdims=True)
    transitions = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    return MarkovChain(channels=channels, transitions=transitions)


def conversion_probability(chain: MarkovChain, removed: str | None = None) -> float:
    """P(absorption in conversion from start), optionally with one channel removed.

    The removed channel is dropped from the transient states, so transitions into it
    lead nowhere further: they end in null.
    """
    transient = len(chain.channels) + 1
    keep = [
        state
        for state in range(transient)
        if removed is None or state == 0 or chain.channels[state - 1] != removed
    ]
    if removed is not None and len(keep) == transient:
        raise ValueError(f"channel {removed!r} is not in the chain")
    q = chain.transitions[np.ix_(keep, keep)]
    r = chain.transitions[keep, chain.conversion_column]
    absorption = np.linalg.solve(np.eye(len(keep)) - q, r)
    return float(absorption[0])


def removal_effects(journeys: Sequence[Journey]) -> list[RemovalEffect]:
    """The removal effect of every channel seen in the journeys, sorted by channel.

    With no converting journey, P(conversion) is 0 and every effect is 0. Effects lie in
    [0, 1]; rounding noise outside that range is clipped.
    """
    chain = fit_chain(journeys)
    baseline = conversion_probability(chain)
    results = []
    for channel in chain.channels:
        without = conversion_probability(chain, removed=channel)
        effect = 1.0 - without / baseline if baseline > 0 else 0.0
        through = [journey for journey in journeys if channel in journey.channels]
        results.append(
            RemovalEffect(
                channel=channel,
                removal_effect=min(max(effect, 0.0), 1.0),
                conversion_probability=baseline,
                conversion_probability_without=without,
                journeys=len(through),
                converting_journeys=sum(journey.is_converting for journey in through),
            )
        )
    return results
