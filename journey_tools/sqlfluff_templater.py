"""SQLFluff's jinja templater, with the project's macros compiled once per process.

SQLFluff's jinja templater loads every file of `load_macros_from_path` (`macros/`) again for
each file it lints, and twice (the second pass resolves macros that call each other), and
compiling those Jinja files to Python was 44 % of `sqlfluff lint models data-tests`
(py-spy, docs/performance.md). This templater keeps each macro file's compiled code, keyed
by its text and the Jinja environment's syntax, and only binds it to the file's own context,
as the jinja templater does. So what it renders is what `jinja` renders (pinned by
tests/test_code_quality.py); it is registered as `journey_jinja` through the project's
`sqlfluff` entry point (pyproject.toml) and chosen in `.sqlfluff`, whose
`[sqlfluff:templater:journey_jinja]` section takes the jinja templater's settings.
"""

from __future__ import annotations

from types import CodeType
from typing import Any

from jinja2 import Environment
from jinja2.exceptions import UndefinedError
from jinja2.runtime import Macro
from sqlfluff.core.plugin import hookimpl
from sqlfluff.core.templaters.jinja import DbtMacroWrapper, JinjaTemplater

_COMPILED: dict[tuple[Any, ...], CodeType] = {}


def _compiled(template: str, env: Environment) -> CodeType:
    key = (
        template,
        env.block_start_string,
        env.variable_start_string,
        env.comment_start_string,
        env.line_statement_prefix,
        env.trim_blocks,
        env.lstrip_blocks,
        tuple(sorted(env.extensions)),
    )
    code = _COMPILED.get(key)
    if code is None:
        code = _COMPILED[key] = env.compile(template)
    return code


class CachedMacrosJinjaTemplater(JinjaTemplater):
    name = "journey_jinja"

    @staticmethod
    def _extract_macros_from_template(
        template: str, env: Environment, ctx: dict[str, Any]
    ) -> dict[str, DbtMacroWrapper]:
        """As `JinjaTemplater._extract_macros_from_template` (`env.from_string(template,
        globals=ctx)`, then every macro of its module), with the compiled code reused."""
        macro_template = env.template_class.from_code(
            env, _compiled(template, env), env.make_globals(ctx)
        )
        context: dict[str, DbtMacroWrapper] = {}
        try:
            for name in macro_template.module.__dict__:
                attribute = getattr(macro_template.module, name)
                if isinstance(attribute, Macro):
                    context[name] = DbtMacroWrapper(attribute)
        except UndefinedError:  # as SQLFluff: a macro file that needs an undefined name
            pass
        return context


@hookimpl
def get_templaters() -> list[type[JinjaTemplater]]:
    return [CachedMacrosJinjaTemplater]
