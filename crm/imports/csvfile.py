"""Reading spreadsheet CSV files and writing ones that are safe to open in a spreadsheet."""

import csv
import io
import re
from dataclasses import dataclass

from flask_babel import gettext as _

from crm.errors import ServiceError

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_ROWS = 50_000
BOM = "\ufeff"


def safe_cell(value) -> str:
    """The value as text, with a leading ' when a spreadsheet would run it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def unescape_cell(text: str) -> str:
    """Undo safe_cell() for a file this app exported: "'+47 ..." is read as "+47 ...”."""
    if len(text) > 1 and text[0] == "'" and text[1:].startswith(FORMULA_START):
        return text[1:]
    return text


@dataclass
class ParsedCsv:
    """A CSV file's header row and data rows (each padded to the header's width)."""

    headers: list[str]
    rows: list[list[str]]
    delimiter: str


def decode(content: bytes) -> str:
    """The file's text: UTF-8 with or without a byte-order mark, else a clear error."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = "\x00"  # as for a NUL: not text
    if "\x00" in text:  # binary, UTF-16, or a text no database column can hold
        raise ServiceError(
            _('The file is not UTF-8 text. Save it as "CSV UTF-8" and try again.'), field="file"
        )
    return text


def sniff_delimiter(text: str) -> str:
    """ ";" or "," (or a tab): whichever splits the header line into the most columns."""
    first = text.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(first, delimiters=";,\t").delimiter
    except csv.Error:
        counts = {d: first.count(d) for d in (";", ",", "\t")}
        return max(counts, key=counts.get) if any(counts.values()) else ","


def parse(content: bytes) -> ParsedCsv:
    """Parse an uploaded CSV file; ServiceError when it is empty, not UTF-8 or not CSV."""
    text = decode(content)
    if not text.strip():
        raise ServiceError(_("The file is empty."), field="file")
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        rows = list(reader)
    except csv.Error:  # its message is Python's, in English: say where instead
        raise ServiceError(
            _(
                "The file is not a valid CSV file: line %(line)s cannot be read "
                "(a quotation mark that is not closed?).",
                line=reader.line_num,
            ),
            field="file",
        ) from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise ServiceError(_("The file is empty."), field="file")
    headers = [" ".join(h.split()) for h in rows[0]]
    if len(rows) - 1 > MAX_ROWS:
        raise ServiceError(
            _(
                "The file has more than %(count)s rows; split it into smaller files.",
                count=MAX_ROWS,
            ),
            field="file",
        )
    width = len(headers)
    body = [[unescape_cell(c.strip()) for c in (row + [""] * width)[:width]] for row in rows[1:]]
    return ParsedCsv(headers=headers, rows=body, delimiter=delimiter)


def header_key(text: str) -> str:
    """A header folded for matching: "E-post" == "e post" == "EPOST"."""
    return re.sub(r"[\W_]+", "", (text or "").casefold())


def write(headers: list[str], rows, *, delimiter: str = ";") -> str:
    """A CSV text for spreadsheets: BOM first (Excel then reads UTF-8), every cell made safe."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in headers])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return BOM + out.getvalue()
