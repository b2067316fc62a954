"""Every kind of malformed record in sources.md is rejected with a readable reason, at its
file and line, while the good records of the same file still load."""

from __future__ import annotations

import datetime as dt

import pytest

from orchestration.ingestion.loader import reconciliation_failures
from orchestration.ingestion.specs import ENTITY_SPECS, TIME_KINDS, spec_for

DAY = dt.date(2026, 3, 10)  # the `dt` of the files the `landing` fixture writes

GOOD = {
    ("web", "events"): {
        "messageId": "m-1",
        "type": "track",
        "event": "Product Viewed",
        "anonymousId": "anon-1",
        "userId": None,
        "timestamp": "2026-03-10T08:15:00+01:00",
        "receivedAt": "2026-03-10T07:15:02Z",
        "context": {"page": {"url": "https://shop.example/p/1", "path": "/p/1"}},
        "properties": {"product_id": "p-1"},
    },
    ("email", "events"): {
        "sg_event_id": "e-1",
        "sg_message_id": "msg-1",
        "email": " Ann@Example.com ",
        "timestamp": 1773130000,
        "event": "open",
        "sg_machine_open": False,
        "marketing_campaign_id": "c-1",
        "category": ["newsletter"],
    },
    ("crm", "contacts"): {
        "contact_id": "c-1",
        "email": "ann@example.com",
        "first_name": "Ann",
        "last_name": "Lee",
        "phone": "+4912345",
        "country": "DE",
        "lifecycle_stage": "lead",
        "original_source": "ORGANIC_SEARCH",
        "marketing_opt_in": "true",
        "merged_into_contact_id": "",
        "created_at": "2026-03-01T10:00:00Z",
        "updated_at": "2026-03-10T10:00:00Z",
    },
    ("crm", "orders"): {
        "order_id": "o-1",
        "contact_id": "c-1",
        "email": "ann@example.com",
        "ordered_at": "2026-03-10T09:00:00Z",
        "status": "completed",
        "currency": "EUR",
        "subtotal": "100.00",
        "discount": "10.00",
        "shipping": "4.90",
        "tax": "19.00",
        "total": "113.90",
        "discount_code": "SPRING",
        "items_count": "2",
        "updated_at": "2026-03-10T09:00:00Z",
    },
    ("crm", "tickets"): {
        "ticket_id": "t-1",
        "contact_id": "c-1",
        "email": "ann@example.com",
        "created_at": "2026-03-10T09:00:00Z",
        "closed_at": "",
        "status": "open",
        "channel": "chat",
        "category": "shipping",
        "priority": "high",
        "subject": 'Where is my parcel, "really"?',
        "updated_at": "2026-03-10T09:00:00Z",
    },
    ("crm", "surveys"): {
        "response_id": "s-1",
        "contact_id": "c-1",
        "email": "ann@example.com",
        "submitted_at": "2026-03-10T09:00:00Z",
        "survey_type": "nps",
        "score": "9",
        "touchpoint": "post_purchase",
        "comment": "great",
        "updated_at": "2026-03-10T09:00:00Z",
    },
    ("crm", "activities"): {
        "activity_id": "a-1",
        "contact_id": "c-1",
        "type": "call",
        "occurred_at": "2026-03-10T09:00:00Z",
        "updated_at": "2026-03-10T09:00:00Z",
    },
    ("ads", "spend"): {
        "date": "2026-03-09",
        "platform": "google_ads",
        "campaign_id": "g-1",
        "campaign_name": "Brand",
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "brand",
        "impressions": "1000",
        "clicks": "50",
        "spend": "75.20",
        "currency": "EUR",
    },
    ("privacy", "erasure_requests"): {
        "request_id": "r-1",
        "email": "ann@example.com",
        "requested_at": "2026-03-10T09:00:00Z",
    },
}

# (source, entity, changes to the good record (None removes the field), reason fragment)
BAD_RECORDS = [
    ("web", "events", {"messageId": None}, "missing messageId"),
    ("web", "events", {"anonymousId": None, "userId": None}, "neither anonymousId nor userId"),
    ("web", "events", {"event": None}, "track message without event"),
    ("web", "events", {"type": "screen"}, "type 'screen' is not one of"),
    ("web", "events", {"timestamp": "10/03/2026 08:15"}, "unparseable timestamp in timestamp"),
    ("web", "events", {"timestamp": "2026-03-12T00:00:01Z"}, "more than 48 hours after"),
    ("email", "events", {"sg_event_id": None}, "missing sg_event_id"),
    ("email", "events", {"sg_message_id": ""}, "missing sg_message_id"),
    ("email", "events", {"email": None}, "missing email"),
    ("email", "events", {"event": "opened"}, "event 'opened' is not one of"),
    ("email", "events", {"timestamp": "yesterday"}, "unparseable epoch timestamp"),
    ("email", "events", {"sg_machine_open": "maybe"}, "sg_machine_open must be true or false"),
    ("crm", "contacts", {"contact_id": ""}, "missing contact_id"),
    ("crm", "contacts", {"lifecycle_stage": "prospect"}, "lifecycle_stage 'prospect'"),
    ("crm", "contacts", {"marketing_opt_in": "yes"}, "marketing_opt_in must be true or false"),
    ("crm", "contacts", {"updated_at": "not a time"}, "unparseable timestamp in updated_at"),
    ("crm", "orders", {"order_id": ""}, "missing order_id"),
    ("crm", "orders", {"contact_id": "", "email": ""}, "order with neither contact_id nor email"),
    ("crm", "orders", {"total": "-5.00"}, "negative total"),
    ("crm", "orders", {"items_count": "-1"}, "negative items_count"),
    ("crm", "orders", {"subtotal": "12,50"}, "unparseable number in subtotal"),
    ("crm", "orders", {"status": "shipped"}, "status 'shipped' is not one of"),
    ("crm", "tickets", {"ticket_id": ""}, "missing ticket_id"),
    ("crm", "tickets", {"priority": "critical"}, "priority 'critical'"),
    ("crm", "tickets", {"channel": "fax"}, "channel 'fax'"),
    ("crm", "tickets", {"category": "love"}, "category 'love'"),
    ("crm", "tickets", {"status": "done"}, "status 'done'"),
    ("crm", "surveys", {"response_id": ""}, "missing response_id"),
    ("crm", "surveys", {"score": "11"}, "score outside its survey's scale"),
    ("crm", "surveys", {"survey_type": "csat", "score": "0"}, "score outside its survey's scale"),
    ("crm", "surveys", {"survey_type": "ces"}, "survey_type 'ces'"),
    ("crm", "surveys", {"touchpoint": "checkout"}, "touchpoint 'checkout'"),
    ("crm", "activities", {"activity_id": ""}, "missing activity_id"),
    ("crm", "activities", {"type": "email"}, "type 'email' is not one of"),
    ("ads", "spend", {"platform": "snap_ads"}, "platform 'snap_ads'"),
    ("ads", "spend", {"date": "2026-02-30"}, "unparseable date in date"),
    ("ads", "spend", {"spend": "-3"}, "negative spend"),
    ("ads", "spend", {"clicks": "many"}, "unparseable number in clicks"),
    ("ads", "spend", {"campaign_id": ""}, "missing campaign_id"),
    ("privacy", "erasure_requests", {"email": ""}, "missing email"),
    ("privacy", "erasure_requests", {"request_id": ""}, "missing request_id"),
]


def _changed(record: dict, changes: dict) -> dict:
    result = dict(record)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def _ids(case) -> str:
    source, entity, changes, _ = case
    return f"{source}-{entity}-" + "-".join(f"{k}={v}" for k, v in changes.items())


@pytest.mark.parametrize("case", BAD_RECORDS, ids=_ids)
def test_a_malformed_record_is_rejected_with_its_reason_and_the_rest_of_the_file_loads(
    case, landing, load, con
):
    source, entity, changes, reason = case
    good = GOOD[(source, entity)]
    records = [good, _changed(good, changes), good]
    if source in ("web", "email"):
        path = landing.write_jsonl(source, entity, "part-0.jsonl", records)
        good_lines, bad_line = [(1,), (3,)], 2
    else:
        records = [dict(record, note="drift column") for record in records]
        path = landing.write_csv(source, entity, "part-0.csv", records)
        good_lines, bad_line = [(2,), (4,)], 3  # the header is line 1

    [result] = load(source, entity)

    assert (result.records_read, result.records_loaded, result.records_rejected) == (3, 2, 1)
    rejected = con.execute(
        "select source, entity, file, line, reason from raw.rejected_records"
    ).fetchall()
    assert len(rejected) == 1
    relative = path.relative_to(landing.root).as_posix()
    assert rejected[0][:4] == (source, entity, relative, bad_line)
    assert reason in rejected[0][4]
    loaded_lines = con.execute(f"select line from raw.{source}_{entity} order by line").fetchall()
    assert loaded_lines == good_lines


@pytest.mark.parametrize(
    ("line", "reason"),
    [("this is not json", "not valid JSON"), ('["an", "array"]', "not a JSON object")],
)
def test_a_line_that_is_not_a_json_object_is_rejected(line, reason, landing, load, con):
    good = GOOD[("web", "events")]
    landing.write_jsonl("web", "events", "part-0.jsonl.gz", [good, line, good])

    [result] = load("web", "events")

    assert (result.records_loaded, result.records_rejected) == (2, 1)
    assert con.execute("select line, reason, raw_record from raw.rejected_records").fetchall() == [
        (2, reason, line)
    ]


def test_a_csv_row_with_the_wrong_number_of_fields_is_rejected(landing, load, con):
    good = GOOD[("crm", "activities")]
    path = landing.write_csv("crm", "activities", "part-0.csv", [good, good])
    path.write_text(path.read_text() + "a-9,c-1,call\n")

    [result] = load("crm", "activities")

    assert (result.records_read, result.records_loaded, result.records_rejected) == (3, 2, 1)
    assert con.execute("select line, reason from raw.rejected_records").fetchall() == [
        (4, "CSV row has 3 fields, the header has 5")
    ]


def test_unknown_fields_are_kept_in_the_raw_record(landing, load, con):
    record = dict(GOOD[("web", "events")], newVendorField={"nested": 1})
    landing.write_jsonl("web", "events", "part-0.jsonl", [record])

    load("web", "events")

    assert con.execute(
        "select record->>'$.newVendorField.nested' from raw.web_events"
    ).fetchone() == ("1",)


def test_a_skewed_client_clock_within_48_hours_is_kept(landing, load):
    record = dict(GOOD[("web", "events")], timestamp="2026-03-11T23:59:00Z")
    landing.write_jsonl("web", "events", "part-0.jsonl", [record])

    [result] = load("web", "events")

    assert (result.records_loaded, result.records_rejected) == (1, 0)


# ------------------------------------------------------------- values ahead of the file's day
def _write(landing, source: str, entity: str, records: list[dict]):
    if source in ("web", "email"):
        return landing.write_jsonl(source, entity, "part-0.jsonl", records), 1
    return landing.write_csv(source, entity, "part-0.csv", records), 2  # line 1: header


def _time_value(kind: str, hours_after_dt: float) -> str | int:
    """A value of a time field this many hours after 00:00 UTC of DAY, as the source sends it
    (a date: the day that starts then)."""
    start = dt.datetime(DAY.year, DAY.month, DAY.day, tzinfo=dt.UTC)
    moment = start + dt.timedelta(hours=hours_after_dt)
    if kind == "epoch":
        return int(moment.timestamp())
    if kind == "date":
        return moment.date().isoformat()
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


TIME_FIELDS = [
    (spec.source, spec.entity, fld.path, fld.kind)
    for spec in ENTITY_SPECS
    for fld in spec.fields
    if fld.kind in TIME_KINDS
]


def test_every_timestamp_and_date_field_of_every_entity_is_covered():
    assert ("ads", "spend", "date", "date") in TIME_FIELDS
    assert ("email", "events", "timestamp", "epoch") in TIME_FIELDS
    assert {(source, entity) for source, entity, _, _ in TIME_FIELDS} == {
        (spec.source, spec.entity) for spec in ENTITY_SPECS
    }


def test_a_far_future_spend_row_is_rejected_at_its_file_and_line_and_counts_reconcile(
    landing, load, con
):
    good = GOOD[("ads", "spend")]
    records = [good, dict(good, date="2099-01-01", campaign_id="g-2"), good]
    path = landing.write_csv("ads", "spend", "spend.csv", records)

    [result] = load("ads", "spend")

    assert (result.records_read, result.records_loaded, result.records_rejected) == (3, 2, 1)
    assert con.execute(
        "select source, entity, dt, file, line, reason from raw.rejected_records"
    ).fetchall() == [
        (
            "ads",
            "spend",
            DAY,
            path.relative_to(landing.root).as_posix(),
            3,
            "date 2099-01-01 is more than 48 hours after its file's day 2026-03-10",
        )
    ]
    assert con.execute(
        "select records_read, records_loaded, records_rejected from raw.loaded_files"
    ).fetchall() == [(3, 2, 1)]
    assert reconciliation_failures(con, spec_for("ads", "spend")) == []
    assert con.execute("select max(record->>'$.date') from raw.ads_spend").fetchone() == (
        "2026-03-09",
    )


@pytest.mark.parametrize(("source", "entity", "path", "kind"), TIME_FIELDS)
def test_a_time_field_more_than_48_hours_after_its_files_day_is_rejected(
    source, entity, path, kind, landing, load, con
):
    good = GOOD[(source, entity)]
    hours = 72 if kind == "date" else 49  # a date: dt + 3 days
    value = _time_value(kind, hours)
    file, first_line = _write(landing, source, entity, [good, dict(good, **{path: value})])

    [result] = load(source, entity)

    assert (result.records_read, result.records_loaded, result.records_rejected) == (2, 1, 1)
    [(rejected_file, line, reason)] = con.execute(
        "select file, line, reason from raw.rejected_records"
    ).fetchall()
    assert (rejected_file, line) == (file.relative_to(landing.root).as_posix(), first_line + 1)
    assert reason.startswith(f"{path} {value}")
    assert reason.endswith(" is more than 48 hours after its file's day 2026-03-10")
    if kind == "epoch":
        assert "(2026-03-12 01:00:00 UTC)" in reason
    assert reconciliation_failures(con, spec_for(source, entity)) == []


@pytest.mark.parametrize(("source", "entity", "path", "kind"), TIME_FIELDS)
@pytest.mark.parametrize("hours", [47, 48])
def test_a_time_field_up_to_48_hours_after_its_files_day_is_kept(
    source, entity, path, kind, hours, landing, load
):
    good = GOOD[(source, entity)]
    if kind == "date" and hours == 47:
        hours = 24  # a date of dt + 1 day (48 hours: dt + 2 days, its 00:00 is not "more")
    _write(landing, source, entity, [dict(good, **{path: _time_value(kind, hours)})])

    [result] = load(source, entity)

    assert (result.records_loaded, result.records_rejected) == (1, 0)


@pytest.mark.parametrize(
    ("days_after", "kept"), [(-400, True), (0, True), (1, True), (2, True), (3, False)]
)
def test_a_spend_date_is_judged_by_whole_days_after_the_files_day(days_after, kept, landing, load):
    day = (DAY + dt.timedelta(days=days_after)).isoformat()
    landing.write_csv("ads", "spend", "spend.csv", [dict(GOOD[("ads", "spend")], date=day)])

    [result] = load("ads", "spend")

    assert (result.records_loaded, result.records_rejected) == ((1, 0) if kept else (0, 1))


def test_the_rule_counts_from_midnight_utc_whatever_the_session_time_zone(landing, load, con):
    con.execute("set TimeZone = 'Pacific/Kiritimati'")  # UTC+14
    good = GOOD[("web", "events")]
    records = [
        dict(good, messageId="m-1", timestamp="2026-03-12T00:00:00Z"),  # exactly 48 hours
        dict(good, messageId="m-2", timestamp="2026-03-12T13:59:00+14:00"),  # 47:59 UTC
        dict(good, messageId="m-3", timestamp="2026-03-12T14:00:01+14:00"),  # 48:00:01 UTC
    ]
    landing.write_jsonl("web", "events", "part-0.jsonl", records)

    [result] = load("web", "events")

    assert (result.records_loaded, result.records_rejected) == (2, 1)
    assert con.execute("select line from raw.rejected_records").fetchall() == [(3,)]


@pytest.mark.parametrize(
    ("source", "entity", "changes", "reason"),
    [
        ("ads", "spend", {"date": "infinity"}, "unparseable date in date: 'infinity'"),
        (
            "crm",
            "orders",
            {"ordered_at": "-infinity"},
            "unparseable timestamp in ordered_at: '-infinity'",
        ),
        (
            "email",
            "events",
            {"timestamp": 10**20},
            "unparseable epoch timestamp in timestamp: '100000000000000000000'",
        ),
    ],
)
def test_a_time_value_that_is_no_point_in_time_is_rejected_once_with_one_reason(
    source, entity, changes, reason, landing, load, con
):
    _write(landing, source, entity, [_changed(GOOD[(source, entity)], changes)])

    [result] = load(source, entity)

    assert result.records_rejected == 1
    assert con.execute("select reason from raw.rejected_records").fetchall() == [(reason,)]


def test_an_epoch_beyond_any_timestamp_is_rejected_without_stopping_the_load(landing, load, con):
    good = GOOD[("email", "events")]
    records = [good, dict(good, sg_event_id="e-2", timestamp=10**17)]
    landing.write_jsonl("email", "events", "part-0.jsonl", records)

    [result] = load("email", "events")

    assert (result.records_loaded, result.records_rejected) == (1, 1)
    assert con.execute("select line, reason from raw.rejected_records").fetchall() == [
        (2, "timestamp 100000000000000000 is more than 48 hours after its file's day 2026-03-10")
    ]
