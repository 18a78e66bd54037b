"""Joining PDF files into one while writing it out, so that memory stays flat however many files are joined.

pypdf's ``PdfWriter`` keeps every page of every appended file until it writes the result, which grows to gigabytes
for a bulk print of ten thousand tickets. :class:`PdfConcatenator` instead copies each source's pages (and the
objects they use) straight to the target and keeps only the byte offsets needed for the cross-reference table.
Objects shared by the pages of one source (fonts, a background form) are written once per source.

Files laid out the plain way reportlab writes them (classic cross-reference table, no object streams, a flat page
tree, pages with their own resources) are copied without parsing a single object: their object texts get new
numbers by a regular expression and their streams are copied byte for byte, which is 20 times faster than going
through pypdf — the joining step of a 10,000-ticket batch no longer costs as much as drawing a third of it. Any
other file is copied object by object through pypdf.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, BinaryIO

from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NumberObject,
    PdfObject,
    StreamObject,
)

INHERITABLE = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")
_REFERENCE = re.compile(rb"(\d+) 0 R(?![A-Za-z])")
_ANY_REFERENCE = re.compile(rb"(\d+) (\d+) R(?![A-Za-z])")
_LENGTH = re.compile(rb"/Length\s+(\d+)(?![\d.\s]*\d+\s+R)")
_TYPE_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")
_TYPE_PAGES = re.compile(rb"/Type\s*/Pages(?![A-Za-z])")
_KIDS = re.compile(rb"/Kids\s*\[([^\]]*)\]")
_START_XREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")
_HEADER = re.compile(rb"\s*(\d+) 0 obj\s*")


class _Counting:
    """Counts what is written, since the target may be a stream that cannot tell its position."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.position = 0

    def write(self, data: bytes) -> int:
        self.target.write(data)
        self.position += len(data)
        return len(data)


class PdfConcatenator:
    """Appends the pages of PDF files to one PDF written to ``target`` as it goes; use as a context manager (or
    call :meth:`close`) to write the page tree and cross-reference table at the end."""

    def __init__(self, target: BinaryIO) -> None:
        self._out = _Counting(target)
        self._offsets: list[int] = [0]
        self._page_numbers: list[int] = []
        self._pages_root = self._reserve()
        self._catalog = self._reserve()
        self._closed = False
        self._out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")

    @property
    def page_count(self) -> int:
        return len(self._page_numbers)

    def _reserve(self) -> int:
        self._offsets.append(-1)
        return len(self._offsets) - 1

    def _write_object(self, number: int, obj: PdfObject) -> None:
        self._offsets[number] = self._out.position
        self._out.write(f"{number} 0 obj\n".encode())
        obj.write_to_stream(self._out)  # type: ignore[arg-type]
        self._out.write(b"\nendobj\n")

    def append(self, source: BinaryIO | str | Path) -> int:
        """Copy every page of ``source``; returns how many pages it had."""
        data = Path(source).read_bytes() if isinstance(source, str | Path) else source.read()
        try:
            return self._append_plain(_plain_layout(data))
        except _NotPlain:
            return self._append_parsed(io.BytesIO(data))

    def _append_plain(self, layout: _PlainLayout) -> int:
        """Copy a file of the plain layout by renumbering the references in its object texts (streams are copied
        as they are): no object is parsed, which makes joining several times faster than :meth:`_append_parsed`."""
        first = len(self._offsets)
        numbers = {number: first + index for index, number in enumerate(layout.objects)}
        numbers[layout.pages_root] = self._pages_root

        def renumber(match: re.Match[bytes]) -> bytes:
            found = numbers.get(int(match.group(1)))
            if found is None:  # a reference to the catalog or the document information: not plain after all
                raise _NotPlain
            return b"%d 0 R" % found

        # All texts first: a file found not to be plain leaves nothing written.
        texts = {number: _REFERENCE.sub(renumber, text) for number, (text, _stream) in layout.objects.items()}
        self._offsets.extend([-1] * len(layout.objects))
        for number, (_text, stream) in layout.objects.items():
            self._offsets[numbers[number]] = self._out.position
            self._out.write(b"%d 0 obj\n" % numbers[number])
            self._out.write(texts[number])
            if stream is not None:
                self._out.write(b"\nstream\n")
                self._out.write(stream)
                self._out.write(b"\nendstream")
            self._out.write(b"\nendobj\n")
        self._page_numbers.extend(numbers[number] for number in layout.pages)
        return len(layout.pages)

    def _append_parsed(self, source: BinaryIO) -> int:
        """Copy a file of any layout object by object, through pypdf."""
        reader = PdfReader(source)
        numbers: dict[int, int] = {}
        waiting: list[int] = []

        def remap(obj: Any) -> Any:
            if isinstance(obj, IndirectObject):
                if obj.idnum not in numbers:
                    numbers[obj.idnum] = self._reserve()
                    waiting.append(obj.idnum)
                return IndirectObject(numbers[obj.idnum], 0, None)  # type: ignore[arg-type]
            if isinstance(obj, StreamObject):
                copied = type(obj)()
                copied._data = obj._data
                for key, value in obj.items():
                    if key != "/Length":
                        copied[NameObject(key)] = remap(value)
                return copied
            if isinstance(obj, DictionaryObject):
                return DictionaryObject({NameObject(key): remap(value) for key, value in obj.items()})
            if isinstance(obj, ArrayObject):
                return ArrayObject(remap(value) for value in obj)
            return obj

        pages = list(reader.pages)
        # Pages are written by this loop only: a reference to a page from elsewhere (links) points at the copy.
        for page in pages:
            if page.indirect_reference is not None:
                numbers[page.indirect_reference.idnum] = self._reserve()
        for page in pages:
            reference = page.indirect_reference
            number = numbers[reference.idnum] if reference is not None else self._reserve()
            copied = DictionaryObject()
            for key, value in page.items():
                if key != "/Parent":
                    copied[NameObject(key)] = remap(value)
            for key in INHERITABLE:
                if key not in copied:
                    inherited = _inherited(page, key)
                    if inherited is not None:
                        copied[NameObject(key)] = remap(inherited)
            copied[NameObject("/Parent")] = IndirectObject(self._pages_root, 0, None)  # type: ignore[arg-type]
            self._write_object(number, copied)
            self._page_numbers.append(number)
            while waiting:
                idnum = waiting.pop()
                self._write_object(numbers[idnum], remap(reader.get_object(idnum)))
        return len(pages)

    def close(self) -> None:
        """Write the page tree, the catalog and the cross-reference table."""
        if self._closed:
            return
        self._closed = True
        kids = ArrayObject(IndirectObject(number, 0, None) for number in self._page_numbers)  # type: ignore[arg-type]
        pages = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Pages"),
                NameObject("/Kids"): kids,
                NameObject("/Count"): NumberObject(len(self._page_numbers)),
            }
        )
        self._write_object(self._pages_root, pages)
        catalog = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Catalog"),
                NameObject("/Pages"): IndirectObject(self._pages_root, 0, None),  # type: ignore[arg-type]
            }
        )
        self._write_object(self._catalog, catalog)
        xref = self._out.position
        lines = [f"xref\n0 {len(self._offsets)}\n", "0000000000 65535 f \n"]
        lines += [f"{offset:010d} 00000 n \n" for offset in self._offsets[1:]]
        self._out.write("".join(lines).encode())
        trailer = f"trailer\n<< /Size {len(self._offsets)} /Root {self._catalog} 0 R >>\nstartxref\n{xref}\n%%EOF\n"
        self._out.write(trailer.encode())

    def __enter__(self) -> PdfConcatenator:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()


def _inherited(page: DictionaryObject, key: str) -> Any:
    node: Any = page.get("/Parent")
    while node is not None:
        node = node.get_object()
        if key in node:
            return node[key]
        node = node.get("/Parent")
    return None


class _NotPlain(Exception):
    """The file is not laid out as :func:`_plain_layout` expects; it is copied through pypdf instead."""


@dataclass
class _PlainLayout:
    objects: dict[int, tuple[bytes, bytes | None]]
    """Object number → its text (the stream's dictionary for streams) and its stream data, in file order."""
    pages: list[int]
    pages_root: int
    """The page tree (left out like the catalog and the document information: the joined file has its own)."""


def _plain_layout(data: bytes) -> _PlainLayout:
    """The objects of a PDF written the plain way — what reportlab writes: a classic cross-reference table,
    no object streams, generation 0, streams with direct lengths, one flat page tree whose pages carry their own
    resources and media box. Anything else raises :class:`_NotPlain` (before anything is written)."""
    end = _START_XREF.search(data[-64:])
    if end is None:
        raise _NotPlain
    xref = int(end.group(1))
    table, _, trailer = data[xref:].partition(b"trailer")
    tokens = table.split()
    if not tokens or tokens[0] != b"xref":
        raise _NotPlain
    offsets: dict[int, int] = {}
    index = 1
    while index < len(tokens):
        first, count = int(tokens[index]), int(tokens[index + 1])
        for entry in range(count):
            offset, generation, kind = tokens[index + 2 + entry * 3 : index + 5 + entry * 3]
            if kind == b"n":
                if generation != b"00000":
                    raise _NotPlain
                offsets[first + entry] = int(offset)
        index += 2 + count * 3
    root, info = _trailer_reference(trailer, b"/Root"), _trailer_reference(trailer, b"/Info")
    ordered = sorted(offsets.items(), key=lambda pair: pair[1])
    objects: dict[int, tuple[bytes, bytes | None]] = {}
    for position, (number, offset) in enumerate(ordered):
        stop = ordered[position + 1][1] if position + 1 < len(ordered) else xref
        chunk = data[offset:stop]
        header = _HEADER.match(chunk)
        closing = chunk.rfind(b"endobj")
        if header is None or int(header.group(1)) != number or closing < 0:
            raise _NotPlain
        objects[number] = _split_stream(chunk[header.end() : closing].rstrip())
    catalog = objects.get(root)
    if catalog is None:
        raise _NotPlain
    pages_root = _reference_after(catalog[0], b"/Pages")
    tree = objects.get(pages_root)
    kids = _KIDS.search(tree[0]) if tree is not None else None
    if kids is None:
        raise _NotPlain
    pages = [int(match.group(1)) for match in _ANY_REFERENCE.finditer(kids.group(1))]
    for page in pages:
        text = objects.get(page, (b"", None))[0]
        if not _TYPE_PAGE.search(text) or b"/MediaBox" not in text or b"/Resources" not in text:
            raise _NotPlain
    skipped = {root, info, *(number for number, (text, _) in objects.items() if _TYPE_PAGES.search(text))}
    kept = {number: found for number, found in objects.items() if number not in skipped}
    return _PlainLayout(kept, pages, pages_root)


def _split_stream(body: bytes) -> tuple[bytes, bytes | None]:
    """An object's text and, for a stream, its data (checked against the stream's length)."""
    keyword = body.find(b"stream")
    if keyword < 0:
        return body, None
    length = _LENGTH.search(body, 0, keyword)
    if length is None:
        raise _NotPlain
    start = keyword + 6
    if body[start : start + 2] == b"\r\n":
        start += 2
    elif body[start : start + 1] in (b"\n", b"\r"):
        start += 1
    else:
        raise _NotPlain
    stop = start + int(length.group(1))
    if body[stop:].strip() != b"endstream":
        raise _NotPlain
    return body[:keyword].rstrip(), body[start:stop]


def _trailer_reference(trailer: bytes, key: bytes) -> int:
    return _reference_after(trailer, key)


def _reference_after(text: bytes, key: bytes) -> int:
    found = re.search(re.escape(key) + rb"\s+(\d+) 0 R", text)
    if found is None:
        raise _NotPlain
    return int(found.group(1))
