"""The `perkmatch` command line. Thin: every command is a few calls into the library.

Heavy libraries (torch, sentence-transformers, faiss) are imported inside commands, never at start-up.
"""

import logging
import sys
from typing import Annotated

import typer

from matcher.cli import common

app = typer.Typer(name="perkmatch", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Match perks to people who really care: topics inferred from their own posts, with evidence.")


@app.callback()
def _main(
    db: common.DbOpt = None,
    model: common.ModelOpt = None,
    precision: Annotated[str, typer.Option("--precision", help="Older form of --encoder: bfloat16 is --encoder "
                                           "torch-bf16, auto is torch in bfloat16 where supported; float32 "
                                           "leaves the choice to --encoder.")] = "float32",
    encoder: Annotated[str | None, typer.Option("--encoder", help="Encoder backend: auto (the default: openvino, "
                                                "else torch float32), torch (float32), torch-bf16, onnx, onnx-int8, "
                                                "openvino, openvino-int8, fast (int8, 48 tokens a text: about 3x "
                                                "on long posts) or model2vec. Each keeps its own embedding cache; "
                                                "see README 'Encoders'.", show_default=False)] = None,
) -> None:
    """Match perks to people who really care: topics inferred from their own posts, with evidence."""
    from matcher.encoder import BACKENDS, PRECISIONS

    if precision not in PRECISIONS:
        raise typer.BadParameter(f"{precision!r}: use one of {', '.join(PRECISIONS)}", param_hint="'--precision'")
    if encoder is not None and encoder not in BACKENDS:
        raise typer.BadParameter(f"{encoder!r}: unknown encoder; use one of {', '.join(BACKENDS)}",
                                 param_hint="'--encoder'")
    common.State.db = db
    common.State.model = model
    common.State.precision = precision
    common.State.encoder = encoder
    show_notices()


def _register() -> None:
    from matcher.cli import data, imports, matching, people, report, results, status

    data.register(app)
    results.register(app)
    matching.register(app)
    people.register(app)
    imports.register(app)
    report.register(app)
    status.register(app)


_register()


def main() -> None:
    """Run the command line (``matcher.entry.main`` first sets how Ctrl-C and SIGTERM end a process still starting).
    Every command is wrapped by ``common.handled``, which turns the library's errors into 'Error: <message>' on
    stderr and exit code 1, and Ctrl-C and SIGTERM into one line and status 130 or 143.

    The database driver's own log is not printed: with no handler, Python wrote its warnings to stderr, so a
    PostgreSQL server going away mid-write gave up to four lines ("error ignored terminating <psycopg.Pipeline [BAD]
    at 0x7f...>: ...") before the command's one "Error: the database failed: ..." line."""
    logging.getLogger("psycopg").addHandler(logging.NullHandler())
    app()


class _ToStderr(logging.Handler):
    """The message alone, to the ``sys.stderr`` of the moment (a progress bar's, while one is drawn)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


def show_notices() -> None:
    """Show what the library logs (``matcher.*``, INFO and up: a model artefact built once, an encoder's fallback)
    on stderr as the CLI's own notes are; the library itself prints nothing. Set by every command (the app's
    callback), once."""
    library = logging.getLogger("matcher")
    if not any(isinstance(h, _ToStderr) for h in library.handlers):
        library.addHandler(_ToStderr())
    library.setLevel(logging.INFO)
