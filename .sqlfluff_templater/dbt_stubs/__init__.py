"""Stand-ins for dbt's Jinja context, for SQLFluff's jinja templater.

SQLFluff lints the models with its plain jinja templater (it never opens the
warehouse) instead of the dbt templater. SQLFluff already provides `ref`, `source`, `var`,
`config`, `is_incremental`, `this` and `return`. This package adds the rest the project
uses, and every name defined here becomes a global of the template context:

- `dbt.<macro>`: dbt-core's cross-database macros, rendered as dbt-duckdb renders them
  in this project (`safe_cast` as `try_cast`, as our `duckdb__safe_cast` does);
- `adapter.dispatch(name, namespace)`: resolves to the project's own `duckdb__<name>` or
  `default__<name>` macro, so the real macros in `macros/` render, not copies of them;
- `config` (callable, and `config.get(key, default)`), `env_var`, `target`, `execute`
  (false, so `run_query` blocks are skipped), `run_started_at`, `invocation_id`,
  `exceptions`, `modules`.

Add a stub here when a model calls another dbt builtin.
"""

import datetime as _datetime
import os as _os
from types import SimpleNamespace as _Namespace

from jinja2 import pass_context as _pass_context

_TYPES = {
    "string": "varchar",
    "timestamp": "timestamp",
    "float": "float",
    "numeric": "numeric(28, 6)",
    "bigint": "bigint",
    "int": "integer",
    "boolean": "boolean",
}


def _type(name):
    return lambda: _TYPES[name]


def _safe_cast(field, type):
    return f"try_cast({field} as {type})"


def _cast(field, type):
    return f"cast({field} as {type})"


def _date_trunc(datepart, date):
    return f"date_trunc('{datepart}', {date})"


def _dateadd(datepart, interval, from_date_or_timestamp):
    return f"date_add({from_date_or_timestamp}, interval ({interval}) {datepart})"


def _datediff(first_date, second_date, datepart):
    return f"date_diff('{datepart}', {first_date}, {second_date})"


def _last_day(date, datepart):
    return f"last_day({date})"


def _concat(fields):
    return f"concat({', '.join(fields)})"


def _hash(field):
    return f"md5(cast({field} as varchar))"


def _split_part(string_text, delimiter_text, part_number):
    return f"split_part({string_text}, {delimiter_text}, {part_number})"


def _string_literal(value):
    return f"'{value}'"


def _any_value(expression):
    return f"any_value({expression})"


def _bool_or(expression):
    return f"bool_or({expression})"


def _listagg(measure, delimiter_text="','", order_by_clause=None, limit_num=None):
    order_by = f" {order_by_clause}" if order_by_clause else ""
    return f"string_agg({measure}, {delimiter_text}{order_by})"


def _length(expression):
    return f"length({expression})"


def _replace(field, old_chars, new_chars):
    return f"replace({field}, {old_chars}, {new_chars})"


def _right(string_text, length_expression):
    return f"right({string_text}, {length_expression})"


def _position(substring_text, string_text):
    return f"position({substring_text} in {string_text})"


def _array_construct(inputs=(), data_type="integer"):
    return f"array[{', '.join(inputs)}]"


def _date(year, month, day):
    return f"make_date({year}, {month}, {day})"


def _current_timestamp():
    return "now()"


def _date_spine(datepart, start_date, end_date):
    return (
        f"select range as date_{datepart}"
        f" from range({start_date}, {end_date}, interval 1 {datepart})"
    )


dbt = _Namespace(
    safe_cast=_safe_cast,
    cast=_cast,
    date_trunc=_date_trunc,
    dateadd=_dateadd,
    datediff=_datediff,
    last_day=_last_day,
    concat=_concat,
    hash=_hash,
    split_part=_split_part,
    string_literal=_string_literal,
    any_value=_any_value,
    bool_or=_bool_or,
    listagg=_listagg,
    length=_length,
    replace=_replace,
    right=_right,
    position=_position,
    date=_date,
    array_construct=_array_construct,
    current_timestamp=_current_timestamp,
    date_spine=_date_spine,
    **{f"type_{name}": _type(name) for name in _TYPES},
)


@_pass_context
def _dispatch(context, macro_name, macro_namespace=None):
    for prefix in ("duckdb__", "default__"):
        macro = context.get(prefix + macro_name)
        if macro is not None:
            return macro
    raise NameError(f"no duckdb__ or default__ implementation of {macro_name!r}")


adapter = _Namespace(dispatch=_dispatch)


class _Config:
    """`{{ config(...) }}` renders nothing; `config.get(key, default)` gives the default."""

    def __call__(self, *args, **kwargs):
        return ""

    def get(self, key, default=None):
        return default


config = _Config()
execute = False


def run_query(sql):
    return None


def env_var(name, default=None):
    return _os.environ.get(name, default if default is not None else name)


target = _Namespace(name="local", type="duckdb", schema="main", database="journey", threads=1)
run_started_at = _datetime.datetime(2024, 1, 1, tzinfo=_datetime.UTC)
invocation_id = "00000000-0000-0000-0000-000000000000"


def _raise_compiler_error(message):
    raise RuntimeError(message)


exceptions = _Namespace(raise_compiler_error=_raise_compiler_error, warn=lambda message: "")
modules = _Namespace(datetime=_datetime)
