"""Is an event log damaged? A screen cheap enough to run each time a log is opened.

SQLite's own ``PRAGMA quick_check`` reads every page and every cell, so its cost grows
with the file. This screen reads where damage shows: the 100-byte header (magic, page size,
how long the file should be), then the header of every b-tree page, reached from the
roots SQLite names (and, for pages above the leaves, every child pointer). A page the
write-ahead log holds a newer copy of is read from there, as SQLite would. It costs a
fraction of the full check (``benchmarks/log_open.py`` measures both; the README has the
figures).

It decides nothing alone. A suspicion is confirmed by ``PRAGMA quick_check`` (SQLite's
consistent view), so a page the screen misread, because another process was writing
while it looked, costs a second look and never a false verdict.

What no cheap check sees: bytes changed inside a row's payload (a body) that leave every
page's structure intact; SQLite cannot see those either, short of reading that row.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import struct
import typing
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

__all__ = ["MAGIC", "Header", "examine_header", "plausible_page_size", "table_rows", "walk"]

MAGIC = b"SQLite format 3\x00"
_WAL_MAGICS = (0x377F0682, 0x377F0683)
_PAGE_SIZES = (4096, 1024, 2048, 8192, 16384, 32768, 65536, 512)  # SQLite's default first
_LEAVES = (10, 13)  # leaf page types: index, table (2 and 5 are their interior pages)
_u16 = struct.Struct(">H").unpack_from
_HEAD = struct.Struct(">BHHH").unpack_from  # a b-tree page: type, free block, cells, content
_u32 = struct.Struct(">I").unpack_from


class Header(NamedTuple):
    """What the first bytes of a file say about it.

    ``kind`` is ``empty`` (a new file), ``sqlite`` (the header reads well),
    ``foreign`` (not an SQLite file at all), ``damaged`` (an SQLite file whose header
    is unreadable) or ``suspect`` (it reads, but the file is not as long as it says);
    ``detail`` says why in words.
    """

    kind: str
    detail: str = ""


def examine_header(path: Path) -> Header:
    """Read the header of the file at ``path`` (nothing else) and say what it is."""
    with open(path, "rb") as file:
        head = file.read(100)
        size = os.fstat(file.fileno()).st_size
        if not head:
            return Header("empty")
        if head[:16] != MAGIC:
            # An SQLite file whose header was overwritten still has b-tree pages after it,
            # or a write-ahead log beside it; a file of someone else's has neither.
            if plausible_page_size(file, size) or _has_wal(path):
                return Header("damaged", "its header, the first bytes of the file, is overwritten")
            return Header("foreign", "not an SQLite database")
    page_size = _page_size(head)
    if page_size is None or head[21:24] != b"\x40\x20\x20" or head[18] not in (1, 2):
        return Header("damaged", "its header, the first bytes of the file, is overwritten")
    if size % page_size:
        return Header("suspect", "the file ends in the middle of a page")
    counter, pages, valid_for = _u32(head, 24)[0], _u32(head, 28)[0], _u32(head, 92)[0]
    if counter == valid_for and pages * page_size > size and not _has_wal(path):
        return Header("suspect", f"the file has {size // page_size} pages, its header says {pages}")
    return Header("sqlite")


def plausible_page_size(file: typing.BinaryIO, size: int) -> int | None:
    """The page size at which the file's second page reads as a b-tree page, if any."""
    for page_size in _PAGE_SIZES:
        if size < 2 * page_size or size % page_size:
            continue
        head = os.pread(file.fileno(), 12, page_size)
        if len(head) == 12 and _header_fits(head, page_size):
            return page_size
    return None


def walk(path: Path, roots: Iterable[int]) -> str | None:
    """Visit every b-tree page under ``roots``; the first thing found wrong, or None.

    Call it while no SQLite connection of this process has the file open: the map is
    closed after, and closing any descriptor of a file drops the POSIX locks the process
    holds on it, SQLite's included.
    """
    with _opened(path) as pages:
        if pages is None:
            return None
        return pages.walk(roots)


def table_rows(path: Path) -> Iterator[tuple[int, tuple[object, ...]]]:
    """Every row on every table leaf page of the file, found page by page rather than
    through the b-trees (for ``log recover``: the rows under a damaged page are still
    there). Yields (row id, values); a row whose bytes do not decode is skipped.

    Pages on the free list are left out (they may hold stale copies); so are cells that
    run outside their page. Which table a row belongs to is for the caller to tell, by
    its shape.
    """
    with _opened(path) as pages:
        if pages is None:
            return
        free = pages.free_list()
        for number in range(1, max(pages.count, pages.file_pages) + 1):
            if number not in free:
                yield from pages.leaf_rows(number)


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[_Pages | None]:
    """The file's pages, mapped with its write-ahead log; None for a file too short or
    with no readable page size."""
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size < 512:
            yield None
            return
        db = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        page_size = _page_size(db[:100])
        if page_size is None:
            yield None
            return
        wal = _Wal.read(Path(f"{path}-wal"), page_size)
        try:
            yield _Pages(db, wal, page_size, size // page_size)
        finally:
            wal.close()
    finally:
        db.close()


# -- internals -------------------------------------------------------------------------


def _page_size(head: bytes) -> int | None:
    if len(head) < 100:
        return None
    value = _u16(head, 16)[0]
    size = 65536 if value == 1 else value
    return size if size in _PAGE_SIZES else None


def _has_wal(path: Path) -> bool:
    try:
        with open(f"{path}-wal", "rb") as wal:
            head = wal.read(4)
    except OSError:
        return False
    return len(head) == 4 and bool(_u32(head, 0)[0] in _WAL_MAGICS)


def _header_fits(head: bytes, usable: int) -> bool:
    """Whether ``head`` starts like a b-tree page's header SQLite would accept."""
    kind = head[0]
    if kind not in (2, 5, 10, 13):
        return False
    cells: int = _u16(head, 3)[0]
    content: int = _u16(head, 5)[0] or 65536
    return (8 if kind in _LEAVES else 12) + 2 * cells <= content <= usable


class _Wal:
    """The latest committed copy of each page in a write-ahead log, by page number.

    Frames are read in order while their salts match the log's header; a commit frame
    (one that records the database size) makes the frames before it current. Checksums
    are not verified: a torn last frame is at worst a false suspicion, which
    ``quick_check`` then clears.
    """

    def __init__(self, data: mmap.mmap | None, frames: dict[int, int], pages: int) -> None:
        self.data = data
        self.frames = frames  # page number → offset of its page data in ``data``
        self.pages = pages  # the database's size in pages at the last commit; 0: none

    @classmethod
    def read(cls, path: Path, page_size: int) -> _Wal:
        try:
            with open(path, "rb") as file:
                size = os.fstat(file.fileno()).st_size
                if size < 32 + 24 + page_size:
                    return cls(None, {}, 0)
                data = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        except OSError:
            return cls(None, {}, 0)
        if _u32(data, 0)[0] not in _WAL_MAGICS or _u32(data, 8)[0] != page_size:
            data.close()
            return cls(None, {}, 0)
        salts = data[16:24]
        committed: dict[int, int] = {}
        pending: dict[int, int] = {}
        pages = 0
        frame = 32
        while frame + 24 + page_size <= size and data[frame + 8 : frame + 16] == salts:
            number, after = _u32(data, frame)[0], _u32(data, frame + 4)[0]
            pending[number] = frame + 24
            if after:
                committed.update(pending)
                pending.clear()
                pages = after
            frame += 24 + page_size
        return cls(data, committed, pages)

    def close(self) -> None:
        if self.data is not None:
            self.data.close()


class _Pages:
    """The database's pages as SQLite reads them: from the WAL when it has the page."""

    def __init__(self, db: mmap.mmap, wal: _Wal, page_size: int, file_pages: int) -> None:
        self.db = db
        self.wal = wal
        self.page_size = page_size
        self.usable = page_size - db[20]
        self.count = wal.pages or file_pages
        self.file_pages = file_pages

    def where(self, number: int) -> tuple[mmap.mmap, int] | None:
        """The buffer holding page ``number`` and its offset there; None past the end."""
        found = self.wal.frames.get(number)
        if found is not None and self.wal.data is not None:
            return self.wal.data, found
        if number > self.file_pages:
            return None
        return self.db, (number - 1) * self.page_size

    def walk(self, roots: Iterable[int]) -> str | None:
        seen = bytearray(self.count + 1)
        for root in sorted(set(roots)):
            problem = self._tree(root, seen)
            if problem:
                return problem
        return None

    def _tree(self, root: int, seen: bytearray) -> str | None:
        """Level by level down one b-tree: a level is all interior pages or all leaves
        (every leaf at the same depth), all of the tree's kind (a table's or an index's)."""
        level = [root]
        family: tuple[int, int] | None = None  # (interior, leaf) page types
        usable, count, where = self.usable, self.count, self.where
        while level:
            below: list[int] = []
            leaves = 0
            for number in level:
                if not 1 <= number <= count:
                    return f"page {number} is outside the file (it has {count} pages)"
                if seen[number]:
                    return f"page {number} is used twice"
                seen[number] = 1
                found = where(number)
                if found is None:
                    return f"page {number} is past the end of the file: the file is cut short"
                buffer, start = found
                at = start + 100 if number == 1 else start
                kind, _, cells, content = _HEAD(buffer, at)
                content = content or 65536
                if family is None:
                    family = (5, 13) if kind in (5, 13) else (2, 10)
                if kind not in family:
                    return f"page {number} is not a page of the b-tree it belongs to"
                if kind in _LEAVES:
                    leaves += 1
                    if not at - start + 8 + 2 * cells <= content <= usable:
                        return f"page {number} has a damaged header"
                    continue
                if not at - start + 12 + 2 * cells <= content <= usable:
                    return f"page {number} has a damaged header"
                for pointer in struct.unpack_from(f">{cells}H", buffer, at + 12):
                    if not content <= pointer <= usable - 4:
                        return f"page {number} points outside itself"
                    below.append(_u32(buffer, start + pointer)[0])
                below.append(_u32(buffer, at + 8)[0])
            if leaves and below:
                return f"a page under page {root} is at another depth than its other leaves"
            level = below
        return None

    # -- reading rows page by page (``table_rows``) --------------------------------------

    def free_list(self) -> set[int]:
        """The pages on the free list, as page 1's header names them (bounded walk)."""
        found = self.where(1)
        if found is None:
            return set()
        buffer, start = found
        trunk, free = _u32(buffer, start + 32)[0], set[int]()
        while trunk and trunk not in free and len(free) <= self.count:
            free.add(trunk)
            where = self.where(trunk)
            if where is None:
                break
            page, at = where
            count = min(_u32(page, at + 4)[0], self.usable // 4 - 2)
            free.update(struct.unpack_from(f">{count}I", page, at + 8))
            trunk = _u32(page, at)[0]
        return free

    def leaf_rows(self, number: int) -> Iterator[tuple[int, tuple[object, ...]]]:
        """The rows of page ``number`` when it is a table leaf page (type 13)."""
        found = self.where(number)
        if found is None:
            return
        buffer, start = found
        at = start + 100 if number == 1 else start
        if buffer[at] != 13:
            return
        cells = _u16(buffer, at + 3)[0]
        if 8 + 2 * cells > self.usable:
            return
        for pointer in struct.unpack_from(f">{cells}H", buffer, at + 8):
            try:
                row = self._cell(buffer, start, pointer)
            except (IndexError, ValueError, UnicodeDecodeError, struct.error):
                continue
            if row is not None:
                yield row

    def _cell(
        self, buffer: mmap.mmap, start: int, pointer: int
    ) -> tuple[int, tuple[object, ...]] | None:
        """One table leaf cell: payload size, row id, the payload (with its overflow)."""
        usable = self.usable
        if not 8 <= pointer < usable:
            return None
        size, at = _varint(buffer, start + pointer)
        rowid, at = _varint(buffer, at)
        most = usable - 35
        if size <= most:
            local = size
        else:  # the part kept on the page, by SQLite's file format rules
            least = (usable - 12) * 32 // 255 - 23
            local = least + (size - least) % (usable - 4)
            local = local if local <= most else least
        if at + local > start + usable:
            return None
        payload = bytearray(buffer[at : at + local])
        following = _u32(buffer, at + local)[0] if local < size else 0
        hops = 0
        while len(payload) < size and following and hops <= self.count:
            where = self.where(following)
            if where is None:
                return None
            page, offset = where
            payload += page[offset + 4 : offset + usable][: size - len(payload)]
            following, hops = _u32(page, offset)[0], hops + 1
        if len(payload) != size:
            return None
        return _signed(rowid), _record(bytes(payload))


def _varint(buffer: mmap.mmap | bytes, at: int) -> tuple[int, int]:
    """SQLite's variable-length integer at ``at``: its value and where the next thing starts."""
    value = 0
    for index in range(8):
        byte = buffer[at + index]
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + index + 1
    return (value << 8) | buffer[at + 8], at + 9


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


_INTS = {1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8}  # serial type → bytes of a big-endian integer


def _record(payload: bytes) -> tuple[object, ...]:
    """The values of one record (SQLite's record format): NULL, integers, floats, text
    (UTF-8), blobs."""
    header_size, at = _varint(payload, 0)
    types = []
    while at < header_size:
        kind, at = _varint(payload, at)
        types.append(kind)
    values: list[object] = []
    at = header_size
    for kind in types:
        if kind == 0:
            values.append(None)
        elif kind in _INTS:
            width = _INTS[kind]
            values.append(int.from_bytes(payload[at : at + width], "big", signed=True))
            at += width
        elif kind == 7:
            values.append(struct.unpack_from(">d", payload, at)[0])
            at += 8
        elif kind in (8, 9):
            values.append(kind - 8)
        elif kind >= 12:
            width = (kind - 12) // 2
            chunk = payload[at : at + width]
            values.append(chunk.decode("utf-8") if kind % 2 else bytes(chunk))
            at += width
        else:
            raise ValueError(f"serial type {kind}")
    if at != len(payload):
        raise ValueError("the record does not fill its payload")
    return tuple(values)
