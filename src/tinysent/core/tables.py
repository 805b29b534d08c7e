"""Delimited text files (CSV, TSV) read record by record, with nothing lost.

Every reader of users' CSV / TSV files (training data, files to score) goes through
:func:`delimited_records`, which keeps one rule: each physical record is either returned or reported
with its line number. A quoted field may span lines (CSV's rule), but a quote that is never closed,
or a record that spans lines and then has the wrong number of fields, is reported at the line it
starts on and reading starts again on the next line, so one stray quote costs one row, not every row
after it. A field longer than :data:`FIELD_LIMIT` characters is a reported row (an unclosed quote
that ran on), never a ``_csv.Error`` traceback.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterator
from typing import TextIO

FIELD_LIMIT = 1 << 20  # characters in one field; a tweet is 280, a pasted article a few thousand
csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))


def _reason(e: csv.Error) -> str:
    msg = str(e)
    if "field larger than field limit" in msg:
        why = f"a field of more than {FIELD_LIMIT:,} characters (a quote left open?)"
    elif "unexpected end of data" in msg:
        why = 'a quote opened in this row is never closed: close it, or double a quote inside a field ("")'
    elif "expected after" in msg:
        why = 'a quote inside a field: quote the whole field and double the quotes in it ("")'
    else:
        why = msg
    return f"unparsable CSV record: {why}"


class _Lines:
    """Physical lines of ``f`` (split as csv splits them: \\n, \\r\\n, \\r), numbered; lines handed back
    with :meth:`unread` come again first. An iterator that can go on after it ended (for a resync)."""

    def __init__(self, f: TextIO):
        self.f, self.n, self.pending, self.taken = f, 0, deque(), []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self.pending:
            item = self.pending.popleft()
        else:
            text = self.f.readline()
            if not text:
                raise StopIteration
            self.n += 1
            item = (self.n, text)
        self.taken.append(item)
        return item[1]

    def unread(self, items) -> None:
        self.pending.extendleft(reversed(items))


def delimited_records(f: TextIO, delimiter: str = ",") -> Iterator[tuple[int, list[str] | None, str | None]]:
    """(line, fields, None) per record, or (line, None, reason) for one that cannot be read; the first
    record is the header; a blank line comes as (line, [], None). ``f``: a text file opened with
    ``newline=""``."""
    lines = _Lines(f)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    width = None
    while True:
        lines.taken = []
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            taken = lines.taken
            if not taken:  # nothing read, nothing to resume from
                raise
            yield taken[0][0], None, _reason(e)
            lines.unread(taken[1:])  # read again from the next line: one bad row, not the rest
            continue
        taken = lines.taken
        start = taken[0][0]
        if not row:  # a blank line: the caller says whether it is a record
            yield start, [], None
            continue
        if width is None:
            width = len(row)
        elif len(row) != width:
            if len(taken) > 1:  # a quote opened in this row swallowed the lines after it
                yield (
                    start,
                    None,
                    (
                        f"expected {width} fields, found {len(row)} over lines {start}-{taken[-1][0]}: "
                        'a quote left open? close it, or double a quote inside a field ("")'
                    ),
                )
                lines.unread(taken[1:])
            else:
                yield start, None, f"expected {width} fields, found {len(row)}"
            continue
        yield start, row, None


def duplicate_column(header: list[str], wanted: str, source) -> None:
    """A column picked by name must be the only one of that name (else which one is read is a guess)."""
    where = [i + 1 for i, h in enumerate(header) if h == wanted]
    if len(where) > 1:
        from tinysent.core.errors import DataError

        raise DataError(
            f"{source} has {len(where)} columns named {wanted!r} (columns {', '.join(map(str, where))}): "
            "rename all but one"
        )
