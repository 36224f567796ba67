"""Commands that write HTML reports: `report user USER_ID --out F.html`, `report brand BRAND --out F.html`."""

from typing import Annotated

import typer

from matcher.cli import common
from matcher.cli.common import DbOpt, ModelOpt, engine, err, handled

report_app = typer.Typer(help="Self-contained HTML reports a person can read and print.", no_args_is_help=True)

OutOpt = Annotated[str, typer.Option("--out", help="The HTML file to write (replaced atomically).")]


def user(user_id: Annotated[str, typer.Argument(help="The user's id", callback=common.user_id_arg)], out_file: OutOpt,
         db: DbOpt = None) -> None:
    """A user's topics with evidence, a chart over time, topics that fell short, perks and changes."""
    from matcher.outfiles import check_out
    from matcher.report import render_user_report, write_report

    check_out(out_file, "HTML file")  # before the work, not after it
    common.refuse_overwrite(out_file, "--out", db)
    write_report(out_file, render_user_report(engine(db, existing=True), user_id))
    err.print(f"wrote {out_file}")


def brand(brand_name: Annotated[str, typer.Argument(metavar="BRAND", help="The brand's name, as in the catalog")],
          out_file: OutOpt, db: DbOpt = None, model: ModelOpt = None) -> None:
    """Every live perk of a brand: its users with evidence, quantity used and left, who was left out, regions; for a
    perk that went to nobody, why."""
    import functools

    from matcher.outfiles import check_out
    from matcher.report import render_brand_report, write_report

    check_out(out_file, "HTML file")
    common.refuse_overwrite(out_file, "--out", db)
    eng = engine(db, existing=True)
    shown = functools.cache(lambda: common.shown_cache(eng, model))  # loaded once, if a reason needs the model
    write_report(out_file, render_brand_report(eng, brand_name, shown))
    err.print(f"wrote {out_file}")


def register(app: typer.Typer) -> None:
    report_app.command("user")(handled(user))
    report_app.command("brand")(handled(brand))
    app.add_typer(report_app, name="report")
