"""Markov-chain attribution: hand-solved chains, edge cases and the Dagster asset."""

from __future__ import annotations

import datetime as dt
import random

import dagster as dg
import duckdb
import numpy as np
import pytest

from orchestration.defs.attribution import markov_removal_effects, write_removal_effects
from orchestration.defs.resources import Warehouse
from orchestration.measurement.markov import (
    Journey,
    conversion_probability,
    fit_chain,
    journeys_from_steps,
    removal_effects,
)

# Two channels, four journeys:
#   A -> B -> conversion,  A -> null,  B -> conversion,  B -> A -> null
# Transitions: start -> A 2/4, start -> B 2/4;
#              A -> B 1/3, A -> null 2/3;  B -> conversion 2/3, B -> A 1/3.
# Absorption in conversion: x_A = x_B / 3 and x_B = 2/3 + x_A / 3,
#   so x_B = 2/3 + x_B / 9, x_B = 3/4, x_A = 1/4 and P = (1/4 + 3/4) / 2 = 1/2.
# Without A (start -> A and B -> A go to null): P = 1/2 * 2/3 = 1/3, effect 1 - (1/3)/(1/2) = 1/3.
# Without B (A -> B goes to null, A never converts): P = 0, effect 1.
TWO_CHANNELS = [
    Journey(("A", "B"), True),
    Journey(("A",), False),
    Journey(("B",), True),
    Journey(("B", "A"), False),
]


def effects_by_channel(journeys):
    return {effect.channel: effect for effect in removal_effects(journeys)}


def test_the_transition_matrix_counts_every_step_and_the_end():
    chain = fit_chain(TWO_CHANNELS)

    assert chain.states == ("(start)", "A", "B", "(conversion)", "(null)")
    np.testing.assert_allclose(
        chain.transitions,
        [
            [0, 1 / 2, 1 / 2, 0, 0],
            [0, 0, 1 / 3, 0, 2 / 3],
            [0, 1 / 3, 0, 2 / 3, 0],
        ],
    )


def test_conversion_probability_is_the_hand_solved_absorption_probability():
    chain = fit_chain(TWO_CHANNELS)

    assert conversion_probability(chain) == pytest.approx(1 / 2, abs=1e-12)
    assert conversion_probability(chain, removed="A") == pytest.approx(1 / 3, abs=1e-12)
    assert conversion_probability(chain, removed="B") == pytest.approx(0.0, abs=1e-12)


def test_removal_effects_of_two_channels_match_the_hand_solution():
    effects = effects_by_channel(TWO_CHANNELS)

    assert list(effects) == ["A", "B"]
    assert effects["A"].removal_effect == pytest.approx(1 / 3, abs=1e-12)
    assert effects["B"].removal_effect == pytest.approx(1.0, abs=1e-12)
    assert effects["A"].conversion_probability == pytest.approx(1 / 2, abs=1e-12)
    assert effects["A"].conversion_probability_without == pytest.approx(1 / 3, abs=1e-12)
    assert effects["B"].conversion_probability_without == pytest.approx(0.0, abs=1e-12)
    # Journeys through A: 1, 2, 4 (one converting); through B: 1, 3, 4 (two converting).
    assert (effects["A"].journeys, effects["A"].converting_journeys) == (3, 1)
    assert (effects["B"].journeys, effects["B"].converting_journeys) == (3, 2)


def test_a_channel_seen_only_on_journeys_without_an_order_has_no_effect():
    # start -> A 1/2, start -> C 1/2; A -> conversion 1; C -> null 1. P = 1/2.
    # Without C: still 1/2 (effect 0). Without A: 0 (effect 1).
    effects = effects_by_channel([Journey(("A",), True), Journey(("C",), False)])

    assert effects["A"].removal_effect == pytest.approx(1.0, abs=1e-12)
    assert effects["C"].removal_effect == pytest.approx(0.0, abs=1e-12)


def test_a_single_channel_carries_the_whole_effect():
    # start -> A 1; A -> conversion 1/4, A -> A 1/4, A -> null 2/4.
    # x_A = 1/4 + x_A / 4, so P = x_A = 1/3; without A, P = 0 and the effect is 1.
    journeys = [Journey(("A",), True), Journey(("A", "A"), False), Journey(("A",), False)]

    (effect,) = removal_effects(journeys)

    assert effect.channel == "A"
    assert effect.conversion_probability == pytest.approx(1 / 3, abs=1e-12)
    assert effect.removal_effect == pytest.approx(1.0, abs=1e-12)


def test_without_converting_journeys_every_effect_is_zero():
    journeys = [Journey(("A", "B"), False), Journey(("B",), False)]

    effects = removal_effects(journeys)

    assert [effect.channel for effect in effects] == ["A", "B"]
    assert all(effect.removal_effect == 0.0 for effect in effects)
    assert all(effect.conversion_probability == 0.0 for effect in effects)


def test_no_journeys_give_no_effects():
    assert removal_effects([]) == []


def test_repeated_steps_in_one_channel_do_not_change_the_effects():
    repeated = [
        Journey(("A", "A", "B"), True),
        Journey(("A",), False),
        Journey(("B", "B", "B"), True),
        Journey(("B", "A", "A"), False),
    ]

    plain = effects_by_channel(TWO_CHANNELS)
    looped = effects_by_channel(repeated)

    for channel in ("A", "B"):
        assert looped[channel].removal_effect == pytest.approx(
            plain[channel].removal_effect, abs=1e-12
        )


def test_the_result_does_not_depend_on_the_order_of_the_journeys():
    shuffled = list(TWO_CHANNELS) * 3
    random.Random(7).shuffle(shuffled)

    assert removal_effects(shuffled) == removal_effects(list(TWO_CHANNELS) * 3)
    assert removal_effects(TWO_CHANNELS) == removal_effects(TWO_CHANNELS)


def test_removing_an_unknown_channel_is_an_error():
    with pytest.raises(ValueError, match="not in the chain"):
        conversion_probability(fit_chain(TWO_CHANNELS), removed="Z")


def test_journeys_are_grouped_from_unordered_steps():
    steps = [
        ("order:o1", True, 2, "B"),
        ("run:s9", False, 1, "A"),
        ("order:o1", True, 1, "A"),
    ]

    assert journeys_from_steps(steps) == [
        Journey(("A", "B"), True),
        Journey(("A",), False),
    ]


def test_a_journey_cannot_both_convert_and_not():
    with pytest.raises(ValueError, match="both"):
        journeys_from_steps([("j", True, 1, "A"), ("j", False, 2, "B")])


def journeys_table(con: duckdb.DuckDBPyConnection, journeys: list[Journey]) -> None:
    con.execute("create schema intermediate")
    con.execute(
        "create table intermediate.int_attribution_journeys ("
        "journey_id varchar, is_converting boolean, order_id varchar, customer_id varchar, "
        "step_number integer, touchpoint_id varchar, occurred_at timestamp, channel varchar)"
    )
    for number, journey in enumerate(journeys):
        for step, channel in enumerate(journey.channels, start=1):
            con.execute(
                "insert into intermediate.int_attribution_journeys "
                "values (?, ?, null, 'p', ?, ?, null, ?)",
                [f"j{number}", journey.is_converting, step, f"t{number}-{step}", channel],
            )


def test_the_asset_replaces_the_removal_effects_table(tmp_path):
    con = duckdb.connect(str(tmp_path / "journey.duckdb"))
    journeys_table(con, TWO_CHANNELS)
    write_removal_effects(con, removal_effects([Journey(("Old",), True)]), dt.datetime(2026, 1, 1))
    con.close()

    result = dg.materialize(
        [markov_removal_effects],
        resources={"warehouse": Warehouse(warehouse_dir=str(tmp_path))},
    )

    assert result.success
    con = duckdb.connect(str(tmp_path / "journey.duckdb"), read_only=True)
    rows = con.execute(
        "select channel, removal_effect, conversion_probability, "
        "conversion_probability_without, journeys, converting_journeys "
        "from measurement.markov_removal_effects order by channel"
    ).fetchall()
    fitted = con.execute(
        "select count(distinct model_fitted_at) from measurement.markov_removal_effects"
    ).fetchone()
    con.close()
    assert [row[0] for row in rows] == ["A", "B"]
    assert rows[0][1:] == pytest.approx((1 / 3, 1 / 2, 1 / 3, 3, 1), abs=1e-12)
    assert rows[1][1:] == pytest.approx((1.0, 1 / 2, 0.0, 3, 2), abs=1e-12)
    assert fitted == (1,)
    (materialization,) = result.get_asset_materialization_events()
    metadata = materialization.materialization.metadata
    assert materialization.asset_key == dg.AssetKey(["measurement", "markov_removal_effects"])
    assert metadata["journeys"].value == 4
    assert metadata["converting_journeys"].value == 2


def test_a_failed_write_keeps_the_previous_table(tmp_path):
    con = duckdb.connect(str(tmp_path / "journey.duckdb"))
    write_removal_effects(con, removal_effects(TWO_CHANNELS), dt.datetime(2026, 1, 1))
    duplicated = removal_effects(TWO_CHANNELS) * 2  # violates the channel primary key

    with pytest.raises(duckdb.ConstraintException):
        write_removal_effects(con, duplicated, dt.datetime(2026, 1, 2))

    assert con.execute(
        "select channel, model_fitted_at from measurement.markov_removal_effects order by channel"
    ).fetchall() == [("A", dt.datetime(2026, 1, 1)), ("B", dt.datetime(2026, 1, 1))]
    con.close()
