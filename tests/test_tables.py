"""Tests for course_lib.tables: the text and HTML renderings show the same cells, aligned."""

import html.parser
import re

import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import tables


class _Cells(html.parser.HTMLParser):
    """Collects (tag, attributes, text) of every th/td of an HTML table."""

    def __init__(self):
        super().__init__()
        self.cells, self._open = [], None

    def handle_starttag(self, tag, attrs):
        if tag in ("th", "td"):
            self._open = [tag, dict(attrs), ""]

    def handle_data(self, data):
        if self._open is not None:
            self._open[2] += data

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self._open is not None:
            self.cells.append(tuple(self._open))
            self._open = None


def _html_cells(t):
    parser = _Cells()
    parser.feed(t.to_html())
    return parser.cells


def test_cells_are_formatted_one_way():
    t = tables.table(
        [["GD", 0.18754, 22, None], ["Adam", np.float32(1.25), np.int64(198), "> 300"]],
        header=["method", "alpha", "iterations", "note"],
    )
    assert t.rows == [["GD", "0.188", "22", "–"], ["Adam", "1.25", "198", "> 300"]]


def test_zero_dimensional_arrays_are_numbers():
    t = tables.table([[jnp.float32(0.5), jnp.array(3)]], header=["a", "b"], floatfmt=".2f")
    assert t.rows == [["0.50", "3"]] and t.numeric == [True, True]


def test_numeric_columns_are_right_aligned_and_text_columns_left_aligned():
    t = tables.table([["a", 1.0], ["bbbb", 100.0]], header=["name", "value"])
    lines = t.to_text().splitlines()
    assert lines == ["name  value", "----  -----", "a         1", "bbbb    100"]
    assert t.numeric == [False, True]
    aligns = [attrs["style"] for tag, attrs, _ in _html_cells(t) if tag == "td"]
    assert aligns == ["text-align: left", "text-align: right"] * 2


def test_text_and_html_hold_the_same_cells():
    rows = [["x < y", 1, None], ["b & c", 2.5, "z"]]
    t = tables.table(rows, header=["h1", "h2", "h3"], caption="cap")
    cells = [text for _, _, text in _html_cells(t)]
    assert cells == ["h1", "h2", "h3", "x < y", "1", "–", "b & c", "2.5", "z"]
    assert "x &lt; y" in t.to_html() and "b &amp; c" in t.to_html()  # escaped in the HTML
    text = t.to_text()
    assert text.splitlines()[0] == "cap" and "<caption>cap</caption>" in t.to_html()
    for cell in cells:
        assert cell in text
    assert repr(t) == str(t) == text and t._repr_html_() == t.to_html()


def test_groups_span_their_columns_in_both_renderings():
    t = tables.table(
        [["GD", 1, 2, 3, 4]],
        header=["method", "a", "b", "a", "b"],
        groups=[("", 1), ("the aligned bowl", 2), ("turned", 2)],
    )
    spans = [(attrs.get("colspan"), text) for tag, attrs, text in _html_cells(t)[:3]]
    assert spans == [("1", ""), ("2", "the aligned bowl"), ("2", "turned")]
    lines = t.to_text().splitlines()
    # the group title sits over its own columns, which widen to hold it
    title_at = lines[0].index("the aligned bowl")
    header_b = lines[1].index("b")
    assert title_at < header_b < title_at + len("the aligned bowl")
    assert len({len(line.rstrip()) for line in lines[2:]}) == 1  # the columns line up


def test_show_displays_the_table(capsys):
    tables.show([[1, 2.5]], header=["n", "x"])  # outside a notebook: printed as text
    assert capsys.readouterr().out.splitlines() == ["n    x", "-  ---", "1  2.5"]


@pytest.mark.parametrize(
    ("kwargs", "error", "names"),
    [
        ({"rows": [[1, 2]], "header": "ab"}, TypeError, "header"),
        ({"rows": [[1, 2]], "header": []}, TypeError, "header"),
        ({"rows": [[1, 2]], "header": ["a", 2]}, TypeError, "header"),
        ({"rows": "ab", "header": ["a", "b"]}, TypeError, "rows"),
        ({"rows": [[1, 2], [3]], "header": ["a", "b"]}, ValueError, "rows[1]"),
        ({"rows": [[1, 2]], "header": ["a", "b"], "groups": [("g", 3)]}, ValueError, "groups"),
        (
            {"rows": [[1, 2]], "header": ["a", "b"], "groups": [("g", 0), ("h", 2)]},
            ValueError,
            "groups",
        ),
        ({"rows": [[1, 2]], "header": ["a", "b"], "floatfmt": "q"}, ValueError, "floatfmt"),
    ],
)
def test_bad_input_names_the_argument(kwargs, error, names):
    with pytest.raises(error, match=re.escape(f"`{names}`")):
        tables.table(**kwargs)
