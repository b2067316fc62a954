"""The sample-data generator writes landing files that follow sources.md, with planted bad
records exactly where its manifest says, and the same bytes for the same arguments."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from dataclasses import field as default
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from journey_tools.sample_data import catalogs as cat
from journey_tools.sample_data import generate_landing
from journey_tools.sample_data.generator import simulate

SMALL = {"customers": 300, "days": 10, "start": dt.date(2026, 3, 1), "seed": 7}

ENTITIES = {
    ("web", "events"): (".jsonl", ".jsonl.gz"),
    ("email", "events"): (".jsonl", ".jsonl.gz"),
    ("crm", "contacts"): (".csv", ".csv.gz"),
    ("crm", "orders"): (".csv", ".csv.gz"),
    ("crm", "tickets"): (".csv", ".csv.gz"),
    ("crm", "surveys"): (".csv", ".csv.gz"),
    ("crm", "activities"): (".csv", ".csv.gz"),
    ("ads", "spend"): (".csv", ".csv.gz"),
    ("privacy", "erasure_requests"): (".csv", ".csv.gz"),
}

# Every rule of "Bad input" in sources.md, as the planted kinds that exercise it.
BAD_INPUT_RULES = {
    "a line that is not JSON": {"not_json"},
    "JSON that is not an object": {"not_object"},
    "a CSV row with the wrong number of fields": {"wrong_field_count"},
    "missing messageId": {"missing_message_id"},
    "missing sg_event_id": {"missing_sg_event_id"},
    "missing sg_message_id": {"missing_sg_message_id"},
    "missing contact_id": {"missing_contact_id"},
    "missing order_id": {"missing_order_id"},
    "missing other ids": {
        "missing_ticket_id", "missing_response_id", "missing_activity_id", "missing_request_id",
    },
    "a web message with neither anonymousId nor userId": {"missing_anonymous_and_user_id"},
    "a track without event": {"track_without_event"},
    "an email event without email": {"missing_email"},
    "an order with neither contact_id nor email": {"missing_contact_and_email"},
    "an unparseable timestamp": {"bad_timestamp"},
    "an unparseable date": {"bad_date"},
    "an unparseable number": {"bad_number"},
    "web type outside its list": {"bad_enum_web_type"},
    "email event outside its list": {"bad_enum_email_event"},
    "CRM enums outside their lists": {
        "bad_enum_lifecycle_stage", "bad_enum_order_status", "bad_enum_ticket_status",
        "bad_enum_ticket_channel", "bad_enum_ticket_category", "bad_enum_ticket_priority",
        "bad_enum_survey_type", "bad_enum_survey_touchpoint", "bad_enum_activity_type",
    },
    "ads enum outside its list": {"bad_enum_platform"},
    "a negative amount or count": {"negative_amount", "negative_count"},
    "a survey score outside its scale": {"score_out_of_scale"},
    "a marketing_opt_in other than true or false": {"bad_marketing_opt_in"},
    "a timestamp more than 48 hours after its dt": {"timestamp_too_late"},
    "a date more than 48 hours after its dt": {"date_far_ahead"},
}  # fmt: skip


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("landing")
    return out, generate_landing(out, **SMALL)


def read_text(path: Path) -> str:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return data.decode("utf-8")


# ------------------------------------------------------------------------- the contract
class Bad(Exception):
    """A record that breaks sources.md; its argument is the planted kind it matches."""


def parse_ts(value, day: dt.date) -> dt.datetime:
    if not isinstance(value, str) or not value:
        raise Bad("bad_timestamp")
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError:
        raise Bad("bad_timestamp") from None
    if t.tzinfo is None:
        raise Bad("bad_timestamp")
    if t > dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) + dt.timedelta(hours=48):
        raise Bad("timestamp_too_late")
    return t


def check_web(line: str, day: dt.date) -> dict:
    try:
        msg = json.loads(line)
    except ValueError:
        raise Bad("not_json") from None
    if not isinstance(msg, dict):
        raise Bad("not_object")
    if not msg.get("messageId"):
        raise Bad("missing_message_id")
    if not msg.get("anonymousId") and not msg.get("userId"):
        raise Bad("missing_anonymous_and_user_id")
    if msg.get("type") not in cat.WEB_TYPES:
        raise Bad("bad_enum_web_type")
    if msg["type"] == "track" and not msg.get("event"):
        raise Bad("track_without_event")
    parse_ts(msg.get("timestamp"), day)
    parse_ts(msg.get("receivedAt"), day)
    return msg


def check_email(line: str, day: dt.date) -> dict:
    try:
        ev = json.loads(line)
    except ValueError:
        raise Bad("not_json") from None
    if not isinstance(ev, dict):
        raise Bad("not_object")
    for field in ("sg_event_id", "sg_message_id", "email"):
        if not ev.get(field):
            raise Bad(f"missing_{field}")
    if ev.get("event") not in cat.EMAIL_EVENTS:
        raise Bad("bad_enum_email_event")
    ts = ev.get("timestamp")
    if not isinstance(ts, int) or isinstance(ts, bool):
        raise Bad("bad_timestamp")
    parse_ts(dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(), day)
    return ev


ENUMS = {
    ("contacts", "lifecycle_stage"): cat.LIFECYCLE_STAGES,
    ("orders", "status"): cat.ORDER_STATUSES,
    ("tickets", "status"): cat.TICKET_STATUSES,
    ("tickets", "channel"): cat.TICKET_CHANNELS,
    ("tickets", "category"): cat.TICKET_CATEGORIES,
    ("tickets", "priority"): cat.TICKET_PRIORITIES,
    ("surveys", "survey_type"): cat.SURVEY_TYPES,
    ("surveys", "touchpoint"): cat.SURVEY_TOUCHPOINTS,
    ("activities", "type"): cat.ACTIVITY_TYPES,
    ("spend", "platform"): cat.AD_PLATFORMS,
}
ENUM_KIND = {
    ("contacts", "lifecycle_stage"): "bad_enum_lifecycle_stage",
    ("orders", "status"): "bad_enum_order_status",
    ("tickets", "status"): "bad_enum_ticket_status",
    ("tickets", "channel"): "bad_enum_ticket_channel",
    ("tickets", "category"): "bad_enum_ticket_category",
    ("tickets", "priority"): "bad_enum_ticket_priority",
    ("surveys", "survey_type"): "bad_enum_survey_type",
    ("surveys", "touchpoint"): "bad_enum_survey_touchpoint",
    ("activities", "type"): "bad_enum_activity_type",
    ("spend", "platform"): "bad_enum_platform",
}
IDS = {
    "contacts": "contact_id",
    "orders": "order_id",
    "tickets": "ticket_id",
    "surveys": "response_id",
    "activities": "activity_id",
    "erasure_requests": "request_id",
}
TIMESTAMPS = {
    "contacts": ("created_at", "updated_at"),
    "orders": ("ordered_at", "updated_at"),
    "tickets": ("created_at", "closed_at", "updated_at"),
    "surveys": ("submitted_at", "updated_at"),
    "activities": ("occurred_at", "updated_at"),
    "erasure_requests": ("requested_at",),
}
AMOUNTS = {"orders": ("subtotal", "discount", "shipping", "tax", "total"), "spend": ("spend",)}
COUNTS = {"orders": ("items_count",), "spend": ("impressions", "clicks")}


def number(value: str, kind: str) -> float:
    try:
        x = float(value)
    except ValueError:
        raise Bad("bad_number") from None
    if x < 0:
        raise Bad(kind)
    return x


def check_csv_row(entity: str, header: list[str], row: list[str], day: dt.date) -> dict:
    if len(row) != len(header):
        raise Bad("wrong_field_count")
    rec = dict(zip(header, row, strict=True))
    if entity in IDS and not rec[IDS[entity]]:
        raise Bad(f"missing_{IDS[entity]}")
    for (ent, field), values in ENUMS.items():
        if ent == entity and rec[field] not in values:
            raise Bad(ENUM_KIND[(ent, field)])
    if entity == "contacts" and rec["marketing_opt_in"] not in ("true", "false"):
        raise Bad("bad_marketing_opt_in")
    if entity == "orders" and not rec["contact_id"] and not rec["email"]:
        raise Bad("missing_contact_and_email")
    for field in TIMESTAMPS.get(entity, ()):
        if rec[field] or field != "closed_at":
            parse_ts(rec[field], day)
    if entity == "spend":
        try:
            spend_date = dt.date.fromisoformat(rec["date"])
        except ValueError:
            raise Bad("bad_date") from None
        if spend_date > day + dt.timedelta(days=2):  # 00:00 of the date, 48 h after dt's
            raise Bad("date_far_ahead")
    if entity == "surveys":
        try:
            score = int(rec["score"])
        except ValueError:
            raise Bad("bad_number") from None
        low, high = (0, 10) if rec["survey_type"] == "nps" else (1, 5)
        if not low <= score <= high:
            raise Bad("score_out_of_scale")
    for field in AMOUNTS.get(entity, ()):
        number(rec[field], "negative_amount")
    for field in COUNTS.get(entity, ()):
        number(rec[field], "negative_count")
    return rec


def scan(out: Path, manifest: dict) -> tuple[dict, dict]:
    """Checks every record of every file. Returns {(file, line): kind} of bad records and
    the good records by entity."""
    broken = {b["file"] for b in manifest["broken_files"]}
    bad: dict[tuple[str, int], str] = {}
    good: dict[str, list] = {}
    for f in manifest["files"]:
        if f["file"] in broken:
            continue
        day = dt.date.fromisoformat(f["dt"])
        text = read_text(out / f["file"])
        lines = text.split("\n")
        assert lines[-1] == "", f["file"]
        lines = lines[:-1]
        if f["source"] in ("web", "email"):
            check = check_web if f["source"] == "web" else check_email
            assert len(lines) == f["records"], f["file"]
            for n, line in enumerate(lines, start=1):
                try:
                    good.setdefault(f["entity"] + "/" + f["source"], []).append(check(line, day))
                except Bad as e:
                    bad[(f["file"], n)] = e.args[0]
            continue
        entity = f["entity"]
        header = lines[0].split(",")
        contract = list(cat.CSV_COLUMNS[entity])
        assert header[: len(contract)] == contract, f["file"]
        assert len(lines) - 1 == f["records"], f["file"]
        for n, line in enumerate(lines[1:], start=2):
            row = next(csv.reader(io.StringIO(line)))
            try:
                good.setdefault(entity, []).append(check_csv_row(entity, header, row, day))
            except Bad as e:
                bad[(f["file"], n)] = e.args[0]
    return bad, good


# ---------------------------------------------------------------------------------- tests
def test_the_same_arguments_give_byte_identical_trees(tmp_path):
    args = {"customers": 150, "days": 6, "start": dt.date(2026, 1, 1), "seed": 3}
    a, b = tmp_path / "a", tmp_path / "b"
    generate_landing(a, **args)
    generate_landing(b, **args)
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_another_seed_gives_other_data(tmp_path):
    a = generate_landing(tmp_path / "a", customers=100, days=3, seed=1)
    b = generate_landing(tmp_path / "b", customers=100, days=3, seed=2)
    assert a["stats"] != b["stats"] or a["planted_rejections"] != b["planted_rejections"]


def test_every_source_entity_has_files_under_dt_folders(landing):
    out, manifest = landing
    for (source, entity), exts in ENTITIES.items():
        folder = out / source / entity
        files = [p for p in folder.rglob("*") if p.is_file()]
        assert files, (source, entity)
        for p in files:
            assert p.parent.name.startswith("dt="), p
            dt.date.fromisoformat(p.parent.name.removeprefix("dt="))
            assert p.parent.parent == folder, p
            assert p.name.endswith(exts), p
    on_disk = {
        str(p.relative_to(out))
        for p in out.rglob("*")
        if p.is_file() and p.name != "_manifest.json"
    }
    assert on_disk == {f["file"] for f in manifest["files"]}
    assert json.loads((out / "_manifest.json").read_text()) == manifest


def test_both_compressed_and_plain_files_and_mixed_csv_headers_appear(landing):
    out, manifest = landing
    names = [f["file"] for f in manifest["files"]]
    assert any(n.startswith("web/") and n.endswith(".jsonl.gz") for n in names)
    assert any(n.startswith("web/") and n.endswith(".jsonl") for n in names)
    assert any(n.startswith("crm/") and n.endswith(".csv.gz") for n in names)
    broken = {b["file"] for b in manifest["broken_files"]}

    def has_extra_columns(f: dict) -> bool:
        header = read_text(out / f["file"]).split("\n", 1)[0].split(",")
        return len(header) > len(cat.CSV_COLUMNS[f["entity"]])

    csv_files = [f for f in manifest["files"] if f["file"].endswith((".csv", ".csv.gz"))]
    drift = [f for f in csv_files if f["file"] not in broken and has_extra_columns(f)]
    assert drift, "some CSV files carry extra columns"


def test_every_bad_input_rule_is_planted_at_a_small_size(landing):
    _, manifest = landing
    kinds = {p["kind"] for p in manifest["planted_rejections"]}
    for rule, wanted in BAD_INPUT_RULES.items():
        assert wanted & kinds, rule
    broken = {b["kind"] for b in manifest["broken_files"]}
    assert {"not_gzip", "missing_header", "not_utf8"} <= broken


def test_planted_rejections_are_exactly_the_bad_records_at_their_lines(landing):
    out, manifest = landing
    bad, _ = scan(out, manifest)
    planted = {(p["file"], p["line"]): p["kind"] for p in manifest["planted_rejections"]}
    assert bad == planted


def test_valid_records_obey_the_contract(landing):
    out, manifest = landing
    _, good = scan(out, manifest)
    web = good["events/web"]
    assert {m["type"] for m in web} == set(cat.WEB_TYPES)
    assert {m["event"] for m in web if m["type"] == "track"} <= set(cat.TRACK_EVENTS)
    assert any(m.get("userId") for m in web) and any(not m.get("userId") for m in web)
    ids = [m["messageId"] for m in web]
    assert len(ids) > len(set(ids)), "some messages are retried"
    offsets = {m["timestamp"][-6:] if m["timestamp"][-1] != "Z" else "Z" for m in web}
    assert {"Z", "+02:00", "-05:00"} <= offsets
    urls = [m["context"]["page"]["url"] for m in web]
    assert any("gclid=" in u for u in urls) and any("utm_medium=email" in u for u in urls)
    assert any("bot" in m["context"]["userAgent"].lower() for m in web)
    late = [
        m for m in web
        if dt.datetime.fromisoformat(m["receivedAt"]) - dt.datetime.fromisoformat(m["timestamp"])
        > dt.timedelta(hours=20)
    ]  # fmt: skip
    assert late, "some messages arrive days late"

    email = good["events/email"]
    assert {e["event"] for e in email} >= {"processed", "delivered", "open", "click"}
    assert any(e.get("sg_machine_open") for e in email)
    assert any(isinstance(e["category"], list) for e in email)
    assert any(isinstance(e["category"], str) for e in email)
    assert any(e["marketing_campaign_id"] is None for e in email)
    assert any(e["email"] != e["email"].strip().lower() for e in email)
    assert all("utm_medium=email" in e["url"] for e in email if e["event"] == "click")

    orders = good["orders"]
    for o in orders:
        cents = [round(float(o[k]) * 100) for k in AMOUNTS["orders"]]
        assert cents[4] == cents[0] - cents[1] + cents[2] + cents[3], o
        assert o["currency"] == "EUR"
    assert any(not o["contact_id"] for o in orders), "a guest checkout"
    contacts = good["contacts"]
    assert any(c["merged_into_contact_id"] for c in contacts)
    assert any(any(ord(ch) > 127 for ch in c["first_name"] + c["last_name"]) for c in contacts)
    for s in good["spend"]:
        assert int(s["impressions"]) >= int(s["clicks"])
    keys = [(s["date"], s["platform"], s["campaign_id"]) for s in good["spend"]]
    assert len(keys) > len(set(keys)), "spend is restated in later files"


def test_web_order_ids_match_crm_orders(landing):
    out, manifest = landing
    _, good = scan(out, manifest)
    web_orders = {
        m["properties"]["order_id"]
        for m in good["events/web"]
        if m.get("event") == "Order Completed"
    }
    crm_orders = {o["order_id"] for o in good["orders"]}
    assert web_orders and web_orders <= crm_orders


def test_a_redelivered_file_is_byte_identical_to_its_original(landing):
    out, manifest = landing
    assert manifest["duplicate_files"]
    for d in manifest["duplicate_files"]:
        assert d["file"] != d["copy_of"]
        assert Path(d["file"]).parent == Path(d["copy_of"]).parent
        assert (out / d["file"]).read_bytes() == (out / d["copy_of"]).read_bytes()


def test_broken_files_are_broken_as_a_whole(landing):
    out, manifest = landing
    for b in manifest["broken_files"]:
        raw = (out / b["file"]).read_bytes()
        if b["kind"] == "not_gzip":
            with pytest.raises(gzip.BadGzipFile):
                gzip.decompress(raw)
        elif b["kind"] == "not_utf8":
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")
        elif b["kind"] == "missing_header":
            first = raw.decode().split("\n", 1)[0].split(",")
            assert first != list(cat.CSV_COLUMNS[Path(b["file"]).parts[1]])


# ------------------------------------------------------------------ journeys that show the product
# A landing big enough to hold campaigns that bring visits and orders, and buyers who come back.
JOURNEYS = {"customers": 2000, "days": 60, "start": dt.date(2026, 1, 1), "seed": 11}
SESSION_GAP = dt.timedelta(minutes=30)


@dataclass
class Session:
    anonymous_id: str
    start: dt.datetime
    last: dt.datetime
    campaign: tuple | None  # (source, medium, name) of its first message
    url: str
    order_ids: set[str] = default(default_factory=set)
    person: str = ""


@dataclass
class Journeys:
    """The landing's records, with people resolved as marts.md says: CRM merges followed to
    the end, emails trimmed and lower-cased, a device belongs to the contacts it identified
    with (by userId or traits.email), a session to the nearest of them in time."""

    sessions: list[Session]
    web_orders: set[str]
    email: list[dict]
    orders: list[dict]  # latest versions
    tickets: list[dict]
    surveys: list[dict]
    device_people: dict[str, set[str]]
    person_of_email: dict[str, str]
    survivor: dict[str, str]
    contacts: list[dict] = default(default_factory=list)  # latest versions
    spend: list[dict] = default(default_factory=list)
    # (person, anonymousId, time, event name, properties) of track messages
    tracks: list[tuple[str, str, dt.datetime, str, dict]] = default(default_factory=list)
    manifest: dict = default(default_factory=dict)

    def person(self, email: str) -> str:
        e = email.strip().lower()
        return self.person_of_email.get(e, "email:" + e)


def utc(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).astimezone(dt.UTC)


def latest_versions(records: list[dict], key: str) -> list[dict]:
    newest: dict[str, dict] = {}
    for r in records:
        if r[key] not in newest or utc(r["updated_at"]) >= utc(newest[r[key]]["updated_at"]):
            newest[r[key]] = r
    return list(newest.values())


def resolve_journeys(good: dict) -> Journeys:
    contacts = latest_versions(good["contacts"], "contact_id")
    merged = {c["contact_id"]: c["merged_into_contact_id"] for c in contacts}

    def survivor(contact_id: str) -> str:
        while merged.get(contact_id):
            contact_id = merged[contact_id]
        return contact_id

    person_of_email: dict[str, str] = {}
    for c in good["contacts"]:
        person_of_email.setdefault(c["email"].strip().lower(), survivor(c["contact_id"]))
    j = Journeys([], set(), [], [], [], [], {}, person_of_email, {c: survivor(c) for c in merged})
    j.contacts = contacts
    j.spend = good["spend"]
    web = list({m["messageId"]: m for m in good["events/web"]}.values())
    identified: dict[str, list[tuple[dt.datetime, str]]] = {}
    for m in web:
        anon = m.get("anonymousId")
        if not anon:
            continue
        if m.get("userId"):
            identified.setdefault(anon, []).append((utc(m["timestamp"]), survivor(m["userId"])))
        if m["type"] == "identify" and (m.get("traits") or {}).get("email"):
            person = j.person(m["traits"]["email"])
            identified.setdefault(anon, []).append((utc(m["timestamp"]), person))
    j.device_people = {anon: {p for _, p in ids} for anon, ids in identified.items()}
    by_device: dict[str, list[dict]] = {}
    for m in web:
        if m["type"] in ("page", "track") and m.get("anonymousId"):
            by_device.setdefault(m["anonymousId"], []).append(m)
    for anon, messages in by_device.items():
        messages.sort(key=lambda m: utc(m["timestamp"]))
        current = None
        for m in messages:
            t = utc(m["timestamp"])
            c = m["context"].get("campaign")
            campaign = (c["source"], c["medium"], c["name"]) if c else None
            if (
                current is None
                or t - current.last >= SESSION_GAP
                or (campaign and campaign != current.campaign)
            ):
                current = Session(anon, t, t, campaign, m["context"]["page"]["url"])
                ids = identified.get(anon)
                current.person = (
                    min(ids, key=lambda x: abs(x[0] - t))[1] if ids else "device:" + anon
                )
                j.sessions.append(current)
            current.last = t
            if m["type"] == "track":
                j.tracks.append((current.person, anon, t, m["event"], m.get("properties") or {}))
            if m.get("event") == "Order Completed":
                current.order_ids.add(m["properties"]["order_id"])
                j.web_orders.add(m["properties"]["order_id"])
    j.email = list({e["sg_event_id"]: e for e in good["events/email"]}.values())
    j.orders = latest_versions(good["orders"], "order_id")
    j.tickets = latest_versions(good["tickets"], "ticket_id")
    j.surveys = latest_versions(good["surveys"], "response_id")
    return j


@pytest.fixture(scope="module")
def journeys(tmp_path_factory) -> Journeys:
    out = tmp_path_factory.mktemp("journeys")
    manifest = generate_landing(out, **JOURNEYS)
    _, good = scan(out, manifest)
    j = resolve_journeys(good)
    j.manifest = manifest
    return j


def utm(url: str) -> tuple[str, str, str]:
    query = parse_qs(urlparse(url).query)
    return query["utm_source"][0], query["utm_medium"][0], query["utm_campaign"][0]


def test_marketing_email_clicks_open_sessions_of_their_campaign_minutes_later(journeys):
    j = journeys
    clicks = [e for e in j.email if e["event"] == "click" and e["marketing_campaign_id"]]
    by_person: dict[tuple, list[dict]] = {}
    for e in clicks:
        by_person.setdefault((j.person(e["email"]), utm(e["url"])), []).append(e)
    opened = [s for s in j.sessions if s.campaign and s.campaign[1] == "email"]
    assert len(opened) >= 30
    clicker_owns_it = 0
    for s in opened:
        # on a device that has identified as the person who clicked, started after the
        # click and less than 30 minutes later, landing on the clicked URL
        people = j.device_people.get(s.anonymous_id, set())
        assert people, s
        after = [
            (p, e)
            for p in people
            for e in by_person.get((p, s.campaign), [])
            if dt.timedelta(0)
            <= s.start - dt.datetime.fromtimestamp(e["timestamp"], dt.UTC)
            < SESSION_GAP
        ]
        assert after, s
        assert s.url in {e["url"] for _, e in after}, s
        assert utm(s.url) == s.campaign
        # and the device's identification nearest in time names the clicker
        clicker_owns_it += s.person in {p for p, _ in after}
    assert clicker_owns_it >= 0.95 * len(opened)
    # most clicks land on the site; the campaigns' visits lead to orders
    first = {}
    for e in sorted(clicks, key=lambda e: e["timestamp"]):
        first.setdefault(e["sg_message_id"], e)
    landed = {(s.person, s.campaign): s.start for s in opened}
    linked = [
        e
        for e in first.values()
        if (j.person(e["email"]), utm(e["url"])) in landed
        and dt.timedelta(0)
        <= landed[(j.person(e["email"]), utm(e["url"]))]
        - dt.datetime.fromtimestamp(e["timestamp"], dt.UTC)
        < SESSION_GAP
    ]
    assert len(linked) >= 0.6 * len(first)
    assert sum(bool(s.order_ids) for s in opened) >= 3


def order_person(j: Journeys, order: dict) -> str:
    if order["contact_id"]:
        return j.survivor.get(order["contact_id"], order["contact_id"])
    return j.person(order["email"])


def test_buyers_come_back_days_after_their_first_order_not_minutes(journeys):
    j = journeys
    placed = [o for o in j.orders if o["status"] != "cancelled"]
    first: dict[str, tuple[dt.datetime, str]] = {}
    for o in placed:
        key = (utc(o["ordered_at"]), o["order_id"])
        person = order_person(j, o)
        first[person] = min(first.get(person, key), key)
    later: dict[str, list[dt.datetime]] = {}

    def engage(person: str, t: dt.datetime) -> None:
        if person in first and t > first[person][0]:
            later.setdefault(person, []).append(t)

    for s in j.sessions:
        if s.person in first and first[s.person][1] not in s.order_ids:
            engage(s.person, s.start)
    for e in j.email:
        human = e["event"] == "click" or (e["event"] == "open" and not e["sg_machine_open"])
        if human and e["marketing_campaign_id"]:
            engage(j.person(e["email"]), dt.datetime.fromtimestamp(e["timestamp"], dt.UTC))
    for t in j.tickets:
        engage(j.survivor.get(t["contact_id"], t["contact_id"]), utc(t["created_at"]))
    for r in j.surveys:
        engage(j.survivor.get(r["contact_id"], r["contact_id"]), utc(r["submitted_at"]))
    for o in placed:
        engage(order_person(j, o), utc(o["ordered_at"]))
    gaps = sorted((min(ts) - first[p][0]) / dt.timedelta(days=1) for p, ts in later.items())
    assert len(first) >= 100
    assert 0.3 <= len(gaps) / len(first) <= 0.85, "a realistic share of buyers comes back"
    assert statistics.median(gaps) >= 1.0, "and does so days later"
    assert sum(g < 1 / 24 for g in gaps) <= 0.05 * len(gaps)


@pytest.fixture(scope="module")
def readme_world() -> dict:
    """The simulation behind the README's `journey generate --customers 5000 --days 180`."""
    return simulate(5000, 180, dt.date(2026, 1, 1), 42)


def test_enough_people_buy_again_over_months_for_a_clv_fit(readme_world):
    """At 5000 people x 180 days: the contract fits CLV models on at least 100 repeat
    buyers, and buyers drift away month by month."""
    world = readme_world
    orders = world["orders"]
    placed = orders.final_status != cat.ORDER_STATUSES.index("cancelled")
    person, day = orders.person[placed], orders.ordered_at[placed] // cat.DAY_MS
    days_by_person: dict[int, set[int]] = {}
    for p, d in zip(person.tolist(), day.tolist(), strict=True):
        days_by_person.setdefault(p, set()).add(d)
    repeat = sum(len(d) >= 2 for d in days_by_person.values())
    assert 150 <= repeat <= 400
    assert world["stats"]["repeat_buyers"] == repeat
    # of the first quarter's buyers, more buy again in their second month than in their fifth
    early = {p: min(d) for p, d in days_by_person.items() if min(d) < 60}
    active = [
        sum(any(first + 30 * m <= d < first + 30 * (m + 1) for d in days_by_person[p])
            for p, first in early.items())
        for m in range(1, 4)
    ]  # fmt: skip
    assert active[0] > active[2] > 0


# ------------------------------------------------------------------------------ A/B tests
def z_test_p(n1: int, c1: int, n2: int, c2: int) -> float:
    """Two-sided two-proportion z-test, pooled standard error."""
    pooled = (c1 + c2) / (n1 + n2)
    z = (c2 / n2 - c1 / n1) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return math.erfc(abs(z) / math.sqrt(2))


def srm_p(n1: int, n2: int) -> float:
    """Chi-square test of two counts against an equal split (one degree of freedom)."""
    expected = (n1 + n2) / 2
    chi2 = ((n1 - expected) ** 2 + (n2 - expected) ** 2) / expected
    return math.erfc(math.sqrt(chi2 / 2))


def readout(experiment: dict) -> dict:
    control, treatment = experiment["variations"]
    n1, c1 = control["exposed_people"], control["converted_people"]
    n2, c2 = treatment["exposed_people"], treatment["converted_people"]
    return {
        "exposed": n1 + n2,
        "treatment_share": n2 / (n1 + n2),
        "diff": c2 / n2 - c1 / n1,
        "lift": (c2 / n2) / (c1 / n1) - 1,
        "p": z_test_p(n1, c1, n2, c2),
        "srm_p": srm_p(n1, n2),
        "multiple_share": experiment["multiple_exposure_people"]
        / (n1 + n2 + experiment["multiple_exposure_people"]),
    }


def test_three_ab_tests_have_their_true_effects_at_the_readme_size(readme_world):
    """A winner (50/50, a real lift in 14-day conversion), a test without effect (50/50) and
    a broken split (45/55, no effect), as the simulation ran them: the manifest's stats."""
    stats = readme_world["stats"]["experiments"]
    assert [e["experiment_name"] for e in stats] == [x.experiment_name for x in cat.EXPERIMENTS]
    winner, null, broken = stats
    for e, x in zip(stats, cat.EXPERIMENTS, strict=True):
        control, treatment = e["variations"]
        assert (control["variation_id"], treatment["variation_id"]) == tuple(
            str(v) for v in x.variation_ids
        )
        assert control["is_control"] and not treatment["is_control"]
        assert control["order_lift"] == 1.0 and treatment["order_lift"] == x.order_lift
        assert treatment["assigned_share"] == x.treatment_share
        assert e["conversion_window_days"] == cat.CONVERSION_WINDOW_DAYS == 14
        r = readout(e)
        assert r["exposed"] >= 2500, e["experiment_name"]
        # a cookie reset shows a few people both variations
        assert 0.01 <= r["multiple_share"] <= 0.03, e["experiment_name"]
        # every conversion window closes before the last day
        last = dt.datetime.fromisoformat(e["runs_until"]) + dt.timedelta(days=14)
        assert last < dt.datetime(2026, 6, 30, tzinfo=dt.UTC)

    w, n, b = readout(winner), readout(null), readout(broken)
    assert winner["variations"][1]["order_lift"] > 1
    assert abs(w["treatment_share"] - 0.5) < 0.02 and w["srm_p"] > 0.05
    assert w["lift"] > 0.4 and w["p"] < 1e-4, w

    assert null["variations"][1]["order_lift"] == 1.0
    assert abs(n["treatment_share"] - 0.5) < 0.02 and n["srm_p"] > 0.05
    assert n["p"] > 0.05, n

    assert broken["variations"][1]["order_lift"] == 1.0
    assert broken["variations"][1]["assigned_share"] == 0.55
    assert 0.53 < b["treatment_share"] < 0.57 and b["srm_p"] < 0.001, b
    assert abs(b["diff"]) < 0.5 * w["diff"], b


def test_experiment_views_follow_segments_spec_and_assignment_is_sticky(journeys):
    """`Experiment Viewed` track calls carry experiment and variation ids and names, once
    per showing; a person sees one variation on all their devices, but for the few whose
    testing-tool cookie was reset; the files agree with the manifest's counts."""
    j = journeys
    stats = {e["experiment_id"]: e for e in j.manifest["stats"]["experiments"]}
    views = [(p, a, t, pr) for p, a, t, e, pr in j.tracks if e == "Experiment Viewed"]
    assert 0.97 * j.manifest["stats"]["experiment_views"] <= len(views)
    assert len(views) <= j.manifest["stats"]["experiment_views"]
    fields = ("experiment_id", "experiment_name", "variation_id", "variation_name")
    assert all(sorted(pr) == sorted(fields) for *_, pr in views)
    by_experiment: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for person, anon, _, pr in views:
        by_experiment[str(pr["experiment_id"])][person].append((str(pr["variation_id"]), anon))
    assert set(by_experiment) == {str(x.experiment_id) for x in cat.EXPERIMENTS} == set(stats)
    # ids as the tools send them: text, or JSON numbers
    assert any(isinstance(pr["variation_id"], int) for *_, pr in views)
    names = {(str(pr["variation_id"]), pr["variation_name"]) for *_, pr in views}
    assert names == {
        (str(i), name)
        for x in cat.EXPERIMENTS
        for i, name in zip(x.variation_ids, x.variation_names, strict=True)
    }
    for experiment_id, people in by_experiment.items():
        seen = {person: {v for v, _ in shown} for person, shown in people.items()}
        single = Counter(next(iter(v)) for v in seen.values() if len(v) == 1)
        multiple = sum(len(v) > 1 for v in seen.values())
        # the warehouse's people: as the manifest counts the visitors it tells apart
        expected = stats[experiment_id]
        for variation in expected["variations"]:
            assert abs(single[variation["variation_id"]] - variation["exposed_visitors"]) <= max(
                3, 0.01 * variation["exposed_visitors"]
            ), (experiment_id, variation)
        assert 1 <= multiple <= 0.04 * len(seen), experiment_id
        assert abs(multiple - expected["multiple_exposure_visitors"]) <= 2
        # sent each time a variation is shown: most people send it more than once
        repeated = sum(len(shown) > 1 for shown in people.values())
        assert repeated >= 0.3 * len(people)
        # identified people see the same variation on each of their devices
        devices = [p for p, shown in people.items() if len({a for _, a in shown}) > 1]
        assert len(devices) >= 5
        assert sum(len(seen[p]) == 1 for p in devices) >= 0.9 * len(devices)
        assert all(not p.startswith("device:") for p in devices)


def test_the_winning_variation_converts_more_in_the_landing_files(journeys):
    """The effect is real in the files: the winner's treatment people (as the files resolve
    them) place more orders within 14 days of their first view than its control."""
    j = journeys
    placed: dict[str, list[dt.datetime]] = defaultdict(list)
    for o in j.orders:
        if o["status"] != "cancelled":
            placed[order_person(j, o)].append(utc(o["ordered_at"]))
    winner = cat.EXPERIMENTS[0]
    first: dict[str, tuple[dt.datetime, str]] = {}
    variations: dict[str, set[str]] = defaultdict(set)
    for person, _, t, event, pr in j.tracks:
        if event == "Experiment Viewed" and pr["experiment_id"] == winner.experiment_id:
            variations[person].add(pr["variation_id"])
            if person not in first or t < first[person][0]:
                first[person] = (t, pr["variation_id"])
    exposed: Counter = Counter()
    converted: Counter = Counter()
    for person, (t, variation) in first.items():
        if len(variations[person]) > 1:
            continue
        exposed[variation] += 1
        window = t + dt.timedelta(days=cat.CONVERSION_WINDOW_DAYS)
        converted[variation] += any(t <= o <= window for o in placed[person])
    control, treatment = (str(v) for v in winner.variation_ids)
    rate = {v: converted[v] / exposed[v] for v in (control, treatment)}
    assert rate[treatment] > 1.2 * rate[control], rate


# --------------------------------------------------- audiences, consent and paid campaigns
def test_the_last_week_holds_cart_and_browse_abandoners_who_may_be_mailed(journeys):
    """cart_abandoners_7d and browse_abandoners_7d have members: identified, opted-in people
    who did not unsubscribe, with a cart event (or a product view) in the last 7 days and no
    order (nor a cart event) after it. Opt-outs and (group) unsubscribes exist too."""
    j = journeys
    start = JOURNEYS["start"]
    last_week = dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC) + dt.timedelta(
        days=JOURNEYS["days"] - 7
    )
    latest = {c["contact_id"]: c for c in j.contacts}
    unsubscribed: dict[str, bool] = {}
    for e in sorted(j.email, key=lambda e: e["timestamp"]):
        if e["event"] in ("unsubscribe", "group_unsubscribe", "group_resubscribe"):
            unsubscribed[j.person(e["email"])] = e["event"] != "group_resubscribe"
    events = Counter(e["event"] for e in j.email)
    assert events["unsubscribe"] >= 5 and events["group_unsubscribe"] >= 1
    opt_in = Counter(c["marketing_opt_in"] for c in latest.values())
    assert opt_in["false"] >= 0.1 * len(latest) and opt_in["true"] >= 0.5 * len(latest)

    def may_be_mailed(person: str) -> bool:
        contact = latest.get(person)
        return (
            bool(contact)
            and contact["marketing_opt_in"] == "true"
            and not (unsubscribed.get(person))
        )

    placed: dict[str, list[dt.datetime]] = defaultdict(list)
    for o in j.orders:
        if o["status"] != "cancelled":
            placed[order_person(j, o)].append(utc(o["ordered_at"]))
    tracks: dict[str, list[tuple[dt.datetime, str]]] = defaultdict(list)
    for person, _, t, event, _ in j.tracks:
        tracks[person].append((t, event))
    cart_events = ("Product Added", "Checkout Started")
    cart, browse = set(), set()
    for person, events_ in tracks.items():
        if not may_be_mailed(person):
            continue
        for t, event in events_:
            if t < last_week or any(o >= t for o in placed[person]):
                continue
            if event in cart_events:
                cart.add(person)
            if event == "Product Viewed" and not any(
                u >= t and e in cart_events for u, e in events_
            ):
                browse.add(person)
    assert len(cart) >= 10 and len(browse) >= 10, (len(cart), len(browse))


def test_opt_outs_unsubscribes_and_resubscribes_at_the_readme_size(readme_world):
    """Consent as marketing sees it: about a third of contacts never opt in, a few percent
    unsubscribe, a few leave a group and some of those come back."""
    contacts = readme_world["contacts"]
    assert 0.2 <= 1 - contacts.opt_in.mean() <= 0.45
    events = Counter(cat.EMAIL_EVENTS[e] for e in readme_world["mail_events"].event.tolist())
    assert 0.03 * len(contacts) <= events["unsubscribe"] <= 0.2 * len(contacts)
    assert 10 <= events["group_unsubscribe"] <= 100
    assert 3 <= events["group_resubscribe"] < events["group_unsubscribe"]


def test_paid_sessions_carry_the_utm_parameters_of_their_campaigns_spend_rows(journeys):
    """kpi_campaign_daily counts a campaign's sessions by comparing the sessions' utm source,
    medium and campaign with its spend rows' (trimmed, lower-cased): every paid session
    matches a spend row, and every campaign in the spend files has sessions."""
    j = journeys

    def key(*parts: str) -> tuple[str, ...]:
        return tuple(p.strip().lower() for p in parts)

    campaigns = {
        key(s["utm_source"], s["utm_medium"], s["utm_campaign"]): (s["platform"], s["campaign_id"])
        for s in j.spend
    }
    assert len(set(campaigns.values())) == len(cat.AD_CAMPAIGNS)
    paid_media = {a.utm_medium for a in cat.AD_CAMPAIGNS}
    sessions: Counter = Counter()
    for s in j.sessions:
        if s.campaign and s.campaign[1] in paid_media:
            assert key(*s.campaign) in campaigns, s.campaign
            sessions[campaigns[key(*s.campaign)]] += 1
    assert set(sessions) == set(campaigns.values())
    assert min(sessions.values()) >= 10
