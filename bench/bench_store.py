"""The record path: storing records through RecordStore vs bare SQL inserts of the same rows.

Baseline: SQLAlchemy Core ``executemany`` inserts of the already-serialised rows (what the
database alone costs). Figure: ``RecordStore.save`` of pymarc records (NFC, serialisation,
extraction, holdings, lookup) committed in batches. Both on a fresh SQLite file.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pymarc
import sqlalchemy as sa

from bench.common import peak_rss_mb, report, scaled, timed
from libext.migrate import upgrade
from libext.models import Library, Record
from libext.store import RecordStore


def make_records(n: int) -> list[pymarc.Record]:
    """``n`` small Vietnamese book records with one holding each."""
    out = []
    for i in range(n):
        rec = pymarc.Record(force_utf8=True, leader="00000nam a2200000 a 4500")
        rec.add_field(pymarc.Field(tag="001", data=f"b{i:07d}"))
        rec.add_field(
            pymarc.Field(tag="008", data=f"200101s{1990 + i % 30}    vm            000 1 vie d")
        )
        rec.add_field(
            pymarc.Field(
                tag="100",
                indicators=["0", " "],
                subfields=[pymarc.Subfield("a", f"Nguyễn Văn {i % 97}")],
            )
        )
        rec.add_field(
            pymarc.Field(
                tag="245",
                indicators=["1", "0"],
                subfields=[pymarc.Subfield("a", f"Lịch sử làng quê số {i} /")],
            )
        )
        rec.add_field(
            pymarc.Field(
                tag="852",
                indicators=[" ", " "],
                subfields=[pymarc.Subfield("h", "959.7"), pymarc.Subfield("p", f"HNM{i:07d}")],
            )
        )
        out.append(rec)
    return out


def main() -> None:
    n = scaled(20_000)
    records = make_records(n)
    with tempfile.TemporaryDirectory() as tmp:
        engine = sa.create_engine(f"sqlite:///{Path(tmp) / 'a.sqlite3'}")
        upgrade(engine)
        with sa.orm.Session(engine) as session:
            session.add(Library(code="HNM", name="Thư viện tỉnh Hà Nam"))
            session.commit()

        def store_all() -> None:
            with sa.orm.Session(engine) as session:
                store = RecordStore(session)
                library = store.library("HNM")
                for i, rec in enumerate(records, 1):
                    if i % 500 == 1:  # bulk writers look a batch up in one query
                        store.prefetch(library, [r["001"].data for r in records[i - 1 : i + 499]])
                    store.save(library, rec)
                    if i % 500 == 0:
                        store.flush()
                        session.commit()
                store.flush()
                session.commit()

        _, store_s = timed(store_all)
        with engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(sa.select(Record.__table__))]
        engine.dispose()

        engine2 = sa.create_engine(f"sqlite:///{Path(tmp) / 'b.sqlite3'}")
        upgrade(engine2)
        with engine2.begin() as conn:
            conn.execute(
                sa.insert(Library.__table__),
                [{"id": 1, "code": "HNM", "name": "x", "created": rows[0]["created"]}],
            )

        def bare_insert() -> None:
            with engine2.begin() as conn:
                for start in range(0, len(rows), 500):
                    conn.execute(sa.insert(Record.__table__), rows[start : start + 500])

        _, bare_s = timed(bare_insert)
        engine2.dispose()
    report("RecordStore.save", n / store_s, "records/s", "bare INSERT of the same rows", n / bare_s)
    print(f"records: {n:,}; peak RSS {peak_rss_mb():.0f} MB")
