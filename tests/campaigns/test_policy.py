"""The contact policy: every rule excludes and names itself, in precedence order, at scale."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quanwang.campaigns.choices import Channel, ContactOutcome, ExclusionRule
from quanwang.campaigns.policy import (
    CONSENT_COLUMNS,
    RULE_COLUMN,
    SHANGHAI,
    Caps,
    ContactPolicy,
    PolicyDecision,
    QuietHoursAction,
    SendWindow,
    apply_policy,
)

# A Friday morning in Shanghai, inside the default sending window.
SEND_AT = dt.datetime(2025, 3, 14, 10, 0, tzinfo=SHANGHAI)
NO_CAPS = Caps()
UNCAPPED = ContactPolicy(overall_caps=NO_CAPS)


def customer(subscriber_id: str, **overrides: Any) -> dict[str, Any]:
    """An audience row that every rule lets through unless overridden."""
    return {
        "subscriber_id": subscriber_id,
        "grid_id": "G1",
        "in_control": False,
        "consent_sms": True,
        "consent_wechat": True,
        "consent_app": True,
        "consent_call": True,
        "do_not_disturb": False,
        **overrides,
    }


AUDIENCE_SCHEMA = pa.schema(
    [
        ("subscriber_id", pa.string()),
        ("grid_id", pa.string()),
        ("in_control", pa.bool_()),
        ("consent_sms", pa.bool_()),
        ("consent_wechat", pa.bool_()),
        ("consent_app", pa.bool_()),
        ("consent_call", pa.bool_()),
        ("do_not_disturb", pa.bool_()),
    ]
)


def audience(*rows: dict[str, Any]) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=AUDIENCE_SCHEMA)


def history(*rows: tuple[str, Channel, dt.datetime, ContactOutcome]) -> pa.Table:
    return pa.table(
        {
            "subscriber_id": pa.array([r[0] for r in rows], pa.string()),
            "channel": pa.array([r[1].value for r in rows], pa.string()),
            "sent_at": pa.array([r[2] for r in rows], pa.timestamp("us", tz="UTC")),
            "outcome": pa.array([r[3].value for r in rows], pa.string()),
        }
    )


def opt_outs(*rows: tuple[str, Channel, dt.datetime]) -> pa.Table:
    return pa.table(
        {
            "subscriber_id": pa.array([r[0] for r in rows], pa.string()),
            "channel": pa.array([r[1].value for r in rows], pa.string()),
            "opted_out_at": pa.array([r[2] for r in rows], pa.timestamp("us", tz="UTC")),
        }
    )


def rules_of(decision: PolicyDecision) -> dict[str, ExclusionRule]:
    rows = decision.excluded.select(["subscriber_id", RULE_COLUMN]).to_pylist()
    return {row["subscriber_id"]: ExclusionRule(row[RULE_COLUMN]) for row in rows}


def allowed_ids(decision: PolicyDecision) -> list[str]:
    return [str(s) for s in decision.allowed.column("subscriber_id").to_pylist()]


def test_control_group_is_excluded_and_named() -> None:
    # Given a customer in the hold-out and one in the treated group
    people = audience(customer("C1", in_control=True), customer("T1"))

    # When the step is filtered
    decision = apply_policy(
        audience=people, channel=Channel.SMS, send_at=SEND_AT, policy=ContactPolicy()
    )

    # Then only the treated customer may be contacted, and the hold-out names its rule
    assert allowed_ids(decision) == ["T1"]
    assert rules_of(decision) == {"C1": ExclusionRule.CONTROL_GROUP}


def test_opt_out_blocks_its_channel_only() -> None:
    # Given a customer who sent 退订 to the SMS channel
    people = audience(customer("S1"))
    refusals = opt_outs(("S1", Channel.SMS, dt.datetime(2025, 3, 1, tzinfo=dt.UTC)))

    # When the same customer is filtered for SMS and for WeChat
    sms = apply_policy(
        audience=people,
        channel=Channel.SMS,
        send_at=SEND_AT,
        policy=ContactPolicy(),
        opt_outs=refusals,
    )
    wechat = apply_policy(
        audience=people,
        channel=Channel.WECHAT,
        send_at=SEND_AT,
        policy=ContactPolicy(),
        opt_outs=refusals,
    )

    # Then SMS is blocked by the opt-out, WeChat is not
    assert rules_of(sms) == {"S1": ExclusionRule.OPTED_OUT}
    assert allowed_ids(wechat) == ["S1"]


def test_opt_out_is_permanent_even_with_consent_and_years_later() -> None:
    # Given an SMS opt-out three years old, and a consent flag set since
    people = audience(customer("S1", consent_sms=True))
    refusals = opt_outs(("S1", Channel.SMS, dt.datetime(2022, 1, 5, tzinfo=dt.UTC)))

    # When a campaign in 2025, with the loosest policy, filters for SMS
    decision = apply_policy(
        audience=people,
        channel=Channel.SMS,
        send_at=SEND_AT,
        policy=ContactPolicy(
            overall_caps=NO_CAPS, sending_window=None, cool_off_days=0, missing_consent_allows=True
        ),
        opt_outs=refusals,
    )

    # Then the customer is still held back for the opt-out
    assert rules_of(decision) == {"S1": ExclusionRule.OPTED_OUT}


def test_consent_false_or_missing_excludes_by_default() -> None:
    # Given consent refused, never recorded, and given
    people = audience(
        customer("NO", consent_wechat=False),
        customer("NULL", consent_wechat=None),
        customer("YES", consent_wechat=True),
    )

    # When filtered for WeChat with the default policy
    decision = apply_policy(
        audience=people, channel=Channel.WECHAT, send_at=SEND_AT, policy=ContactPolicy()
    )

    # Then only the recorded consent passes
    assert allowed_ids(decision) == ["YES"]
    assert rules_of(decision) == {
        "NO": ExclusionRule.NO_CONSENT,
        "NULL": ExclusionRule.NO_CONSENT,
    }


def test_missing_consent_can_count_as_consent_but_a_refusal_never_does() -> None:
    # Given the same three customers
    people = audience(
        customer("NO", consent_app=False),
        customer("NULL", consent_app=None),
        customer("YES", consent_app=True),
    )

    # When the deployment treats an unrecorded consent as given
    decision = apply_policy(
        audience=people,
        channel=Channel.APP_PUSH,
        send_at=SEND_AT,
        policy=ContactPolicy(missing_consent_allows=True),
    )

    # Then the null passes and the explicit refusal does not
    assert allowed_ids(decision) == ["NULL", "YES"]
    assert rules_of(decision) == {"NO": ExclusionRule.NO_CONSENT}


def test_consent_is_read_from_the_channels_own_column() -> None:
    # Given a customer who consented to calls only
    people = audience(customer("S1", consent_sms=False, consent_wechat=False, consent_app=False))

    # When filtered for each consent-bearing channel
    allowed = {
        channel: allowed_ids(
            apply_policy(audience=people, channel=channel, send_at=SEND_AT, policy=UNCAPPED)
        )
        for channel, column in CONSENT_COLUMNS.items()
        if column is not None
    }

    # Then only the channels that contact by voice (a call list, a grid's task) may take them
    assert allowed == {
        Channel.SMS: [],
        Channel.WECHAT: [],
        Channel.APP_PUSH: [],
        Channel.OUTBOUND_CALL: ["S1"],
        Channel.TASK: ["S1"],
    }


def test_do_not_disturb_excludes() -> None:
    # Given a customer on the do-not-disturb list
    people = audience(customer("D1", do_not_disturb=True), customer("OK"))

    # When filtered for an outbound call
    decision = apply_policy(
        audience=people, channel=Channel.OUTBOUND_CALL, send_at=SEND_AT, policy=ContactPolicy()
    )

    # Then they are held back for DND
    assert rules_of(decision) == {"D1": ExclusionRule.DO_NOT_DISTURB}
    assert allowed_ids(decision) == ["OK"]


def test_only_the_chosen_suppression_lists_apply() -> None:
    # Given two suppression lists, and a policy that applies the complaints one only
    people = audience(customer("COMPLAINT"), customer("VIP"), customer("OK"))
    lists = {"open_complaints": ["COMPLAINT"], "vip_care": ["VIP"]}
    policy = ContactPolicy(suppression_lists=frozenset({"open_complaints"}))

    # When filtered, with the lists as a mapping, as a table and as a DuckDB relation
    table = pa.table(
        {"subscriber_id": ["COMPLAINT", "VIP"], "list_name": ["open_complaints", "vip_care"]}
    )
    con = duckdb.connect()
    relation = con.from_arrow(table)
    decisions = [
        apply_policy(
            audience=people,
            channel=Channel.SMS,
            send_at=SEND_AT,
            policy=policy,
            suppressions=given,
        )
        for given in (lists, table, relation)
    ]

    # Then the complaint is suppressed, and the VIP list does not apply
    for decision in decisions:
        assert rules_of(decision) == {"COMPLAINT": ExclusionRule.SUPPRESSED}
        assert allowed_ids(decision) == ["VIP", "OK"]


def test_every_supplied_suppression_list_applies_by_default() -> None:
    # Given two lists and the default policy
    people = audience(customer("COMPLAINT"), customer("VIP"), customer("OK"))

    # When filtered
    decision = apply_policy(
        audience=people,
        channel=Channel.SMS,
        send_at=SEND_AT,
        policy=ContactPolicy(),
        suppressions={"open_complaints": ["COMPLAINT"], "vip_care": ["VIP"]},
    )

    # Then both lists hold their members back
    assert allowed_ids(decision) == ["OK"]


def test_a_refusal_on_any_channel_cools_off_for_the_set_days() -> None:
    # Given a refusal on WeChat 10 days ago and another 31 days ago
    people = audience(customer("RECENT"), customer("OLD"))
    past = history(
        ("RECENT", Channel.WECHAT, SEND_AT - dt.timedelta(days=10), ContactOutcome.REFUSED),
        ("OLD", Channel.WECHAT, SEND_AT - dt.timedelta(days=31), ContactOutcome.REFUSED),
    )

    # When an SMS is filtered with the default 30-day cool-off, then with none
    default = apply_policy(
        audience=people,
        channel=Channel.SMS,
        send_at=SEND_AT,
        policy=UNCAPPED,
        history=past,
    )
    none = apply_policy(
        audience=people,
        channel=Channel.SMS,
        send_at=SEND_AT,
        policy=ContactPolicy(overall_caps=NO_CAPS, cool_off_days=0),
        history=past,
    )

    # Then only the recent refusal cools off, and not at all without a cool-off
    assert rules_of(default) == {"RECENT": ExclusionRule.COOL_OFF}
    assert allowed_ids(default) == ["OLD"]
    assert allowed_ids(none) == ["RECENT", "OLD"]


def test_an_acceptance_does_not_cool_off() -> None:
    # Given an accepted offer yesterday
    people = audience(customer("S1"))
    past = history(
        ("S1", Channel.SMS, SEND_AT - dt.timedelta(days=1), ContactOutcome.ACCEPTED),
    )

    # When filtered without caps
    decision = apply_policy(
        audience=people, channel=Channel.SMS, send_at=SEND_AT, policy=UNCAPPED, history=past
    )

    # Then nothing holds the customer back
    assert allowed_ids(decision) == ["S1"]


def test_overall_daily_cap_counts_every_channel() -> None:
    # Given a WeChat contact earlier today (the default caps: 1 a day, 4 a month)
    people = audience(customer("TODAY"), customer("YESTERDAY"))
    past = history(
        ("TODAY", Channel.WECHAT, SEND_AT - dt.timedelta(hours=2), ContactOutcome.CONTACTED),
        ("YESTERDAY", Channel.SMS, SEND_AT - dt.timedelta(days=1), ContactOutcome.CONTACTED),
    )

    # When an SMS is filtered
    decision = apply_policy(
        audience=people,
        channel=Channel.SMS,
        send_at=SEND_AT,
        policy=ContactPolicy(),
        history=past,
    )

    # Then today's WeChat contact uses up the day; yesterday's does not
    assert rules_of(decision) == {"TODAY": ExclusionRule.DAILY_CAP}
    assert allowed_ids(decision) == ["YESTERDAY"]


def test_channel_caps_count_their_own_channel_only() -> None:
    # Given no overall caps, SMS capped at 1 a day and 2 a month
    policy = ContactPolicy(
        overall_caps=NO_CAPS, channel_caps={Channel.SMS: Caps(daily=1, monthly=2)}
    )
    people = audience(customer("SMS_TODAY"), customer("WECHAT_TODAY"), customer("SMS_MONTH"))
    past = history(
        ("SMS_TODAY", Channel.SMS, SEND_AT - dt.timedelta(hours=1), ContactOutcome.CONTACTED),
        ("WECHAT_TODAY", Channel.WECHAT, SEND_AT, ContactOutcome.CONTACTED),
        ("WECHAT_TODAY", Channel.WECHAT, SEND_AT, ContactOutcome.CONTACTED),
        ("SMS_MONTH", Channel.SMS, SEND_AT - dt.timedelta(days=3), ContactOutcome.CONTACTED),
        ("SMS_MONTH", Channel.SMS, SEND_AT - dt.timedelta(days=5), ContactOutcome.UNREACHABLE),
    )

    # When SMS and WeChat sends are filtered
    sms = apply_policy(
        audience=people, channel=Channel.SMS, send_at=SEND_AT, policy=policy, history=past
    )
    wechat = apply_policy(
        audience=people, channel=Channel.WECHAT, send_at=SEND_AT, policy=policy, history=past
    )

    # Then the SMS caps hold SMS back (every attempt counts, unreachable ones too), and
    # WeChat is uncapped
    assert rules_of(sms) == {
        "SMS_TODAY": ExclusionRule.DAILY_CAP,
        "SMS_MONTH": ExclusionRule.MONTHLY_CAP,
    }
    assert allowed_ids(sms) == ["WECHAT_TODAY"]
    assert allowed_ids(wechat) == ["SMS_TODAY", "WECHAT_TODAY", "SMS_MONTH"]


def test_monthly_cap_counts_the_calendar_month_only() -> None:
    # Given four contacts this month for one customer, four last month for another
    people = audience(customer("THIS"), customer("LAST"))
    this_month = [SEND_AT.replace(day=d) for d in (1, 3, 5, 7)]
    last_month = [SEND_AT.replace(month=2, day=d) for d in (20, 24, 26, 28)]
    past = history(
        *[("THIS", Channel.SMS, t, ContactOutcome.CONTACTED) for t in this_month],
        *[("LAST", Channel.SMS, t, ContactOutcome.CONTACTED) for t in last_month],
    )

    # When filtered with the default caps (4 a month)
    decision = apply_policy(
        audience=people,
        channel=Channel.SMS,
        send_at=SEND_AT,
        policy=ContactPolicy(),
        history=past,
    )

    # Then this month's four block the fifth; last month's do not count
    assert rules_of(decision) == {"THIS": ExclusionRule.MONTHLY_CAP}
    assert allowed_ids(decision) == ["LAST"]


def test_the_calendar_day_is_the_shanghai_day_for_zoned_and_naive_histories() -> None:
    # Given contacts at 01:00 today and 23:59 yesterday, Shanghai time, stored in UTC
    people = audience(customer("EARLY_TODAY"), customer("LATE_YESTERDAY"))
    early = dt.datetime(2025, 3, 13, 17, 0, tzinfo=dt.UTC)  # 2025-03-14 01:00 in Shanghai
    late = dt.datetime(2025, 3, 13, 15, 59, tzinfo=dt.UTC)  # 2025-03-13 23:59 in Shanghai
    zoned = history(
        ("EARLY_TODAY", Channel.SMS, early, ContactOutcome.CONTACTED),
        ("LATE_YESTERDAY", Channel.SMS, late, ContactOutcome.CONTACTED),
    )
    # and the same contacts as naive Shanghai wall-clock times, as a BOSS export has them
    naive = zoned.set_column(
        2,
        "sent_at",
        pa.array(
            [
                early.astimezone(SHANGHAI).replace(tzinfo=None),
                late.astimezone(SHANGHAI).replace(tzinfo=None),
            ],
            pa.timestamp("us"),
        ),
    )

    # When filtered with the default daily cap
    decisions = [
        apply_policy(
            audience=people,
            channel=Channel.SMS,
            send_at=SEND_AT,
            policy=ContactPolicy(),
            history=past,
        )
        for past in (zoned, naive)
    ]

    # Then only the contact after Shanghai's midnight counts for today
    for decision in decisions:
        assert rules_of(decision) == {"EARLY_TODAY": ExclusionRule.DAILY_CAP}


def test_history_may_be_a_duckdb_relation() -> None:
    # Given the history as a relation in the caller's own DuckDB connection
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE contacts AS SELECT 'S1' AS subscriber_id, 'sms' AS channel, "
        "TIMESTAMPTZ '2025-03-14 00:30:00+00' AS sent_at, 'contacted' AS outcome"
    )

    # When a step is filtered against it
    decision = apply_policy(
        audience=audience(customer("S1"), customer("S2")),
        channel=Channel.SMS,
        send_at=SEND_AT,
        policy=ContactPolicy(),
        history=con.table("contacts"),
        opt_outs=con.sql("SELECT 'S2' AS subscriber_id, 'sms' AS channel"),
    )

    # Then both sources were read
    assert rules_of(decision) == {"S1": ExclusionRule.DAILY_CAP, "S2": ExclusionRule.OPTED_OUT}


def test_outside_the_window_defers_to_the_next_opening() -> None:
    # Given sends late in the evening and early in the morning
    people = audience(customer("S1"), customer("C1", in_control=True))
    late = dt.datetime(2025, 3, 14, 22, 30, tzinfo=SHANGHAI)
    early = dt.datetime(2025, 3, 14, 7, 59, tzinfo=SHANGHAI)

    # When filtered with the default window (08:00-22:00) and action (defer)
    at_night = apply_policy(
        audience=people, channel=Channel.SMS, send_at=late, policy=ContactPolicy()
    )
    at_dawn = apply_policy(
        audience=people, channel=Channel.SMS, send_at=early, policy=ContactPolicy()
    )

    # Then nobody is sent now; the others keep their own rule; the run resumes at 08:00
    for decision in (at_night, at_dawn):
        assert allowed_ids(decision) == []
        assert rules_of(decision) == {
            "S1": ExclusionRule.QUIET_HOURS,
            "C1": ExclusionRule.CONTROL_GROUP,
        }
    assert at_night.deferred_until == dt.datetime(2025, 3, 15, 8, 0, tzinfo=SHANGHAI)
    assert at_dawn.deferred_until == dt.datetime(2025, 3, 14, 8, 0, tzinfo=SHANGHAI)


def test_outside_the_window_drops_when_set_to_drop() -> None:
    # Given a policy that drops what falls outside the window
    policy = ContactPolicy(quiet_hours_action=QuietHoursAction.DROP)

    # When a send at 23:00 is filtered
    decision = apply_policy(
        audience=audience(customer("S1")),
        channel=Channel.SMS,
        send_at=dt.datetime(2025, 3, 14, 23, 0, tzinfo=SHANGHAI),
        policy=policy,
    )

    # Then the customer is dropped and no later run is asked for
    assert rules_of(decision) == {"S1": ExclusionRule.QUIET_HOURS}
    assert decision.deferred_until is None


def test_window_edges_and_send_times_in_other_zones() -> None:
    # Given 08:00 and 21:59 Shanghai (open) and 22:00 (closed), one of them given in UTC
    people = audience(customer("S1"))
    opening = dt.datetime(2025, 3, 14, 0, 0, tzinfo=dt.UTC)  # 08:00 in Shanghai
    last_minute = dt.datetime(2025, 3, 14, 21, 59, tzinfo=SHANGHAI)
    closing = dt.datetime(2025, 3, 14, 22, 0, tzinfo=SHANGHAI)

    # When each is filtered
    results = [
        allowed_ids(
            apply_policy(audience=people, channel=Channel.SMS, send_at=t, policy=ContactPolicy())
        )
        for t in (opening, last_minute, closing)
    ]

    # Then the window is [08:00, 22:00)
    assert results == [["S1"], ["S1"], []]


def test_a_window_over_midnight() -> None:
    # Given a window of 20:00-02:00
    window = SendWindow(start=dt.time(20, 0), end=dt.time(2, 0))

    # Then 23:00 and 01:00 are inside, 03:00 is not and reopens at 20:00 the same day
    assert window.contains(moment=dt.datetime(2025, 3, 14, 23, 0, tzinfo=SHANGHAI))
    assert window.contains(moment=dt.datetime(2025, 3, 14, 1, 0, tzinfo=SHANGHAI))
    three = dt.datetime(2025, 3, 14, 3, 0, tzinfo=SHANGHAI)
    assert not window.contains(moment=three)
    assert window.next_opening(after=three) == dt.datetime(2025, 3, 14, 20, 0, tzinfo=SHANGHAI)


def test_no_window_sends_at_any_hour() -> None:
    # Given a policy without a sending window
    decision = apply_policy(
        audience=audience(customer("S1")),
        channel=Channel.SMS,
        send_at=dt.datetime(2025, 3, 14, 3, 0, tzinfo=SHANGHAI),
        policy=ContactPolicy(sending_window=None),
    )

    # Then 03:00 is allowed
    assert allowed_ids(decision) == ["S1"]
    assert decision.deferred_until is None


PRECEDENCE = [
    ExclusionRule.CONTROL_GROUP,
    ExclusionRule.OPTED_OUT,
    ExclusionRule.NO_CONSENT,
    ExclusionRule.DO_NOT_DISTURB,
    ExclusionRule.SUPPRESSED,
    ExclusionRule.COOL_OFF,
    ExclusionRule.MONTHLY_CAP,
    ExclusionRule.DAILY_CAP,
    ExclusionRule.QUIET_HOURS,
]


@pytest.mark.parametrize("first", range(len(PRECEDENCE)))
def test_precedence_names_the_first_rule_that_applies(first: int) -> None:
    # Given a customer caught by every rule from `first` on, and by none before it
    caught = set(PRECEDENCE[first:])
    person = customer(
        "S1",
        in_control=ExclusionRule.CONTROL_GROUP in caught,
        consent_sms=ExclusionRule.NO_CONSENT not in caught,
        do_not_disturb=ExclusionRule.DO_NOT_DISTURB in caught,
    )
    past = []
    if ExclusionRule.COOL_OFF in caught:
        past.append(("S1", Channel.SMS, SEND_AT.replace(month=2), ContactOutcome.REFUSED))
    if ExclusionRule.MONTHLY_CAP in caught:
        past += [
            ("S1", Channel.SMS, SEND_AT.replace(day=d), ContactOutcome.CONTACTED) for d in (2, 3)
        ]
    if ExclusionRule.DAILY_CAP in caught:
        past.append(("S1", Channel.SMS, SEND_AT.replace(hour=9), ContactOutcome.CONTACTED))
    send_at = SEND_AT.replace(hour=23) if ExclusionRule.QUIET_HOURS in caught else SEND_AT

    # When filtered (1 a day, 2 a month; refusals cool off for 30 days)
    decision = apply_policy(
        audience=audience(person),
        channel=Channel.SMS,
        send_at=send_at,
        policy=ContactPolicy(overall_caps=Caps(daily=1, monthly=2)),
        history=history(*past),
        opt_outs=opt_outs(
            *([("S1", Channel.SMS, SEND_AT)] if ExclusionRule.OPTED_OUT in caught else [])
        ),
        suppressions={"complaints": ["S1"] if ExclusionRule.SUPPRESSED in caught else []},
    )

    # Then exactly one rule is named: the first in precedence
    assert rules_of(decision) == {"S1": PRECEDENCE[first]}
    assert decision.excluded.num_rows == 1


def test_rows_keep_their_columns_order_and_duplicates() -> None:
    # Given an audience with an extra column and a customer listed twice
    people = audience(customer("A"), customer("B", in_control=True), customer("A"))
    people = people.append_column("offer", pa.array(["x", "y", "z"]))

    # When filtered
    decision = apply_policy(
        audience=people, channel=Channel.SMS, send_at=SEND_AT, policy=ContactPolicy()
    )

    # Then both rows of A are allowed in order with every column; B carries the rule column
    assert decision.allowed.column_names == people.column_names
    assert decision.allowed.column("offer").to_pylist() == ["x", "z"]
    assert decision.excluded.column_names == [*people.column_names, RULE_COLUMN]
    assert decision.excluded_counts() == {ExclusionRule.CONTROL_GROUP: 1}


def test_bad_input_is_refused_clearly() -> None:
    # Given a naive send time, a null control flag and a missing consent column
    people = audience(customer("S1"))

    # Then each is refused with a message that says what is wrong
    with pytest.raises(ValueError, match="timezone-aware"):
        apply_policy(
            audience=people,
            channel=Channel.SMS,
            send_at=SEND_AT.replace(tzinfo=None),
            policy=ContactPolicy(),
        )
    with pytest.raises(ValueError, match="in_control has nulls"):
        apply_policy(
            audience=audience(customer("S1", in_control=None)),
            channel=Channel.SMS,
            send_at=SEND_AT,
            policy=ContactPolicy(),
        )
    with pytest.raises(ValueError, match="lacks the columns consent_call"):
        apply_policy(
            audience=people.drop_columns(["consent_call"]),
            channel=Channel.OUTBOUND_CALL,
            send_at=SEND_AT,
            policy=ContactPolicy(),
        )
    with pytest.raises(ValueError, match="negative"):
        Caps(daily=-1)


# -- property tests ---------------------------------------------------------------------------

IDS = [f"S{i}" for i in range(6)]
ZONES = [SHANGHAI, dt.UTC, ZoneInfo("America/New_York")]
MOMENTS = st.datetimes(
    min_value=dt.datetime(2024, 12, 1),
    max_value=dt.datetime(2025, 4, 30),
    timezones=st.just(dt.UTC),
)
OPTIONAL_CAP = st.none() | st.integers(min_value=0, max_value=4)
CAPS = st.builds(Caps, daily=OPTIONAL_CAP, monthly=OPTIONAL_CAP)
CLOCK = st.times().map(lambda t: t.replace(second=0, microsecond=0))
WINDOWS = st.none() | st.tuples(CLOCK, CLOCK).filter(lambda p: p[0] != p[1]).map(
    lambda p: SendWindow(start=p[0], end=p[1])
)
POLICIES = st.builds(
    ContactPolicy,
    overall_caps=CAPS,
    channel_caps=st.dictionaries(st.sampled_from(list(Channel)), CAPS, max_size=3),
    sending_window=WINDOWS,
    quiet_hours_action=st.sampled_from(list(QuietHoursAction)),
    cool_off_days=st.integers(min_value=0, max_value=60),
    suppression_lists=st.none() | st.frozensets(st.sampled_from(["complaints", "vip"])),
    missing_consent_allows=st.booleans(),
)
MAYBE = st.none() | st.booleans()
AUDIENCE_ROWS = st.lists(
    st.fixed_dictionaries(
        {
            "subscriber_id": st.sampled_from(IDS),
            "grid_id": st.just("G1"),
            "in_control": st.booleans(),
            "consent_sms": MAYBE,
            "consent_wechat": MAYBE,
            "consent_app": MAYBE,
            "consent_call": MAYBE,
            "do_not_disturb": st.booleans(),
        }
    ),
    max_size=12,
)
HISTORY_ROWS = st.lists(
    st.tuples(
        st.sampled_from(IDS),
        st.sampled_from(list(Channel)),
        MOMENTS,
        st.sampled_from(list(ContactOutcome)),
    ),
    max_size=20,
)
OPT_OUT_ROWS = st.lists(
    st.tuples(st.sampled_from(IDS), st.sampled_from(list(Channel)), MOMENTS), max_size=6
)
SUPPRESSIONS = st.fixed_dictionaries(
    {
        "complaints": st.lists(st.sampled_from(IDS), max_size=3),
        "vip": st.lists(st.sampled_from(IDS), max_size=3),
    }
)
PROPERTY_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    database=None,
    # conftest's autouse VAR_DIR fixture is per test; the policy never reads it.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _decide(
    rows: list[dict[str, Any]],
    past: list[tuple[str, Channel, dt.datetime, ContactOutcome]],
    refused: list[tuple[str, Channel, dt.datetime]],
    lists: dict[str, list[str]],
    policy: ContactPolicy,
    channel: Channel,
    send_at: dt.datetime,
) -> tuple[pa.Table, PolicyDecision]:
    people = audience(*rows)
    people = people.append_column("ref", pa.array(range(people.num_rows), pa.int64()))
    decision = apply_policy(
        audience=people,
        channel=channel,
        send_at=send_at,
        policy=policy,
        history=history(*past),
        opt_outs=opt_outs(*refused),
        suppressions=lists,
    )
    return people, decision


@PROPERTY_SETTINGS
@given(
    rows=AUDIENCE_ROWS,
    past=HISTORY_ROWS,
    refused=OPT_OUT_ROWS,
    lists=SUPPRESSIONS,
    policy=POLICIES,
    channel=st.sampled_from(list(Channel)),
    send_at=MOMENTS,
    zone=st.sampled_from(ZONES),
)
def test_property_never_contacts_opted_out_dnd_or_control_and_splits_exactly(
    rows: list[dict[str, Any]],
    past: list[tuple[str, Channel, dt.datetime, ContactOutcome]],
    refused: list[tuple[str, Channel, dt.datetime]],
    lists: dict[str, list[str]],
    policy: ContactPolicy,
    channel: Channel,
    send_at: dt.datetime,
    zone: ZoneInfo,
) -> None:
    # Given any audience, history, opt-outs, lists, policy and send time
    # When the step is filtered
    people, decision = _decide(
        rows, past, refused, lists, policy, channel, send_at.astimezone(zone)
    )

    # Then no opted-out, DND or control-group customer is allowed
    opted_out = {sid for sid, ch, _ in refused if ch == channel}
    for row in decision.allowed.to_pylist():
        assert not row["in_control"]
        assert not row["do_not_disturb"]
        assert row["subscriber_id"] not in opted_out
    # and every audience row is in exactly one output, once, with one known rule if excluded
    refs = decision.allowed.column("ref").to_pylist() + decision.excluded.column("ref").to_pylist()
    assert sorted(refs) == list(range(people.num_rows))
    assert all(ExclusionRule(r) for r in decision.excluded.column(RULE_COLUMN).to_pylist())


def _expected_rule(
    row: dict[str, Any],
    *,
    past: list[tuple[str, Channel, dt.datetime, ContactOutcome]],
    refused: list[tuple[str, Channel, dt.datetime]],
    lists: dict[str, list[str]],
    policy: ContactPolicy,
    channel: Channel,
    send_at: dt.datetime,
) -> ExclusionRule | None:
    """The rules read straight from the issue, one customer at a time, in plain Python."""
    sid = row["subscriber_id"]
    local = send_at.astimezone(SHANGHAI)
    mine = [(ch, t.astimezone(SHANGHAI), outcome) for s, ch, t, outcome in past if s == sid]
    today = [(ch, t) for ch, t, _ in mine if t.date() == local.date()]
    month = [(ch, t) for ch, t, _ in mine if (t.year, t.month) == (local.year, local.month)]
    consent_column = CONSENT_COLUMNS[channel]
    consent = True if consent_column is None else row[consent_column]
    if consent is None:
        consent = policy.missing_consent_allows
    applied = [
        name
        for name in lists
        if policy.suppression_lists is None or name in policy.suppression_lists
    ]
    cooling = any(
        outcome == ContactOutcome.REFUSED
        and local - dt.timedelta(days=policy.cool_off_days) < t <= local
        for _, t, outcome in mine
    )
    own = policy.caps_for(channel=channel)

    def over(cap: int | None, count: int) -> bool:
        return cap is not None and count >= cap

    window = policy.sending_window
    checks = [
        (row["in_control"], ExclusionRule.CONTROL_GROUP),
        (any(s == sid and ch == channel for s, ch, _ in refused), ExclusionRule.OPTED_OUT),
        (not consent, ExclusionRule.NO_CONSENT),
        (row["do_not_disturb"], ExclusionRule.DO_NOT_DISTURB),
        (any(sid in lists[name] for name in applied), ExclusionRule.SUPPRESSED),
        (cooling, ExclusionRule.COOL_OFF),
        (
            over(own.monthly, sum(ch == channel for ch, _ in month))
            or over(policy.overall_caps.monthly, len(month)),
            ExclusionRule.MONTHLY_CAP,
        ),
        (
            over(own.daily, sum(ch == channel for ch, _ in today))
            or over(policy.overall_caps.daily, len(today)),
            ExclusionRule.DAILY_CAP,
        ),
        (window is not None and not window.contains(moment=local), ExclusionRule.QUIET_HOURS),
    ]
    return next((rule for applies, rule in checks if applies), None)


@PROPERTY_SETTINGS
@given(
    rows=AUDIENCE_ROWS,
    past=HISTORY_ROWS,
    refused=OPT_OUT_ROWS,
    lists=SUPPRESSIONS,
    policy=POLICIES,
    channel=st.sampled_from(list(Channel)),
    send_at=MOMENTS,
)
def test_property_names_the_same_rule_as_a_plain_reading_of_the_rules(
    rows: list[dict[str, Any]],
    past: list[tuple[str, Channel, dt.datetime, ContactOutcome]],
    refused: list[tuple[str, Channel, dt.datetime]],
    lists: dict[str, list[str]],
    policy: ContactPolicy,
    channel: Channel,
    send_at: dt.datetime,
) -> None:
    # Given any inputs
    # When the step is filtered
    _, decision = _decide(rows, past, refused, lists, policy, channel, send_at)

    # Then each row's rule is the one a row-by-row reading of the rules gives
    got = {
        row["ref"]: row.get(RULE_COLUMN)
        for table in (decision.allowed, decision.excluded)
        for row in table.to_pylist()
    }
    for ref, row in enumerate(rows):
        expected = _expected_rule(
            row,
            past=past,
            refused=refused,
            lists=lists,
            policy=policy,
            channel=channel,
            send_at=send_at,
        )
        assert got[ref] == (expected.value if expected else None), row
