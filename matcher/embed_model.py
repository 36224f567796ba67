"""The model a database's vectors were made with, named under the encoder's name (``matcher.embed`` checks it when
a cache opens, claims it with the first vectors it stores): two models of one folder name must not mix vectors."""

import json
import os

from sqlalchemy import Connection, Engine, func
from sqlmodel import select

from matcher.encoder import Encoder
from matcher.errors import ModelError
from matcher.store import Embedding, Setting, bulk_insert

MODEL_SETTING = "encoder:"  # + an encoder's name: the model its vectors were made with (``check_model``)


def check_model(engine: Engine, encoder: Encoder) -> bool:
    """Refuse an encoder whose name the database's vectors were made under by another model, and return whether the
    database names this one for it. The name is the model folder's (``encoder.base_name``): two models kept in folders
    of one name shared their vectors, mixed without a word (or, of another size, a traceback). A database from before
    names none: a stored vector of another size is then refused. Encoders not loaded from a folder are not checked."""
    digest = getattr(encoder, "model_digest", None)
    if digest is None:
        return True
    with engine.connect() as conn:
        made = _named(conn, encoder.name)
        if made is None:
            size = conn.execute(select(func.length(Embedding.vector)).where(Embedding.model == encoder.name)
                                .limit(1)).scalar()
            made = None if size in (None, 4 * encoder.dim) else {"dim": size // 4}
    if made is not None and made.get("digest") != digest:
        raise ModelError(_another_model(encoder, made))
    return made is not None


def claim_model(conn: Connection, encoder: Encoder) -> bool:
    """Name the encoder's model for its name in the database (in the transaction storing its first vectors), unless
    another run named another model first: that is refused, as ``check_model`` refuses it."""
    digest = getattr(encoder, "model_digest", None)
    if digest is None:
        return True
    folder = getattr(encoder, "folder", None)  # as given: the whole path, for a command run elsewhere to name it
    row = json.dumps({"digest": digest, "dim": encoder.dim, "folder": os.path.abspath(folder) if folder else ""})
    bulk_insert(conn, Setting.__table__, ("key", "value"), [(MODEL_SETTING + encoder.name, row)], keep_existing=True)  # type: ignore[attr-defined]
    made = _named(conn, encoder.name) or {}
    if made.get("digest") != digest:
        raise ModelError(_another_model(encoder, made))
    return True


def _named(conn: Connection, name: str) -> dict[str, object] | None:
    value = conn.execute(select(Setting.value).where(Setting.key == MODEL_SETTING + name)).scalar()
    return None if value is None else dict(json.loads(value))


def _another_model(encoder: Encoder, made: dict[str, object]) -> str:
    other = f"the model in {made['folder']}" if made.get("folder") else "another model"
    return (f"--model {getattr(encoder, 'folder', '')}: the vectors this database holds under the encoder name "
            f"{encoder.name} were made by {other} ({made.get('dim')} dimensions), not by this one ({encoder.dim}): "
            "the name is the model folder's, so keep this model in a folder of a name of its own (copy or rename it), "
            "or give the model they were made with")
