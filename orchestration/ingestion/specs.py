"""The source registry: one declaration per landing entity, read by everything else.

Each `EntitySpec` below says what one landing entity (`<source>/<entity>`, sources.md) is:
its file format, the fields that identify a record (`key`), its fields with their kinds
(time fields, amounts, ...) and closed value lists, and where its records hold personal
data (`personal`). Read by:

- the loader (`ingestion/loader.py`): every field rule becomes a SQL predicate that is
  true when a record breaks it, evaluated in DuckDB at once, keeping every reason a
  record fails;
- data-subject erasure (`privacy/rules.py` derives its `TableRules` from `personal`);
- the sample-data generator (`sample_data/catalogs.py` takes its closed lists and CSV
  columns from here);
- tests/test_source_registry.py, which checks the dbt source and staging YAMLs against
  it (a dbt source table per entity, `accepted_values` equal to the closed lists).

docs/adding-a-source.md is the recipe for adding an entity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

FieldKind = Literal["string", "timestamp", "epoch", "date", "amount", "count", "boolean", "score"]

# Identifier types of personal data (privacy/rules.py says what erasure does with each).
EMAIL = "email"
CONTACT_ID = "contact_id"
ANONYMOUS_ID = "anonymous_id"
ORDER_ID = "order_id"
RECORD_ID = "record_id"
IP = "ip"

# A timestamp or date more than this many hours after the start (00:00 UTC) of its file's
# `dt` day is rejected (sources.md, "Bad input"): a client clock skewed by less is kept.
HOURS_AFTER_DT_ALLOWED = 48
# The kinds of field that name a point or a day in time, and what a reason calls them.
TIME_KINDS: dict[str, str] = {
    "timestamp": "timestamp",
    "epoch": "epoch timestamp",
    "date": "date",
}


@dataclass(frozen=True)
class Field:
    """One field of a record. `path` is its JSON path (dotted for nested objects)."""

    path: str
    kind: FieldKind = "string"
    required: bool = False
    # a closed list: any other non-empty value is rejected
    allowed: tuple[str, ...] = ()
    # the column of the entity's staging model that carries this field, when renamed
    staged_as: str = ""

    @property
    def staging_column(self) -> str:
        return self.staged_as or self.path


@dataclass(frozen=True)
class PersonalData:
    """Where an entity's records hold personal data, for data-subject erasure.

    Paths are dotted JSON paths; they may name fields outside the spec's `fields` (nested
    objects such as `traits.email`). Types are the identifier types above.
    """

    # (path, identifier type): a value that is an erased identifier of that type is replaced
    identifiers: tuple[tuple[str, str], ...]
    # paths among `identifiers`: a record is the person's when one holds their identifier
    owners: tuple[str, ...]
    # ... or when this email is theirs and the record names no contact (a guest order)
    guest_email: str | None = None
    # the record's own ids: pseudonymised in the person's records
    record_ids: tuple[str, ...] = ()
    # personal-data fields: nulled in the person's records
    scrubbed: tuple[str, ...] = ()
    # objects reduced to their (pseudonymised) `email` in the person's records
    reduced: tuple[str, ...] = ()


@dataclass(frozen=True)
class EntitySpec:
    source: str
    entity: str
    format: Literal["jsonl", "csv"]
    fields: tuple[Field, ...]
    # (reason, SQL predicate over the extracted fields that is true when the record is bad)
    record_rules: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    # the fields that identify a record (staging deduplicates on them); all required
    key: tuple[str, ...] = ()
    # None: the entity holds no personal data, and erasure never scans it
    personal: PersonalData | None = None

    @property
    def table(self) -> str:
        return f"{self.source}_{self.entity}"

    @property
    def csv_columns(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.fields)

    @property
    def time_fields(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.fields if f.kind in TIME_KINDS)

    @property
    def closed_lists(self) -> dict[str, tuple[str, ...]]:
        return {f.path: f.allowed for f in self.fields if f.allowed}


# ------------------------------------------------------------- closed lists (sources.md)
WEB_TYPES = ("page", "track", "identify")
LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
EMAIL_EVENTS = (
    "processed",
    "deferred",
    "delivered",
    "open",
    "click",
    "bounce",
    "dropped",
    "spamreport",
    "unsubscribe",
    "group_unsubscribe",
    "group_resubscribe",
)
EMAIL_BOUNCE_TYPES = ("bounce", "blocked")
ORDER_STATUSES = ("completed", "refunded", "cancelled")
TICKET_STATUSES = ("open", "pending", "closed")
TICKET_CHANNELS = ("email", "chat", "phone", "web_form")
TICKET_CATEGORIES = (
    "shipping",
    "billing",
    "product_quality",
    "returns",
    "account",
    "technical",
    "other",
)
TICKET_PRIORITIES = ("low", "medium", "high", "urgent")
SURVEY_TYPES = ("nps", "csat")
SURVEY_TOUCHPOINTS = ("post_purchase", "support", "onboarding", "website")
ACTIVITY_TYPES = ("call", "meeting", "chat", "note")
AD_PLATFORMS = ("google_ads", "meta_ads", "microsoft_ads", "linkedin_ads", "tiktok_ads")


def _col(path: str) -> str:
    """The SQL name of an extracted field (`context.page.url` -> `f_context_page_url`)."""
    return "f_" + path.replace(".", "_")


WEB_EVENTS = EntitySpec(
    source="web",
    entity="events",
    format="jsonl",
    fields=(
        Field("messageId", required=True),
        Field("type", required=True, allowed=WEB_TYPES, staged_as="message_type"),
        Field("event"),
        Field("anonymousId"),
        Field("userId"),
        Field("timestamp", "timestamp", required=True),
        Field("receivedAt", "timestamp"),
    ),
    record_rules=(
        (
            "neither anonymousId nor userId",
            f"{_col('anonymousId')} is null and {_col('userId')} is null",
        ),
        ("track message without event", f"{_col('type')} = 'track' and {_col('event')} is null"),
    ),
    key=("messageId",),
    personal=PersonalData(
        identifiers=(
            ("userId", CONTACT_ID),
            ("anonymousId", ANONYMOUS_ID),
            ("traits.email", EMAIL),
            ("context.traits.email", EMAIL),
            ("properties.order_id", ORDER_ID),
            ("context.ip", IP),
        ),
        owners=("userId", "anonymousId", "traits.email", "context.traits.email"),
        record_ids=("messageId",),
        scrubbed=("context.ip",),
        reduced=("traits", "context.traits"),
    ),
)

EMAIL_EVENTS_SPEC = EntitySpec(
    source="email",
    entity="events",
    format="jsonl",
    fields=(
        Field("sg_event_id", required=True),
        Field("sg_message_id", required=True),
        Field("email", required=True),
        Field("timestamp", "epoch", required=True),
        Field("event", required=True, allowed=EMAIL_EVENTS, staged_as="event_type"),
        Field("sg_machine_open", "boolean"),
        Field("type", allowed=EMAIL_BOUNCE_TYPES, staged_as="bounce_type"),
    ),
    key=("sg_event_id",),
    personal=PersonalData(
        identifiers=(("email", EMAIL), ("ip", IP)),
        owners=("email",),
        record_ids=("sg_event_id", "sg_message_id"),
        scrubbed=("ip",),
    ),
)

CRM_CONTACTS = EntitySpec(
    source="crm",
    entity="contacts",
    format="csv",
    fields=(
        Field("contact_id", required=True),
        Field("email"),
        Field("first_name"),
        Field("last_name"),
        Field("phone"),
        Field("country"),
        Field("lifecycle_stage", allowed=LIFECYCLE_STAGES),
        Field("original_source"),
        Field("marketing_opt_in", "boolean"),
        Field("merged_into_contact_id"),
        Field("created_at", "timestamp"),
        Field("updated_at", "timestamp", required=True),
    ),
    key=("contact_id",),
    personal=PersonalData(
        identifiers=(
            ("contact_id", CONTACT_ID),
            ("merged_into_contact_id", CONTACT_ID),
            ("email", EMAIL),
        ),
        owners=("contact_id", "merged_into_contact_id"),
        scrubbed=("first_name", "last_name", "phone"),
    ),
)

CRM_ORDERS = EntitySpec(
    source="crm",
    entity="orders",
    format="csv",
    fields=(
        Field("order_id", required=True),
        Field("contact_id"),
        Field("email"),
        Field("ordered_at", "timestamp", required=True),
        Field("status", required=True, allowed=ORDER_STATUSES, staged_as="order_status"),
        Field("currency"),
        Field("subtotal", "amount"),
        Field("discount", "amount"),
        Field("shipping", "amount"),
        Field("tax", "amount"),
        Field("total", "amount", required=True),
        Field("discount_code"),
        Field("items_count", "count"),
        Field("updated_at", "timestamp", required=True),
    ),
    record_rules=(
        (
            "order with neither contact_id nor email",
            f"{_col('contact_id')} is null and {_col('email')} is null",
        ),
    ),
    key=("order_id",),
    personal=PersonalData(
        identifiers=(("order_id", ORDER_ID), ("contact_id", CONTACT_ID), ("email", EMAIL)),
        owners=("contact_id", "order_id"),
        guest_email="email",
    ),
)

CRM_TICKETS = EntitySpec(
    source="crm",
    entity="tickets",
    format="csv",
    fields=(
        Field("ticket_id", required=True),
        Field("contact_id"),
        Field("email"),
        Field("created_at", "timestamp", required=True),
        Field("closed_at", "timestamp"),
        Field("status", allowed=TICKET_STATUSES, staged_as="ticket_status"),
        Field("channel", allowed=TICKET_CHANNELS, staged_as="support_channel"),
        Field("category", allowed=TICKET_CATEGORIES),
        Field("priority", allowed=TICKET_PRIORITIES),
        Field("subject"),
        Field("updated_at", "timestamp", required=True),
    ),
    key=("ticket_id",),
    personal=PersonalData(
        identifiers=(("contact_id", CONTACT_ID), ("email", EMAIL)),
        owners=("contact_id",),
        guest_email="email",
        record_ids=("ticket_id",),
        scrubbed=("subject",),
    ),
)

CRM_SURVEYS = EntitySpec(
    source="crm",
    entity="surveys",
    format="csv",
    fields=(
        Field("response_id", required=True),
        Field("contact_id"),
        Field("email"),
        Field("submitted_at", "timestamp", required=True),
        Field("survey_type", required=True, allowed=SURVEY_TYPES),
        Field("score", "score", required=True),
        Field("touchpoint", allowed=SURVEY_TOUCHPOINTS, staged_as="survey_touchpoint"),
        Field("comment"),
        Field("updated_at", "timestamp", required=True),
    ),
    record_rules=(
        (
            "score outside its survey's scale (nps 0-10, csat 1-5)",
            f"try_cast({_col('score')} as double) is not null and ("
            f"try_cast({_col('score')} as double) <> floor(try_cast({_col('score')} as double))"
            f" or ({_col('survey_type')} = 'nps'"
            f" and try_cast({_col('score')} as double) not between 0 and 10)"
            f" or ({_col('survey_type')} = 'csat'"
            f" and try_cast({_col('score')} as double) not between 1 and 5))",
        ),
    ),
    key=("response_id",),
    personal=PersonalData(
        identifiers=(("contact_id", CONTACT_ID), ("email", EMAIL)),
        owners=("contact_id",),
        guest_email="email",
        record_ids=("response_id",),
        scrubbed=("comment",),
    ),
)

CRM_ACTIVITIES = EntitySpec(
    source="crm",
    entity="activities",
    format="csv",
    fields=(
        Field("activity_id", required=True),
        Field("contact_id"),
        Field("type", allowed=ACTIVITY_TYPES, staged_as="activity_type"),
        Field("occurred_at", "timestamp", required=True),
        Field("updated_at", "timestamp", required=True),
    ),
    key=("activity_id",),
    personal=PersonalData(
        identifiers=(("contact_id", CONTACT_ID),),
        owners=("contact_id",),
        record_ids=("activity_id",),
    ),
)

ADS_SPEND = EntitySpec(
    source="ads",
    entity="spend",
    format="csv",
    fields=(
        Field("date", "date", required=True),
        Field("platform", required=True, allowed=AD_PLATFORMS, staged_as="ad_platform"),
        Field("campaign_id", required=True),
        Field("campaign_name"),
        Field("utm_source"),
        Field("utm_medium"),
        Field("utm_campaign"),
        Field("impressions", "count"),
        Field("clicks", "count"),
        Field("spend", "amount", required=True),
        Field("currency"),
    ),
    # platforms restate recent days: the newest file's figures for a key win
    key=("date", "platform", "campaign_id"),
    # no personal data: erasure never scans ad spend
)

PRIVACY_ERASURE_REQUESTS = EntitySpec(
    source="privacy",
    entity="erasure_requests",
    format="csv",
    fields=(
        Field("request_id", required=True),
        Field("email", required=True),
        Field("requested_at", "timestamp", required=True),
    ),
    key=("request_id",),
    personal=PersonalData(identifiers=(("email", EMAIL),), owners=("email",)),
)

ENTITY_SPECS: tuple[EntitySpec, ...] = (
    WEB_EVENTS,
    EMAIL_EVENTS_SPEC,
    CRM_CONTACTS,
    CRM_ORDERS,
    CRM_TICKETS,
    CRM_SURVEYS,
    CRM_ACTIVITIES,
    ADS_SPEND,
    PRIVACY_ERASURE_REQUESTS,
)


def spec_for(source: str, entity: str) -> EntitySpec:
    for spec in ENTITY_SPECS:
        if (spec.source, spec.entity) == (source, entity):
            return spec
    raise KeyError(f"no landing entity {source}/{entity}")


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _parsed(kind: str, col: str) -> str:
    """SQL: the typed value of a time field, null when it does not parse."""
    return {
        "timestamp": f"try_cast({col} as timestamptz)",
        "epoch": f"try_cast({col} as bigint)",
        "date": f"try_cast({col} as date)",
    }[kind]


def _unparseable(kind: str, col: str) -> str:
    """SQL: true when a time field's text is no point in time. DuckDB reads `infinity` and
    `-infinity` as timestamps and dates, which no export means: they are rejected too."""
    if kind == "epoch":
        return f"{_parsed(kind, col)} is null"
    return f"not coalesce(isfinite({_parsed(kind, col)}), false)"


def _utc_seconds(kind: str, col: str) -> str:
    """SQL: a time field as seconds since 1970-01-01 00:00 UTC (a date at its 00:00 UTC).

    Whole numbers of seconds for dates and epochs, so no value, however far off, overflows
    a timestamp; and no dependence on the session's time zone."""
    parsed = _parsed(kind, col)
    return {
        "timestamp": f"epoch({parsed})",
        "epoch": parsed,
        "date": f"({parsed} - date '1970-01-01') * 86400",
    }[kind]


# The start (00:00 UTC) of the file's `dt` day, in seconds since 1970-01-01 00:00 UTC.
DT_START_SECONDS = "(dt - date '1970-01-01') * 86400"


def too_far_ahead_rule(fld: Field) -> tuple[str, str]:
    """(reason SQL expression, predicate): the one future rule of every time field.

    True when the field's value (a date counts from its 00:00 UTC) is more than
    HOURS_AFTER_DT_ALLOWED hours after 00:00 UTC of the file's `dt` day: with 48 hours a
    date of dt + 2 days is kept and dt + 3 rejected. The reason reads e.g. `date
    2099-01-01 is more than 48 hours after its file's day 2026-01-10`.
    """
    col = _col(fld.path)
    value = f"left({col}, 60)"
    if fld.kind == "epoch":
        # Show what the seconds mean; `try` because the value may be beyond any timestamp.
        utc = f"try(timezone('UTC', to_timestamp({_parsed(fld.kind, col)})))"
        value += f" || coalesce(' (' || strftime({utc}, '%Y-%m-%d %H:%M:%S') || ' UTC)', '')"
    after = f" is more than {HOURS_AFTER_DT_ALLOWED} hours after its file's day "
    reason = f"{_quote(fld.path + ' ')} || {value} || {_quote(after)} || cast(dt as varchar)"
    # Only values that parse: an unparseable one has its own reason.
    predicate = (
        f"not ({_unparseable(fld.kind, col)}) and "
        f"{_utc_seconds(fld.kind, col)} > {DT_START_SECONDS} + {HOURS_AFTER_DT_ALLOWED * 3600}"
    )
    return reason, predicate


def field_rules(spec: EntitySpec) -> list[tuple[str, str]]:
    """(reason SQL expression, predicate) pairs for every field rule of `spec`.

    The reason is a SQL expression so that it can quote the offending value.
    """
    rules: list[tuple[str, str]] = []
    for fld in spec.fields:
        col = _col(fld.path)
        shown = f"'''' || left({col}, 60) || ''''"
        if fld.required:
            rules.append((_quote(f"missing {fld.path}"), f"{col} is null"))
        if fld.allowed:
            allowed = ", ".join(_quote(v) for v in fld.allowed)
            rules.append(
                (
                    f"{_quote(f'{fld.path} ')} || {shown} || {_quote(' is not one of: ')}"
                    f" || {_quote(', '.join(fld.allowed))}",
                    f"{col} is not null and {col} not in ({allowed})",
                )
            )
        if fld.kind in TIME_KINDS:
            rules.append(
                (
                    f"{_quote(f'unparseable {TIME_KINDS[fld.kind]} in {fld.path}: ')} || {shown}",
                    f"{col} is not null and {_unparseable(fld.kind, col)}",
                )
            )
            rules.append(too_far_ahead_rule(fld))
        elif fld.kind in ("amount", "count", "score"):
            number_type = "bigint" if fld.kind == "count" else "double"
            parsed = f"try_cast({col} as {number_type})"
            rules.append(
                (
                    f"{_quote(f'unparseable number in {fld.path}: ')} || {shown}",
                    f"{col} is not null and {parsed} is null",
                )
            )
            rules.append(
                (
                    f"{_quote(f'negative {fld.path}: ')} || {shown}",
                    f"{parsed} < 0",
                )
            )
        elif fld.kind == "boolean":
            rules.append(
                (
                    f"{_quote(f'{fld.path} must be true or false, got ')} || {shown}",
                    f"{col} is not null and lower({col}) not in ('true', 'false')",
                )
            )
    rules.extend((_quote(reason), predicate) for reason, predicate in spec.record_rules)
    return rules


def extracted_columns(spec: EntitySpec, record: str = "record") -> list[str]:
    """SQL select-list items extracting every spec field from `record` as trimmed text.

    All paths are extracted by one call, so each record's JSON is parsed once rather
    than once per field (DuckDB evaluates the repeated call once per row).
    """
    paths = ", ".join(
        _quote("$." + ".".join(f'"{part}"' for part in fld.path.split("."))) for fld in spec.fields
    )
    extracted = f"json_extract_string({record}, [{paths}])"
    return [
        f"nullif(trim({extracted}[{position}]), '') as {_col(fld.path)}"
        for position, fld in enumerate(spec.fields, start=1)
    ]
