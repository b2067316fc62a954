"""The sample-data generator writes landing files that follow sources.md, with planted bad
records exactly where its manifest says, and the same bytes for the same arguments."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
from pathlib import Path

import pytest

from orchestration.sample_data import catalogs as cat
from orchestration.sample_data import generate_landing

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
            dt.date.fromisoformat(rec["date"])
        except ValueError:
            raise Bad("bad_date") from None
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
