"""Tables of results for the notebooks: HTML in JupyterLab, aligned text everywhere else.

A lesson that compares methods builds its rows (one list of values per row) and makes one call,
``tables.show(rows, header=[...])``, instead of a loop of f-strings. The :class:`Table` it
displays carries two renderings: an HTML table, which JupyterLab and the course website show,
and the same table as aligned plain text, which a terminal, ``print`` and the notebook tests see.

Cells are formatted one way everywhere: ``None`` is shown as ``missing`` (default "–"), a float
with ``floatfmt`` (default ``".3g"``), anything else with ``str``. A column whose cells are all
numbers (or missing) is right-aligned, any other column left-aligned.
"""

from __future__ import annotations

import html
import numbers
from collections.abc import Sequence
from typing import Any

__all__ = ["Table", "show", "table"]


def _scalar(x: Any) -> Any:
    """A 0-d NumPy or JAX array as the Python number it holds; anything else unchanged."""
    if getattr(x, "shape", None) == () and hasattr(x, "item"):
        return x.item()
    return x


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Number) and not isinstance(x, bool)


def _cell(x: Any, missing: str, floatfmt: str) -> str:
    if x is None:
        return missing
    if isinstance(x, numbers.Real) and not isinstance(x, numbers.Integral):
        return format(float(x), floatfmt)
    return str(x)


class Table:
    """A formatted table: ``_repr_html_`` for notebooks, ``str`` / ``repr`` for plain text.

    Build it with :func:`table`, which checks and formats the input; the attributes hold the
    formatted strings: ``header`` (one per column), ``rows`` (lists of cell strings),
    ``numeric`` (one flag per column: right-aligned), ``groups`` (``(title, span)`` pairs over
    the columns, or ``None``) and ``caption`` (or ``None``).
    """

    def __init__(
        self,
        header: list[str],
        rows: list[list[str]],
        numeric: list[bool],
        groups: list[tuple[str, int]] | None,
        caption: str | None,
    ) -> None:
        self.header, self.rows, self.numeric = header, rows, numeric
        self.groups, self.caption = groups, caption

    # -- plain text ---------------------------------------------------------------------------
    def _widths(self) -> list[int]:
        widths = [max(len(h), *(len(r[j]) for r in self.rows)) for j, h in enumerate(self.header)]
        if self.groups:  # a group title wider than its columns widens its last column
            start = 0
            for title, span in self.groups:
                inner = sum(widths[start : start + span]) + 2 * (span - 1)
                if len(title) > inner:
                    widths[start + span - 1] += len(title) - inner
                start += span
        return widths

    def to_text(self) -> str:
        """The table as aligned plain text, a rule under the header."""
        widths = self._widths()

        def line(cells: Sequence[str]) -> str:
            parts = [
                c.rjust(w) if num else c.ljust(w)
                for c, w, num in zip(cells, widths, self.numeric, strict=True)
            ]
            return "  ".join(parts).rstrip()

        out = [self.caption] if self.caption else []
        if self.groups:
            parts, start = [], 0
            for title, span in self.groups:
                inner = sum(widths[start : start + span]) + 2 * (span - 1)
                parts.append(title.center(inner) if title else " " * inner)
                start += span
            out.append("  ".join(parts).rstrip())
        out.append(line(self.header))
        out.append("  ".join("-" * w for w in widths))
        out.extend(line(r) for r in self.rows)
        return "\n".join(out)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return self.to_text()

    # -- HTML ---------------------------------------------------------------------------------
    def to_html(self) -> str:
        """The table as an HTML ``<table>`` (text escaped; numbers right-aligned)."""
        esc = html.escape

        def cells(tag: str, values: Sequence[str]) -> str:
            return "".join(
                f'<{tag} style="text-align: {"right" if num else "left"}">{esc(v)}</{tag}>'
                for v, num in zip(values, self.numeric, strict=True)
            )

        out = ["<table>"]
        if self.caption:
            out.append(f"<caption>{esc(self.caption)}</caption>")
        out.append("<thead>")
        if self.groups:
            spans = "".join(
                f'<th colspan="{span}" style="text-align: center">{esc(title)}</th>'
                for title, span in self.groups
            )
            out.append(f"<tr>{spans}</tr>")
        out.append(f"<tr>{cells('th', self.header)}</tr>")
        out.append("</thead>")
        out.append("<tbody>")
        out.extend(f"<tr>{cells('td', r)}</tr>" for r in self.rows)
        out.append("</tbody>")
        out.append("</table>")
        return "\n".join(out)

    def _repr_html_(self) -> str:
        return self.to_html()


def table(
    rows: Sequence[Sequence[Any]],
    *,
    header: Sequence[str],
    groups: Sequence[tuple[str, int]] | None = None,
    caption: str | None = None,
    missing: str = "–",
    floatfmt: str = ".3g",
) -> Table:
    """Format ``rows`` (one sequence of values per row, one value per column) as a :class:`Table`.

    Args:
        rows: the rows; each has ``len(header)`` values (numbers, strings, ``None`` or 0-d arrays).
        header: one title per column.
        groups: optional ``(title, span)`` pairs, a header row above ``header`` whose spans add
            up to the number of columns (an empty title leaves its columns without one).
        caption: optional line above the table.
        missing: how ``None`` is shown.
        floatfmt: format spec for non-integer numbers (``format(x, floatfmt)``).
    """
    if isinstance(header, str) or not isinstance(header, Sequence) or len(header) == 0:
        raise TypeError(f"table: `header` must be a non-empty list of strings, got {header!r}.")
    if not all(isinstance(h, str) for h in header):
        raise TypeError(f"table: every entry of `header` must be a string, got {list(header)!r}.")
    if isinstance(rows, str) or not isinstance(rows, Sequence):
        raise TypeError(f"table: `rows` must be a list of rows, got {type(rows).__name__}.")
    try:
        format(1.5, floatfmt)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"table: `floatfmt` must be a float format spec, got {floatfmt!r}."
        ) from exc
    ncols = len(header)
    values = []
    for i, row in enumerate(rows):
        if isinstance(row, str) or not isinstance(row, Sequence) or len(row) != ncols:
            raise ValueError(
                f"table: `rows[{i}]` must hold {ncols} values (one per header entry), got {row!r}."
            )
        values.append([_scalar(x) for x in row])
    if groups is not None:
        groups = [(str(title), int(span)) for title, span in groups]
        if any(span < 1 for _, span in groups) or sum(span for _, span in groups) != ncols:
            raise ValueError(
                f"table: the spans of `groups` must be positive and add up to the {ncols} "
                f"columns, got {[span for _, span in groups]}."
            )
    numeric = [
        all(r[j] is None or _is_number(r[j]) for r in values)
        and any(r[j] is not None for r in values)
        for j in range(ncols)
    ]
    formatted = [[_cell(x, missing, floatfmt) for x in r] for r in values]
    return Table(list(header), formatted, numeric, groups, caption)


def show(
    rows: Sequence[Sequence[Any]],
    *,
    header: Sequence[str],
    groups: Sequence[tuple[str, int]] | None = None,
    caption: str | None = None,
    missing: str = "–",
    floatfmt: str = ".3g",
) -> None:
    """Display :func:`table` of the same arguments in the notebook (plain text outside one)."""
    from IPython.display import display

    display(
        table(
            rows, header=header, groups=groups, caption=caption, missing=missing, floatfmt=floatfmt
        )
    )
