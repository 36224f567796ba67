"""Reading input files (catalog/rows.py) on bad input: every problem is a CatalogError naming the file, the line
and the field, with the fix; never a traceback, never rows silently merged or lost. Found by the input-file audit."""

import io
import json
import socket
import sys
import tempfile
import time
from pathlib import Path

import pytest

from catalog.errors import CatalogError, InputFileError
from catalog.refresh import read_catalog
from catalog.rows import CSV_CELL_LIMIT, iter_rows

HEADER = "perk_id,brand,title,description,quantity\n"


def _rows(path: str | Path, formats: tuple[str, ...] = ("jsonl", "csv", "yaml", "json")) -> list[tuple[int, object]]:
    return list(iter_rows(str(path), formats))


def test_a_csv_record_over_several_lines_is_named_at_the_line_it_starts(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(HEADER + 'a,B,T,D,1\nb,B,T,"three\nline\ncell",many\nc,B,T,D,2\n', encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        read_catalog(str(path))
    assert f"{path}, line 3, field 'quantity': Input should be a valid integer" in str(info.value)  # before: line 5
    assert [line for line, _ in _rows(path)] == [2, 3, 6]


def test_blank_lines_before_the_header_and_between_rows_keep_the_lines_right(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("\n\n" + HEADER + "a,B,T,D,1\n\nb,B,T,D,2\n", encoding="utf-8")
    rows = _rows(path)  # before: the blank first line was the header, and every row had "more cells" than it
    assert [(line, row["perk_id"]) for line, row in rows] == [(4, "a"), (6, "b")]  # type: ignore[index]


@pytest.mark.parametrize("name", ["folder", "folder.csv"])
def test_a_folder_names_the_path_and_the_files_to_give(tmp_path: Path, name: str) -> None:
    folder = tmp_path / name
    folder.mkdir()
    with pytest.raises(CatalogError) as info:  # before, "folder": "cannot tell the format from the extension"
        _rows(folder, ("jsonl", "csv", "json"))
    assert str(info.value) == f"{folder}: is a folder, not a file; give the path of one .jsonl, .ndjson, .csv or " \
        ".json file in it"


def test_an_unknown_extension_names_it_and_the_accepted_ones(tmp_path: Path) -> None:
    for name, seen in (("posts.txt", "(.txt)"), ("posts", "(it has none)")):
        (tmp_path / name).write_text("{}\n", encoding="utf-8")
        with pytest.raises(CatalogError) as info:
            _rows(tmp_path / name, ("jsonl", "csv", "json"))
        assert str(info.value) == f"{tmp_path / name}: cannot tell the format from the extension {seen}; name the " \
            "file for what it holds: .jsonl, .ndjson, .csv or .json (optionally with .gz)"
    (tmp_path / "p.yaml").write_text("[]\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"p.yaml: a YAML file is not accepted here; give a .jsonl, .ndjson, .csv "
                       r"or .json file \(optionally with .gz\)"):
        _rows(tmp_path / "p.yaml", ("jsonl", "csv", "json"))


def test_a_path_that_cannot_be_opened_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    long_name = tmp_path / ("a" * 300 + ".csv")
    with pytest.raises(CatalogError, match=r"a\.csv: cannot be opened \(File name too long\); check the path"):
        _rows(long_name)  # before: OSError from Path.exists
    with tempfile.TemporaryDirectory(dir="/tmp") as short, socket.socket(socket.AF_UNIX) as sock:
        path = Path(short) / "s.csv"  # exists, not a folder, and open() fails (ENXIO)
        sock.bind(str(path))
        with pytest.raises(CatalogError, match=r"s\.csv: cannot be opened \(.+\); check the file's permissions"):
            _rows(path)
    with pytest.raises(CatalogError, match=r"^no file given \(an empty path\)"):
        _rows("")  # before: "cannot tell the format", with an empty name


def test_a_csv_cell_over_the_limit_names_the_file_the_line_and_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text(HEADER + "a,B,T,D,1\n" + 'b,B,T,"' + "x" * (CSV_CELL_LIMIT + 1) + '",2\n', encoding="utf-8")
    with pytest.raises(CatalogError) as info:  # before: "not valid CSV (field larger than field limit (16777216))"
        _rows(path)
    assert str(info.value) == f"{path}, line 3: a cell is longer than 16,777,216 characters, the most one cell may " \
        "hold; shorten it (or, if it should not be that long, close the quote that opens it)"


def test_a_quote_never_closed_is_an_error_not_rows_swallowed(tmp_path: Path) -> None:
    at_end = tmp_path / "end.csv"  # before: accepted, row b read as part of a's description
    at_end.write_text(HEADER + 'a,B,T,"open\nb,B,T,D,2\n', encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        _rows(at_end)
    assert str(info.value) == f"{at_end}, line 2 (the record read on to line 3): a quoted cell is never closed (the " \
        'file ends inside it); end the cell with ", and write each " inside a cell as ""'
    inside = tmp_path / "inside.csv"  # before: accepted, rows b and c read as one description
    inside.write_text(HEADER + 'a,B,T,"open\nb,B,T,"D",2\nc,B,T,D,3\n', encoding="utf-8")
    with pytest.raises(CatalogError, match=r"inside.csv, line 2 \(the record read on to line 3\): a cell goes on "
                       r"after its closing quote"):
        _rows(inside)


def test_a_csv_separated_by_semicolons_or_tabs_says_so(tmp_path: Path) -> None:
    for separator in (";", "\t"):
        path = tmp_path / "c.csv"
        path.write_text(HEADER.replace(",", separator) + "a;B;T;D;1\n".replace(";", separator), encoding="utf-8")
        with pytest.raises(CatalogError) as info:  # before: every row "Field required" four times over
            _rows(path)
        assert f"{path}, line 1: the header is one column" in str(info.value)
        assert f"separated by {separator!r}, not commas; save the file as comma-separated CSV" in str(info.value)


def test_a_list_inside_a_json_object_is_named_by_the_lines_of_its_items(tmp_path: Path) -> None:
    perks = [{"perk_id": f"p{i}", "brand": "B", "title": "T", "description": "D", "quantity": 1} for i in range(3)]
    perks[2]["quantity"] = "many"
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"version": [1, {"perks": 2}], "perks": perks}, indent=2), encoding="utf-8")
    wrong = 1 + path.read_text().splitlines().index('      "quantity": "many"')
    with pytest.raises(InputFileError) as info:  # before: "line 3" (the item's number)
        read_catalog(str(path))
    assert f"line {wrong - 5}, field 'quantity'" in str(info.value)


def test_a_perk_given_alone_may_have_topics_and_a_wrapper_takes_its_list_of_objects(tmp_path: Path) -> None:
    """A perk's own ``topics`` (a list of topic ids) was read as the file's list of rows: a JSON catalog of one perk
    with topics was refused ("expected a JSON object in the list"), and so was a wrapper giving topics before perks."""
    perk = {"perk_id": "p1", "brand": "B", "title": "T", "description": "D", "topics": ["coffee"]}
    alone = tmp_path / "one.json"
    alone.write_text(json.dumps(perk), encoding="utf-8")
    assert [(p.perk_id, p.topics) for p in read_catalog(str(alone))] == [("p1", ["coffee"])]
    both = tmp_path / "both.json"
    both.write_text(json.dumps({"topics": ["coffee"], "perks": [perk, perk | {"perk_id": "p2"}]}, indent=1),
                    encoding="utf-8")
    assert [p.perk_id for p in read_catalog(str(both))] == ["p1", "p2"]
    assert [line for line, _ in _rows(both)] == [6, 15]  # the items' own lines, under the key that holds them
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"version": 2, "perks": []}), encoding="utf-8")
    assert read_catalog(str(empty)) == []  # a wrapper of no perks, not a perk missing every field
    yaml_alone = tmp_path / "one.yaml"
    yaml_alone.write_text("perk_id: p1\nbrand: B\ntitle: T\ndescription: D\ntopics: [coffee]\n", encoding="utf-8")
    # first "expected a mapping" on line 5, then "expected a YAML list": loaded as its JSON form is
    assert [(p.perk_id, p.topics) for p in read_catalog(str(yaml_alone))] == [("p1", ["coffee"])]
    wrapped = tmp_path / "wrapped.yaml"  # a list under a key perkmatch does not know: not one perk missing its fields
    wrapped.write_text("catalog:\n  - perk_id: p1\n    brand: B\n    title: T\n    description: D\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="expected a YAML list of items .* its top level names 'catalog', none of "
                                           "them a field"):
        read_catalog(str(wrapped))
    yaml_both = tmp_path / "both.yaml"
    yaml_both.write_text("topics: [coffee]\nperks:\n  - perk_id: p1\n    brand: B\n    title: T\n"
                         "    description: D\n", encoding="utf-8")
    assert [p.perk_id for p in read_catalog(str(yaml_both))] == ["p1"]


def test_item_lines_of_a_large_json_list_take_linear_time(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    posts = [{"post_id": f"p{i}", "user_id": "u", "text": "words " * 20, "created_at": 1} for i in range(40_000)]
    path.write_text(json.dumps(posts, indent=1), encoding="utf-8")
    started = time.perf_counter()
    lines = [line for line, _ in _rows(path)]  # before: a minute (each item's line counted from the file's start)
    assert time.perf_counter() - started < 5
    assert lines[:3] == [2, 8, 14] and lines[-1] == 2 + 6 * 39_999


def test_json_errors_name_the_line_and_an_empty_file_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "e.json"
    empty.write_text(" \n", encoding="utf-8")
    with pytest.raises(CatalogError) as info:  # before: "not valid JSON (Expecting value: line 2 column 1 ...)"
        _rows(empty)
    assert str(info.value) == f"{empty}: the file is empty; a JSON file holds a list of objects ([] for none)"
    broken = tmp_path / "b.json"
    broken.write_text('[\n{"a": 1},\n{"a" 2}\n]', encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        _rows(broken)
    assert str(info.value) == f"{broken}, line 3: not valid JSON (Expecting ':' delimiter at column 6); fix the syntax"


def test_a_yaml_value_it_cannot_read_names_its_field_and_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("- perk_id: a\n  brand: B\n  starts: 2026-02-30\n- perk_id: b\n  quantity: !!int many\n",
                    encoding="utf-8")
    problems = [row for _, row in _rows(path)]  # before: no field, and the item's first line
    assert [str(p) for p in problems] == [
        f"{path}, line 3, field 'starts': a value YAML cannot read (day is out of range for month); fix it, or "
        "quote it",
        f"{path}, line 5, field 'quantity': a value YAML cannot read (invalid literal for int() with base 10: 'many'); "
        "fix it, or quote it",
    ]


def test_standard_input_read_twice_is_a_message_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b'{"a": 1}\n'))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert _rows("-") == [(1, {"a": 1})]
    with pytest.raises(CatalogError, match=r"^-: standard input was read already"):  # before: ValueError
        _rows("-")


def test_taxonomy_load_names_the_iab_tsv_among_the_formats(tmp_path: Path) -> None:
    from matcher.taxonomy import read_taxonomy

    (tmp_path / "topics.txt").write_text("x\n", encoding="utf-8")
    with pytest.raises(CatalogError) as info:  # before: the list left out .tsv, which taxonomy load reads
        read_taxonomy(str(tmp_path / "topics.txt"))
    assert ".yml, .json or .tsv (optionally with .gz)" in str(info.value)


def test_a_csv_row_with_one_cell_more_than_the_header_is_refused_on_its_line(tmp_path: Path) -> None:
    # one extra cell (often an unquoted comma in a text) must not be dropped silently: the row's cells would shift
    path = tmp_path / "c.csv"
    path.write_text(HEADER + "a,B,T,D,1\nb,B,T,D,2,extra\n", encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        read_catalog(str(path))
    assert f"{path}, line 3: more cells than the header has columns" in str(info.value)


def test_a_yaml_syntax_error_names_its_line_column_problem_and_where_its_construct_began(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Before, PyYAML's own text was quoted whole: "(while parsing a flow sequence in "<unicode string>", line 2,
    column 10 did not find expected ',' or ']' in "<unicode string>", line 3, column 8)"."""
    broken = tmp_path / "c.yaml"
    broken.write_text("- perk_id: a\n  title: [unclosed\n  brand: b\n", encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        _rows(broken)
    assert str(info.value) == (f"{broken}, line 3, column 8: not valid YAML: did not find expected ',' or ']' (while "
                               "parsing a flow sequence, begun at line 2, column 10); fix the syntax")
