"""Joining PDF files into one while writing it out, so that memory stays flat however many files are joined.

pypdf's ``PdfWriter`` keeps every page of every appended file until it writes the result, which grows to gigabytes
for a bulk print of ten thousand tickets. :class:`PdfConcatenator` instead copies each source's pages (and the
objects they use) straight to the target and keeps only the byte offsets needed for the cross-reference table.
Objects shared by the pages of one source (fonts, a background form) are written once per source.
"""

from __future__ import annotations

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
