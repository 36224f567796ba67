"""The options and arguments commands share (``matcher.cli.common`` re-exports them): --db, --json, --model,
--consent-policy, their callbacks (an empty value refused, ids read as ingest reads them), and --as-of parsed."""

from typing import Annotated, Any

import typer


def not_blank(param: typer.CallbackParam, value: Any) -> Any:
    """An option's callback: an empty value (an unset shell variable, `--db "$DB"`) is a usage error, not the option
    left out. Before, `--db ""` used ./perkmatch.db, `ingest ""` stored nothing and said nothing, `match --dry-run
    --catalog ""` previewed the live catalog as if it were the file, and `--model ""` named every vector's encoder
    "+openvino"."""
    if isinstance(value, str) and not value.strip():
        name = (param.opts or [param.name or "value"])[0]
        raise typer.BadParameter("is empty; give a value, or leave it out", param_hint=f"'{name}'")
    return value


def composed(param: typer.CallbackParam, value: Any) -> Any:
    """A post id option's callback (`forget --post`): in Unicode's composed form, as ingest stores post ids
    (``records.one_form``), so "café" typed either way finds the post. A list (a repeated option) each; an empty one
    is refused as ``not_blank`` refuses it (before, `forget ann --post ""` said "ann has no stored post ;"). (Perk and
    topic ids are kept as written: databases hold them so.)"""
    from matcher.records import one_form

    if isinstance(value, list):
        return [one_form(not_blank(param, v)) for v in value]
    return one_form(not_blank(param, value))


def user_id_arg(value: str | None) -> str | None:
    """A USER_ID argument's callback: read as ingest reads ids (``records.PostIn``): stripped, in Unicode's composed
    form (``records.one_form``), and refused when empty or holding an invisible character. Before, `consent " ann"
    opted_out` (a pasted cell) recorded an opt-out for " ann", said "nothing was stored about them", and left all of
    ann's data; `consent "" opted_in` recorded a user with an empty id."""
    from catalog.schema import refuse_invisible
    from matcher.records import one_form

    if value is None:
        return None
    value = one_form(value.strip())
    if not value:
        raise typer.BadParameter("is empty; give the user's id", param_hint="'USER_ID'")
    try:
        return refuse_invisible(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} {exc}", param_hint="'USER_ID'") from None


DbOpt = Annotated[str | None, typer.Option("--db", help="SQLite path (or sqlite:///PATH), or postgresql:// "
                                           "(postgres://) URL \\[default: perkmatch.db]", show_default=False,
                                           callback=not_blank)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON Lines instead of a table.")]
ModelOpt = Annotated[str | None, typer.Option("--model", help="A local sentence-transformers model folder "
                                              "\\[default: the packaged all-MiniLM-L6-v2]", show_default=False,
                                              callback=not_blank)]
PolicyOpt = Annotated[str, typer.Option("--consent-policy", help="opt-in: only users with consent opted_in; "
                                        "opt-out: everyone except opted_out.")]


def parse_as_of(as_of: str | None) -> int | None:
    """``--as-of``: an ISO date/time as Unix seconds; a date alone is the end of that day (UTC), as the default
    today is; None when not given."""
    import datetime as dt

    from matcher.records import LATEST, end_of_day, to_epoch

    if as_of is None:  # ("": refused below, not today)
        return None
    try:
        try:  # a date alone in any ISO form (2026-01-31, 20260131, 2026-W05-6) counts whole: before, 20260131 was
            when = end_of_day(dt.date.fromisoformat(as_of.strip()))  # read as Unix seconds (1970-08-23)
        except ValueError:
            when = to_epoch(as_of)
        if not 0 <= when <= LATEST:
            raise ValueError("out of range")
    except (ValueError, OverflowError):
        raise typer.BadParameter(f"--as-of {as_of}: give an ISO date such as 2026-01-31 (1970 to 9999)") from None
    return when
