"""Stack Exchange data dump of one site: `Posts.xml` and `Users.xml`, in a folder (or a .zip of it); every user.

Both files are streamed with defusedxml's iterparse (the dumps are large and must not expand entities). Mapping:

- `user_id` = `se-<site>-<OwnerUserId>`, `post_id` = `se-<site>-<Id>`; the site is the dump folder's name
  (`beer.stackexchange.com` or `se-beer` -> `beer`, `beer.meta.stackexchange.com` -> `beer-meta`) unless given; a
  folder name that is not a plain site name (`beer (1)`) is refused, since every id depends on it: the site must
  then be given;
- questions (`PostTypeId` 1): `text` = `Title` and `Body` as plain text; answers (2): `text` = `Body`, `context` =
  their question's title (Posts.xml is read twice, first for the titles, so answers before questions are fine);
- `likes` = `Score` (net votes, may be negative), `replies` = `CommentCount`, and for a question its
  `AnswerCount` too (an answer is a reply to it);
- other post types (tag wikis, ...) are skipped, and so are posts of deleted accounts (no `OwnerUserId`):
  no one could give consent for them;
- users: `user_id` and `handle` = `DisplayName`, no consent: import never grants it.
"""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from defusedxml.common import DefusedXmlException, EntitiesForbidden
from defusedxml.ElementTree import ParseError, iterparse

from matcher.importers.common import (
    LeftOut,
    Member,
    basename,
    find_members,
    format_error,
    html_to_text,
    in_range,
    is_archive,
    make_post,
    parse_iso,
)

SOURCE = "stackexchange"
_FIX = "give the site's folder from the Stack Exchange data dump with Posts.xml and Users.xml unpacked whole"

Attrs = dict[str, str]
_ID = re.compile(r"-?[0-9]+")
_SITE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")  # a plain site name: lowercase letters, digits, hyphens
_SAME_SITE = (", the same every time this site is imported: user and post ids are se-<site>-<Id>, so another name "
              "stores everyone again under new ids")


def site_name(path: str) -> str:
    """The site's short name from the dump's folder or archive name, the path resolved first (`.` inside the folder
    is that folder): `beer.stackexchange.com`, `se-beer` -> `beer`. A name that is not a plain site name (`beer (1)`,
    a copy) is refused: every id holds it, so it must then be given (``check_site``)."""
    p = Path(path).resolve()
    if p.is_file() and not is_archive(p):
        p = p.parent
    name = p.name.lower()
    for suffix in (".7z", ".zip", ".tar.gz", ".tgz", ".tar"):
        name = name.removesuffix(suffix)
    name = _short_name(name.removeprefix("se-").split("."))
    if not _SITE.fullmatch(name):
        raise format_error(path, "", f"cannot tell the site from the name {p.name or str(p)!r} (a site's name is "
                           "lowercase letters, digits and hyphens)",
                           "give it with --site NAME (such as --site beer for beer.stackexchange.com)" + _SAME_SITE)
    return name


def _short_name(labels: list[str]) -> str:
    """A site's host name's labels -> its short name: the first label (`beer.stackexchange.com` -> `beer`), but a
    meta site's is `<site>-meta` (`beer.meta.stackexchange.com`, `meta.askubuntu.com`), not that of its main site
    or of every other meta site; `meta.stackexchange.com` (Meta Stack Exchange) is `meta`."""
    if len(labels) > 2 and labels[1] == "meta":
        return f"{labels[0]}-meta"
    if len(labels) > 2 and labels[0] == "meta" and labels[1] != "stackexchange":
        return f"{labels[1]}-meta"
    return labels[0]


def check_site(site: str) -> str:
    """A site name given by the caller (--site), which must be plain: it is part of every id."""
    if not _SITE.fullmatch(site):
        raise format_error(f"--site {site!r}", "", "not a site name (lowercase letters, digits and hyphens)",
                           "give the site's short name (such as --site beer for beer.stackexchange.com)" + _SAME_SITE)
    return site


def _site(path: str, site: str | None) -> str:
    """The site in the ids: the one given (``check_site``), else the dump's name (``site_name``)."""
    return check_site(site) if site is not None else site_name(path)


OTHER_TYPE = LeftOut("not a question or an answer (a tag wiki, ...)")
NO_OWNER = LeftOut("of a deleted account (no owner: no one can consent for it)")


def read_stackexchange(path: str, site: str | None = None) -> Iterator[dict[str, Any] | LeftOut]:
    """Questions and answers of every user of a Stack Exchange site dump (its folder, zip, or Posts.xml)."""
    posts = _member(path, "Posts.xml")
    if posts is None:
        raise format_error(path, "", "no Posts.xml found", _FIX)
    site = _site(path, site)
    titles = {a["Id"]: a.get("Title", "") for _, a in _rows(posts) if a.get("PostTypeId") == "1"}
    for index, attrs in _rows(posts):
        if attrs.get("PostTypeId") not in ("1", "2"):
            yield OTHER_TYPE
        elif not attrs.get("OwnerUserId"):
            yield NO_OWNER
        else:
            yield _post(posts, site, index, attrs, titles)


def _post(posts: Member, site: str, index: int, attrs: Attrs, titles: dict[str, str]) -> dict[str, Any]:
    place = f"<row> #{index} (Id={attrs['Id']})"
    for key in ("Id", "OwnerUserId"):
        _check_id(posts, place, attrs, key)
    question = attrs["PostTypeId"] == "1"
    body = html_to_text(attrs.get("Body"))
    text = "\n\n".join(p for p in (attrs.get("Title", ""), body) if p) if question else body
    created = parse_iso(attrs.get("CreationDate"), posts.label, f"{place}, attribute CreationDate", _FIX)
    return make_post(SOURCE, "stackexchange", f"se-{site}-{attrs['Id']}", f"se-{site}-{attrs['OwnerUserId']}", text,
                     created, likes=_int(posts, place, attrs, "Score"),
                     replies=max(_int(posts, place, attrs, "CommentCount"), 0)
                     + (max(_int(posts, place, attrs, "AnswerCount"), 0) if question else 0),
                     context=None if question else titles.get(attrs.get("ParentId", "")))


def read_stackexchange_users(path: str, site: str | None = None) -> Iterator[dict[str, Any]]:
    """Users of the dump (`Users.xml`; none if the dump has no Users.xml): user_id and handle, no consent."""
    users = _member(path, "Users.xml")
    if users is None:
        return
    site = _site(path, site)
    for index, attrs in _rows(users):
        _check_id(users, f"<row> #{index}", attrs, "Id")
        yield {"user_id": f"se-{site}-{attrs['Id']}", "handle": attrs.get("DisplayName"), "source": SOURCE}


def _member(path: str, name: str) -> Member | None:
    """The dump's file `name`: in the folder or archive, or beside the XML file given; None if absent."""
    p = Path(path)
    if not p.exists():
        raise format_error(path, "", "no such file or folder", "check the path")
    if p.is_file() and not is_archive(p):
        candidate = p if p.name == name else p.parent / name
        return Member(str(candidate), str(candidate)) if candidate.is_file() else None
    found = find_members(path, lambda n: basename(n) == name, name, _FIX, required=False)
    return found[0] if found else None


def _rows(member: Member) -> Iterator[tuple[int, Attrs]]:
    """(index, attributes) of every <row> element, streamed; broken XML or a row without Id is a format error."""
    index = 0
    with member.open() as handle:
        try:
            events = iterparse(handle, events=("start", "end"))
            _, root = next(events)
            for event, element in events:
                if event != "end" or element.tag != "row":
                    continue
                index += 1
                attrs = dict(element.attrib)
                root.clear()
                if not attrs.get("Id"):
                    raise format_error(member.label, f"<row> #{index}", "no Id attribute", _FIX)
                yield index, attrs
        except ParseError as exc:
            line, column = exc.position
            reason = str(exc).split(": line ")[0]
            raise format_error(member.label, f"line {line}, column {column}", _not_well_formed(member, reason, line),
                               _FIX) from None
        except StopIteration:
            raise format_error(member.label, "line 1", "empty file", _FIX) from None
        except DefusedXmlException as exc:
            what = f"the entity {exc.name!r}" if isinstance(exc, EntitiesForbidden) else "an external reference"
            raise format_error(member.label, "DOCTYPE", f"declares {what}, and entities are not allowed (a data dump "
                               "has none: the file looks edited)", _FIX) from None


def _not_well_formed(member: Member, reason: str, line: int) -> str:
    """Why the XML broke off, in words. Expat calls a byte that is not UTF-8 an "invalid token", as it does a
    character XML does not allow: the line is read again to tell which (an error path only)."""
    if "invalid token" not in reason:
        return f"not well-formed XML ({reason}); the file looks truncated or edited"
    with member.open() as handle:
        text = next((raw for number, raw in enumerate(handle, start=1) if number == line), b"")
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (f"not UTF-8 (byte 0x{text[exc.start]:02x}), and a dump's XML is UTF-8 throughout: the file looks saved "
                "again in another encoding, or damaged")
    return "not well-formed XML (invalid token: a character XML does not allow here); the file looks edited or damaged"


def _check_id(member: Member, place: str, attrs: Attrs, key: str) -> None:
    """Ids in a dump are whole numbers; every id stored holds them, so "7 8" or "x" must not become one."""
    if not _ID.fullmatch(attrs[key]):
        raise format_error(member.label, f"{place}, attribute {key}", f"{attrs[key]!r} is not a whole number", _FIX)


def _int(member: Member, place: str, attrs: Attrs, key: str) -> int:
    value = attrs.get(key) or "0"
    try:
        number = int(value)
    except ValueError:
        raise format_error(member.label, f"{place}, attribute {key}", f"{value!r} is not a whole number",
                           _FIX) from None
    return in_range(number, value, member.label, f"{place}, attribute {key}", _FIX)
