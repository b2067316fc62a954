"""Malformed records planted on purpose, one kind per rule of "Bad input" in sources.md.

Each planted record has fresh ids (it never collides with a good record) and exactly one
defect, so that it is unambiguously rejected. The manifest lists each with its file and line.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import numpy as np

from journey_tools.sample_data import catalogs as cat

WEB = ("web", "events")
EMAIL = ("email", "events")

# (source, entity) -> planted kinds
KINDS: dict[tuple[str, str], tuple[str, ...]] = {
    WEB: (
        "not_json",
        "not_object",
        "missing_message_id",
        "missing_anonymous_and_user_id",
        "track_without_event",
        "bad_timestamp",
        "bad_enum_web_type",
        "timestamp_too_late",
    ),
    EMAIL: (
        "not_json",
        "not_object",
        "missing_sg_event_id",
        "missing_sg_message_id",
        "missing_email",
        "bad_enum_email_event",
        "bad_timestamp",
        "timestamp_too_late",
    ),
    ("crm", "contacts"): (
        "wrong_field_count",
        "missing_contact_id",
        "bad_enum_lifecycle_stage",
        "bad_marketing_opt_in",
        "bad_timestamp",
        "timestamp_too_late",
    ),
    ("crm", "orders"): (
        "wrong_field_count",
        "missing_order_id",
        "missing_contact_and_email",
        "bad_enum_order_status",
        "bad_number",
        "negative_amount",
        "negative_count",
        "bad_timestamp",
    ),
    ("crm", "tickets"): (
        "wrong_field_count",
        "missing_ticket_id",
        "bad_enum_ticket_status",
        "bad_enum_ticket_channel",
        "bad_enum_ticket_category",
        "bad_enum_ticket_priority",
        "bad_timestamp",
    ),
    ("crm", "surveys"): (
        "missing_response_id",
        "bad_enum_survey_type",
        "bad_enum_survey_touchpoint",
        "score_out_of_scale",
        "bad_number",
        "bad_timestamp",
    ),
    ("crm", "activities"): (
        "missing_activity_id",
        "bad_enum_activity_type",
        "bad_timestamp",
        "timestamp_too_late",
    ),
    ("ads", "spend"): (
        "wrong_field_count",
        "bad_enum_platform",
        "negative_amount",
        "negative_count",
        "bad_date",
        "bad_number",
        "date_far_ahead",
    ),
    ("privacy", "erasure_requests"): ("missing_request_id", "bad_timestamp", "timestamp_too_late"),
}

BAD_TIMESTAMPS = ("not-a-timestamp", "2026-13-45T25:61:00Z", "yesterday")
BAD_DATES = ("2026-02-30", "not-a-date", "31.12.")
BAD_NUMBERS = ("abc", "12.3.4", "ten")
# A defect more than 48 hours after 00:00 UTC of the file's day
TOO_LATE = dt.timedelta(days=3, hours=2)


def planted_per_kind(key: tuple[str, str], expected_records: int) -> int:
    """How many records of each kind to plant in an entity: a small share, at least one."""
    rate = 1e-5 if key in (WEB, EMAIL) else 5e-4
    return max(1, round(expected_records * rate))


def plan(
    rng: np.random.Generator,
    candidates: dict[tuple[str, str], list[int]],
    expected: dict[tuple[str, str], int],
) -> dict[tuple[str, str, int], list[str]]:
    """Which kinds go into which day's file, per entity."""
    out: dict[tuple[str, str, int], list[str]] = {}
    for key, kinds in KINDS.items():
        days = candidates[key]
        per_kind = planted_per_kind(key, expected.get(key, 0))
        for kind in kinds:
            for day in rng.choice(days, size=per_kind, replace=True):
                out.setdefault((key[0], key[1], int(day)), []).append(kind)
    return out


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _uuid(rng: np.random.Generator) -> str:
    h = "".join(f"{x:02x}" for x in rng.integers(0, 256, 16))
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


# ------------------------------------------------------------------------------ JSON lines
def bad_web_line(kind: str, day: dt.date, i: int, rng: np.random.Generator) -> str:
    t = dt.datetime(day.year, day.month, day.day, 10, 0, tzinfo=dt.UTC) + dt.timedelta(
        minutes=int(rng.integers(0, 600))
    )
    msg: dict = {
        "messageId": _uuid(rng),
        "type": "page",
        "anonymousId": _uuid(rng),
        "userId": None,
        "timestamp": _iso(t),
        "receivedAt": _iso(t + dt.timedelta(seconds=1)),
        "context": {
            "page": {
                "path": "/",
                "referrer": "",
                "title": cat.SITE_NAME,
                "url": cat.SITE + "/",
            },
            "userAgent": cat.USER_AGENTS[0][0],
            "ip": f"198.51.100.{i % 250 + 1}",
        },
        "properties": {"path": "/", "title": cat.SITE_NAME, "url": cat.SITE + "/"},
    }
    if kind == "not_json":
        return json.dumps(msg, separators=(",", ":"))[:90]
    if kind == "not_object":
        return json.dumps(["page", msg["messageId"]]) if i % 2 else '"page"'
    if kind == "missing_message_id":
        if i % 2:
            del msg["messageId"]
        else:
            msg["messageId"] = None
    elif kind == "missing_anonymous_and_user_id":
        msg["anonymousId"] = None
        msg["userId"] = None
    elif kind == "track_without_event":
        msg["type"] = "track"
        msg["properties"] = {"product_id": cat.PRODUCTS[0][0]}
    elif kind == "bad_timestamp":
        msg["timestamp"] = BAD_TIMESTAMPS[i % len(BAD_TIMESTAMPS)]
    elif kind == "bad_enum_web_type":
        msg["type"] = "pageview"
    elif kind == "timestamp_too_late":
        start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        msg["timestamp"] = _iso(start + TOO_LATE)
    else:
        raise ValueError(kind)
    return json.dumps(msg, separators=(",", ":"), ensure_ascii=False)


def bad_email_line(kind: str, day: dt.date, i: int, rng: np.random.Generator) -> str:
    t = dt.datetime(day.year, day.month, day.day, 9, 0, tzinfo=dt.UTC) + dt.timedelta(
        minutes=int(rng.integers(0, 600))
    )
    token = "".join(chr(c) for c in rng.integers(ord("a"), ord("z") + 1, 22))
    ev: dict = {
        "email": f"mailbox.{i}@example.net",
        "timestamp": int(t.timestamp()),
        "event": "delivered",
        "sg_event_id": "zz" + token,
        "sg_message_id": f"zz{token[:20]}.filterdrecv-0000000000-1-00000000-0.0",
        "category": "newsletter",
        "marketing_campaign_id": None,
        "marketing_campaign_name": None,
        "response": "250 2.0.0 OK",
    }
    if kind == "not_json":
        return json.dumps(ev)[:70]
    if kind == "not_object":
        return "[]" if i % 2 else "12345"
    if kind in ("missing_sg_event_id", "missing_sg_message_id", "missing_email"):
        field = kind.removeprefix("missing_")
        if i % 2:
            del ev[field]
        else:
            ev[field] = None
    elif kind == "bad_enum_email_event":
        ev["event"] = "opened"
    elif kind == "bad_timestamp":
        ev["timestamp"] = BAD_TIMESTAMPS[i % len(BAD_TIMESTAMPS)]
    elif kind == "timestamp_too_late":
        start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        ev["timestamp"] = int((start + TOO_LATE).timestamp())
    else:
        raise ValueError(kind)
    return json.dumps(ev, separators=(",", ":"))


# ------------------------------------------------------------------------------------ CSV
def _csv_line(values: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue().rstrip("\n")


def _template(entity: str, day: dt.date, i: int) -> dict[str, str]:
    t = dt.datetime(day.year, day.month, day.day, 11, i % 60, tzinfo=dt.UTC)
    ts = _iso(t)
    later = _iso(t + dt.timedelta(minutes=5))
    fresh = f"99{day.strftime('%y%m%d')}{i:04d}"
    email = f"planted.{fresh}@example.net"
    if entity == "contacts":
        return {
            "contact_id": fresh, "email": email, "first_name": "Test", "last_name": "Person",
            "phone": "", "country": "DE", "lifecycle_stage": "lead",
            "original_source": "DIRECT_TRAFFIC", "marketing_opt_in": "true",
            "merged_into_contact_id": "", "created_at": ts, "updated_at": later,
        }  # fmt: skip
    if entity == "orders":
        return {
            "order_id": f"ORD-9{fresh}", "contact_id": "", "email": email, "ordered_at": ts,
            "status": "completed", "currency": cat.CURRENCY, "subtotal": "50.00",
            "discount": "0.00", "shipping": "4.95", "tax": "10.44", "total": "65.39",
            "discount_code": "", "items_count": "1", "updated_at": later,
        }  # fmt: skip
    if entity == "tickets":
        return {
            "ticket_id": f"T-9{fresh}", "contact_id": fresh, "email": email,
            "created_at": ts, "closed_at": "", "status": "open", "channel": "email",
            "category": "other", "priority": "low", "subject": "Test, please ignore",
            "updated_at": later,
        }  # fmt: skip
    if entity == "surveys":
        return {
            "response_id": f"R-9{fresh}", "contact_id": fresh, "email": email,
            "submitted_at": ts, "survey_type": "nps", "score": "8",
            "touchpoint": "website", "comment": "", "updated_at": later,
        }  # fmt: skip
    if entity == "activities":
        return {
            "activity_id": f"A-9{fresh}", "contact_id": fresh, "type": "call",
            "occurred_at": ts, "updated_at": later,
        }  # fmt: skip
    if entity == "spend":
        return {
            "date": day.isoformat(), "platform": "google_ads", "campaign_id": f"9{fresh}",
            "campaign_name": "Test campaign", "utm_source": "google", "utm_medium": "cpc",
            "utm_campaign": "test_campaign", "impressions": "100", "clicks": "3",
            "spend": "1.20", "currency": cat.CURRENCY,
        }  # fmt: skip
    if entity == "erasure_requests":
        return {"request_id": f"ER-9{fresh}", "email": email, "requested_at": ts}
    raise ValueError(entity)


_ID_FIELD = {
    "missing_contact_id": "contact_id",
    "missing_order_id": "order_id",
    "missing_ticket_id": "ticket_id",
    "missing_response_id": "response_id",
    "missing_activity_id": "activity_id",
    "missing_request_id": "request_id",
}
_BAD_ENUM = {
    "bad_enum_lifecycle_stage": ("lifecycle_stage", "prospect"),
    "bad_enum_order_status": ("status", "shipped"),
    "bad_enum_ticket_status": ("status", "escalated"),
    "bad_enum_ticket_channel": ("channel", "carrier_pigeon"),
    "bad_enum_ticket_category": ("category", "complaint"),
    "bad_enum_ticket_priority": ("priority", "critical"),
    "bad_enum_survey_type": ("survey_type", "ces"),
    "bad_enum_survey_touchpoint": ("touchpoint", "checkout_page"),
    "bad_enum_activity_type": ("type", "sms"),
    "bad_enum_platform": ("platform", "snapchat_ads"),
}
_TIMESTAMP_FIELD = {
    "contacts": "created_at",
    "orders": "ordered_at",
    "tickets": "created_at",
    "surveys": "submitted_at",
    "activities": "occurred_at",
    "erasure_requests": "requested_at",
}


def bad_csv_line(entity: str, kind: str, header: list[str], day: dt.date, i: int) -> str:
    row = _template(entity, day, i)
    if kind in _ID_FIELD:
        row[_ID_FIELD[kind]] = ""
    elif kind in _BAD_ENUM:
        field, value = _BAD_ENUM[kind]
        row[field] = value
    elif kind == "missing_contact_and_email":
        row["contact_id"] = ""
        row["email"] = ""
    elif kind == "bad_marketing_opt_in":
        row["marketing_opt_in"] = ("yes", "1", "TRUE!")[i % 3]
    elif kind == "bad_timestamp":
        row[_TIMESTAMP_FIELD[entity]] = BAD_TIMESTAMPS[i % len(BAD_TIMESTAMPS)]
    elif kind == "timestamp_too_late":
        start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        row["updated_at" if "updated_at" in row else "requested_at"] = _iso(start + TOO_LATE)
    elif kind == "bad_date":
        row["date"] = BAD_DATES[i % len(BAD_DATES)]
    elif kind == "date_far_ahead":
        # A spend row dated decades ahead (a typo or a placeholder of another tool): kept, it
        # would stretch every daily table to that year.
        row["date"] = "2099-01-01"
    elif kind == "bad_number":
        field = {"orders": "total", "surveys": "score", "spend": "spend"}[entity]
        row[field] = BAD_NUMBERS[i % len(BAD_NUMBERS)]
    elif kind == "negative_amount":
        if entity == "orders":
            row.update(subtotal="-50.00", shipping="0.00", tax="-9.50", total="-59.50")
        else:
            row["spend"] = "-12.50"
    elif kind == "negative_count":
        if entity == "orders":
            row["items_count"] = "-1"
        else:
            row["clicks"] = "-3"
    elif kind == "score_out_of_scale":
        if i % 2:
            row.update(survey_type="nps", score="11")
        else:
            row.update(survey_type="csat", score="6")
    elif kind != "wrong_field_count":
        raise ValueError(kind)
    values = [row.get(col, "") for col in header]
    if kind == "wrong_field_count":
        values = values[:-2]
    return _csv_line(values)


# ---------------------------------------------------------------------------- whole files
def not_gzip_bytes(rng: np.random.Generator) -> bytes:
    """A '.jsonl.gz' that is a zip archive: not gzip (and not UTF-8 text either)."""
    return b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(rng.integers(128, 256, 240).tolist())


def headerless_csv(entity: str, header: list[str], day: dt.date) -> tuple[bytes, int]:
    """Rows without the header line: the export tool forgot it."""
    lines = []
    for i in range(3):
        row = _template(entity, day, 9000 + i)
        lines.append(_csv_line([row.get(col, "") for col in header]))
    return ("\n".join(lines) + "\n").encode(), len(lines)


def latin1_csv(entity: str, header: list[str], day: dt.date) -> tuple[bytes, int]:
    """A file saved as Latin-1 by a spreadsheet: not UTF-8."""
    lines = [_csv_line(header)]
    for i in range(2):
        row = _template(entity, day, 9100 + i)
        if "comment" in row:
            row["comment"] = "Très bien, merci"
        lines.append(_csv_line([row.get(col, "") for col in header]))
    return ("\n".join(lines) + "\n").encode("latin-1"), 2
