"""The demo network: Hà Nam's provincial library and its six district/city libraries.

The records are real books, shipped as MARC files in ``data/`` (see its README), and loaded
through the same import path cataloguers use. Loading twice changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from libext.importer import import_file
from libext.models import Library

if TYPE_CHECKING:
    from libext.extension import LibExtState

DATA = Path(__file__).with_name("data")

#: (code, name, ISIL) of each demo library.
LIBRARIES: tuple[tuple[str, str, str], ...] = (
    ("HNM", "Thư viện tỉnh Hà Nam", "VN-HNM"),
    ("PLY", "Thư viện thành phố Phủ Lý", "VN-PLY"),
    ("DTN", "Thư viện thị xã Duy Tiên", "VN-DTN"),
    ("KBG", "Thư viện thị xã Kim Bảng", "VN-KBG"),
    ("LNN", "Thư viện huyện Lý Nhân", "VN-LNN"),
    ("TLM", "Thư viện huyện Thanh Liêm", "VN-TLM"),
    ("BLC", "Thư viện huyện Bình Lục", "VN-BLC"),
)

#: Records the demo withdraws after loading (library code, 001), so that an OAI harvester of
#: the demo sees deletions. Another library still holds each of these editions, so each book
#: stays findable in the union catalogue.
DELETED: tuple[tuple[str, str], ...] = (
    ("LNN", "LN-01412"),  # Dế Mèn phiêu lưu ký, Kim Đồng 1996 (KBG keeps it)
    ("BLC", "000504"),  # Truyện Kiều, Nxb Giáo dục 2002 (HNM keeps it)
    ("PLY", "PL002305"),  # Harry Potter và hòn đá phù thủy, Nxb Trẻ 2000 (HNM keeps it)
)


def ensure_libraries(session: Any) -> dict[str, Library]:
    """Create the demo libraries that are missing; returns them by code."""
    existing = {lib.code: lib for lib in session.scalars(select(Library))}
    for code, name, isil in LIBRARIES:
        if code not in existing:
            library = Library(code=code, name=name, isil=isil)
            session.add(library)
            existing[code] = library
    session.commit()
    return existing


def load_demo(state: LibExtState) -> dict[str, Any]:
    """Load every demo file; returns a report per library and the records withdrawn."""
    session = state.db.session
    libraries = ensure_libraries(session)
    store = state.store()
    report: dict[str, Any] = {"libraries": {}, "deleted": 0}
    for code, _name, _isil in LIBRARIES:
        path = DATA / f"{code}.mrc"
        if not path.exists():
            continue
        summary = import_file(store, libraries[code], path, skip_deleted=True)
        report["libraries"][code] = summary.to_dict()
    for code, control in DELETED:
        record = store.find(libraries[code], control)
        if record is not None and store.delete(record):
            report["deleted"] += 1
    store.flush()
    session.commit()
    return report
