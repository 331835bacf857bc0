"""Union-catalogue search at 100,000 and 1,000,000 generated records, SQLite and PostgreSQL.

Records: Vietnamese and English vocabulary, realistic field lengths (titles of 2-12 words,
one or two authors where one surname — Nguyễn — covers a large share, subjects, notes,
publishers), duplicated across seven libraries as a province's catalogue is (about 45% of
editions held by two libraries or more, some copies catalogued without diacritics).

Figures, each beside a baseline measured in the same run:

* index build: grouping is given by the generator; timed is building every cluster's
  document (folding, tokens, facets, sort key) and loading the cluster, facet and full-text
  tables (``libext.search.indexer.bulk_load``); on PostgreSQL the GIN indexes are created
  after the load, inside the timing. Baseline: inserting the same documents' raw text into a
  plain table.
* queries: 200 typical queries (known-item titles and authors, with and without diacritics;
  broad one- and two-word queries; fielded ones). The full search (hit count, the relevance
  page with exact-diacritic tier and tie-breaker, and all facets) against the bare ranked
  query for the same terms (FTS5 ``ORDER BY bm25 LIMIT 20``; on PostgreSQL ``ORDER BY
  ts_rank LIMIT 20``). p50 and p95 of each, and the p95 ratio (target ≤ 2 at 1,000,000).
* peak RSS of the process.

``BENCH_SEARCH_SIZES`` (default ``100000,1000000``) and ``BENCH_SEARCH_ENGINES`` (default
``sqlite,postgresql``) select the runs; ``BENCH_SCALE`` scales the sizes.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bench.common import peak_rss_mb, percentile, report, scaled
from libext.migrate import upgrade
from libext.search.documents import MemberData
from libext.search.engine import SearchEngine, SearchRequest, engine_for
from libext.search.folding import fold, fold_tokens
from libext.search.indexer import bulk_load
from libext.search.query import parse_query
from marc.extract import Extracted

LIBRARIES = ["HNM", "PLY", "DTN", "KBG", "LNN", "TLM", "BLC"]
SURNAMES = ["Nguyễn"] * 38 + ["Trần"] * 11 + ["Lê"] * 9 + ["Phạm"] * 7 + ["Hoàng"] * 5 + [
    "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Đào",
    "Đoàn", "Vương", "Trịnh", "Mai", "Tô", "Hà", "Lương", "Đinh",
]  # fmt: skip
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quang", "Xuân", "Hồng", "Kim"]
GIVEN = [
    "An",
    "Anh",
    "Bình",
    "Cường",
    "Dũng",
    "Duy",
    "Dương",
    "Đạt",
    "Giang",
    "Hà",
    "Hải",
    "Hạnh",
    "Hiếu",
    "Hoa",
    "Hùng",
    "Hương",
    "Khánh",
    "Lan",
    "Linh",
    "Long",
    "Mai",
    "Minh",
    "Nam",
    "Nga",
    "Ngọc",
    "Nhung",
    "Phong",
    "Phúc",
    "Phương",
    "Quân",
    "Quang",
    "Sơn",
    "Tâm",
    "Thảo",
    "Thắng",
    "Thủy",
    "Trang",
    "Trung",
    "Tú",
    "Tuấn",
    "Uyên",
    "Việt",
    "Vinh",
    "Yến",
    "Đông",
    "Bảo",
    "Châu",
    "Diệu",
    "Hằng",
    "Kiên",
    "Lộc",
    "Lực",
    "Ngân",
    "Oanh",
]
EN_NAMES = [
    "Smith",
    "Johnson",
    "Brown",
    "Taylor",
    "Miller",
    "Wilson",
    "Moore",
    "Anderson",
    "Thomas",
    "Martin",
    "Lee",
    "Clark",
]
EN_GIVEN = [
    "John",
    "Mary",
    "James",
    "Patricia",
    "Robert",
    "Linda",
    "Michael",
    "Barbara",
    "David",
    "Susan",
    "Paul",
    "Anne",
]
VI_WORDS = [
    "lịch",
    "sử",
    "việt",
    "nam",
    "văn",
    "học",
    "thơ",
    "truyện",
    "ngắn",
    "tiểu",
    "thuyết",
    "kinh",
    "tế",
    "xã",
    "hội",
    "giáo",
    "dục",
    "khoa",
    "học",
    "công",
    "nghệ",
    "nông",
    "nghiệp",
    "y",
    "học",
    "sức",
    "khỏe",
    "gia",
    "đình",
    "trẻ",
    "em",
    "thiếu",
    "nhi",
    "đất",
    "nước",
    "con",
    "người",
    "làng",
    "quê",
    "thành",
    "phố",
    "miền",
    "bắc",
    "miền",
    "nam",
    "miền",
    "trung",
    "chiến",
    "tranh",
    "hòa",
    "bình",
    "tình",
    "yêu",
    "quê",
    "hương",
    "mùa",
    "xuân",
    "mùa",
    "thu",
    "biển",
    "đảo",
    "núi",
    "rừng",
    "sông",
    "hồng",
    "cửu",
    "long",
    "hà",
    "nội",
    "huế",
    "sài",
    "gòn",
    "văn",
    "hóa",
    "phong",
    "tục",
    "lễ",
    "hội",
    "tín",
    "ngưỡng",
    "ẩm",
    "thực",
    "âm",
    "nhạc",
    "hội",
    "họa",
    "kiến",
    "trúc",
    "pháp",
    "luật",
    "chính",
    "trị",
    "triết",
    "học",
    "tâm",
    "lý",
    "kỹ",
    "năng",
    "sống",
    "quản",
    "lý",
    "doanh",
    "nghiệp",
    "tài",
    "chính",
    "ngân",
    "hàng",
    "môi",
    "trường",
    "khí",
    "hậu",
    "địa",
    "lý",
    "du",
    "lịch",
    "ngôn",
    "ngữ",
    "tiếng",
    "anh",
    "từ",
    "điển",
    "giáo",
    "trình",
    "bài",
    "tập",
    "tuyển",
    "tập",
    "hồi",
    "ký",
    "nhật",
    "ký",
    "danh",
    "nhân",
    "anh",
    "hùng",
    "cách",
    "mạng",
    "đảng",
    "bộ",
    "tỉnh",
    "huyện",
    "xã",
    "nhân",
    "dân",
    "lao",
    "động",
    "công",
    "nhân",
    "nông",
    "dân",
    "phụ",
    "nữ",
    "thanh",
    "niên",
    "học",
    "sinh",
    "sinh",
    "viên",
    "đường",
    "đời",
    "dòng",
    "sông",
    "ánh",
    "trăng",
    "ngọn",
    "lửa",
    "bóng",
    "tối",
    "giấc",
    "mơ",
    "con",
    "đường",
    "người",
    "thầy",
    "mẹ",
    "cha",
]
EN_WORDS = [
    "history",
    "of",
    "the",
    "war",
    "and",
    "peace",
    "world",
    "economy",
    "society",
    "education",
    "science",
    "technology",
    "agriculture",
    "health",
    "family",
    "children",
    "country",
    "people",
    "village",
    "city",
    "north",
    "south",
    "river",
    "sea",
    "mountain",
    "love",
    "home",
    "spring",
    "autumn",
    "culture",
    "festival",
    "music",
    "art",
    "architecture",
    "law",
    "politics",
    "philosophy",
    "psychology",
    "life",
    "skills",
    "management",
    "business",
    "finance",
    "bank",
    "environment",
    "climate",
    "geography",
    "travel",
    "language",
    "english",
    "dictionary",
    "textbook",
    "exercises",
    "collected",
    "memoir",
    "diary",
    "hero",
    "revolution",
    "women",
    "youth",
    "students",
    "road",
    "night",
    "light",
    "fire",
    "dream",
    "teacher",
    "mother",
    "father",
    "introduction",
    "guide",
    "principles",
    "modern",
    "ancient",
    "new",
    "complete",
    "short",
    "stories",
    "novel",
    "poems",
]
SUBJECTS = (
    [f"Văn học Việt Nam -- {k}" for k in ("Thơ", "Truyện ngắn", "Tiểu thuyết", "Hồi ký")]
    + ["Lịch sử", "Việt Nam -- Lịch sử", "Kinh tế", "Giáo dục", "Y học", "Nông nghiệp", "Pháp luật"]
    + ["Văn hóa", "Du lịch", "Thiếu nhi", "Kỹ năng sống", "Tâm lý học", "Triết học", "Âm nhạc"]
    + ["History", "Economics", "Education", "Medicine", "Fiction", "Poetry", "Agriculture"]
    + [f"Địa chí -- {p}" for p in ("Hà Nam", "Phủ Lý", "Duy Tiên", "Kim Bảng", "Lý Nhân")]
)
PUBLISHERS = [
    "Văn học",
    "Kim Đồng",
    "Giáo dục Việt Nam",
    "Trẻ",
    "Chính trị quốc gia",
    "Khoa học xã hội",
    "Hội Nhà văn",
    "Lao động",
    "Thanh niên",
    "Phụ nữ",
    "Tổng hợp TP. Hồ Chí Minh",
    "Đại học Quốc gia Hà Nội",
    "Nông nghiệp",
    "Y học",
    "Penguin",
    "Oxford University Press",
    "Routledge",
    "Thế giới",
    "Hồng Đức",
    "Văn hóa dân tộc",
]
TYPES = ["am"] * 90 + ["as"] * 3 + ["em", "gm", "im", "jm", "mm", "km", "tm"]


def _person(rng: random.Random, lang: str) -> str:
    if lang == "eng":
        return f"{rng.choice(EN_NAMES)}, {rng.choice(EN_GIVEN)}"
    middle = rng.choice(MIDDLE) + " " if rng.random() < 0.8 else ""
    return f"{rng.choice(SURNAMES)} {middle}{rng.choice(GIVEN)}"


def _words(rng: random.Random, vocab: list[str], low: int, high: int) -> str:
    return " ".join(rng.choice(vocab) for _ in range(rng.randint(low, high)))


def _edition(rng: random.Random, n: int) -> Extracted:
    lang = rng.choices(["vie", "eng", "fre"], weights=[75, 20, 5])[0]
    vocab = VI_WORDS if lang == "vie" else EN_WORDS
    title = _words(rng, vocab, 2, 8).capitalize()
    if rng.random() < 0.3:
        title += " : " + _words(rng, vocab, 2, 6)
    authors = [_person(rng, lang) for _ in range(rng.choice([1, 1, 1, 2]))]
    year = rng.randint(1950, 2025) if rng.random() > 0.03 else None
    return Extracted(
        control_number=str(n),
        title=title,
        authors=authors,
        year=year,
        isbns=[f"978604{n:07d}"[:13]] if rng.random() < 0.6 else [],
        publisher=rng.choice(PUBLISHERS),
        place=rng.choice(["H.", "Tp. Hồ Chí Minh", "Đà Nẵng", "Huế", "London", "Hà Nam"]),
        edition="Tái bản lần thứ 2" if rng.random() < 0.1 else "",
        extent=f"{rng.randint(40, 900)} tr.",
        language=lang,
        material_type=rng.choice(TYPES),
        subjects=rng.sample(SUBJECTS, rng.choice([1, 2, 2, 3])),
        series=[_words(rng, vocab, 2, 4)] if rng.random() < 0.15 else [],
        notes=[_words(rng, vocab, 8, 25)] if rng.random() < 0.4 else [],
    )


def _without_diacritics(data: Extracted) -> Extracted:
    """A copy catalogued on a keyboard without Vietnamese input (it happens)."""
    return Extracted(
        **{
            **{k: getattr(data, k) for k in Extracted.__slots__},  # type: ignore[attr-defined]
            "title": fold(data.title).capitalize(),
            "authors": [fold(a).title() for a in data.authors],
        }
    )


def generate(n_records: int, seed: int = 1) -> Iterator[tuple[int, str, list[MemberData]]]:
    """Clusters (id, key, members) until ``n_records`` member records were produced."""
    rng = random.Random(seed)
    produced = 0
    cluster_id = 0
    while produced < n_records:
        cluster_id += 1
        data = _edition(rng, cluster_id)
        copies = rng.choices([1, 2, 3, 4, 5, 6, 7], weights=[55, 20, 10, 6, 4, 3, 2])[0]
        copies = min(copies, n_records - produced)
        libraries = rng.sample(LIBRARIES, copies)
        members = []
        for k, code in enumerate(libraries):
            variant = data if k == 0 or rng.random() > 0.1 else _without_diacritics(data)
            members.append(
                MemberData(
                    record_id=produced + k + 1,
                    library_codes=[code],
                    data=variant,
                    completeness=rng.randint(1, 1000),
                )
            )
        produced += copies
        key = f"isbn:{data.isbns[0]}" if data.isbns else f"work:{fold(data.title)}"
        yield cluster_id, key, members


def queries(seed: int, n_clusters: int) -> list[str]:
    """200 typical queries: known items, authors, broad words, fielded terms."""
    rng = random.Random(seed)
    sample = {}
    wanted = set(rng.sample(range(1, n_clusters + 1), 120))
    for cluster_id, _key, members in generate(10**12, seed=1):
        if cluster_id in wanted:
            sample[cluster_id] = members[0].data
            if len(sample) == len(wanted):
                break
        if cluster_id > n_clusters:
            break
    items = list(sample.values())
    out: list[str] = []
    for data in items[:40]:  # known-item title, as typed with diacritics
        out.append(" ".join(data.title.split()[:4]))
    for data in items[40:80]:  # the same without diacritics, as on a phone
        out.append(fold(" ".join(data.title.split()[:4])))
    for data in items[80:100]:  # author + a title word
        out.append(f"{data.authors[0].replace(',', '')} {data.title.split()[0]}")
    for data in items[100:110]:
        out.append(f'title:"{" ".join(data.title.split()[:2])}"')
    for data in items[110:120]:
        out.append(f"author:{fold_tokens(data.authors[0])[-1]} year:{data.year or 2000}")
    broad = [
        "lịch sử", "việt nam", "văn học", "nguyen", "Nguyễn", "history", "the", "tiểu thuyết",
        "lich su viet nam", "kinh tế", "giáo dục", "thơ", "tho", "van hoa", "life", "love",
        "nguyễn văn", "tran", "subject:thơ", "truyện ngắn", "khoa hoc", "world", "người",
        "nguoi", "quê hương", "hà nội", "nam", "xã hội", "children", "tình yêu",
        "the history", "modern", "năm", "con", "đất nước", "dat nuoc", "lý", "anh", "mẹ",
        "viet nam lich su", "tỉnh", "miền", "book", "hồi ký", "sống", "song", "mùa xuân",
        "pháp luật", "thiếu nhi", "new", "hoa", "huế", "ha noi", "văn", "van", "học", "hoc",
        "quản lý", "kỹ năng", "english",
    ]  # fmt: skip
    out += broad
    return out[:200]


class TimedIter:
    """Wraps a generator and adds up the time spent inside it (so it can be taken out)."""

    def __init__(self, source: Iterator[tuple[int, str, list[MemberData]]]) -> None:
        self.source = source
        self.seconds = 0.0

    def __iter__(self) -> TimedIter:
        return self

    def __next__(self) -> tuple[int, str, list[MemberData]]:
        start = time.perf_counter()
        try:
            return next(self.source)
        finally:
            self.seconds += time.perf_counter() - start


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_queries(
    session: Session, engine: SearchEngine, texts: list[str]
) -> tuple[list[float], list[float]]:
    """Full search and bare ranked query times (seconds) for each query, interleaved."""
    full: list[float] = []
    bare: list[float] = []
    for text in texts:
        parsed = parse_query(text)
        terms = [tok for term in parsed.text_terms for tok in term.folded] or ["x"]
        request = SearchRequest(query=parsed, size=20, with_facets=True)
        # Alternate which goes first, so neither always finds the pages warm.
        if len(full) % 2:
            bare.append(_timed(lambda: engine.ranked_baseline(session, terms)))  # noqa: B023
            full.append(_timed(lambda: engine.search(session, request)))  # noqa: B023
        else:
            full.append(_timed(lambda: engine.search(session, request)))  # noqa: B023
            bare.append(_timed(lambda: engine.ranked_baseline(session, terms)))  # noqa: B023
    return full, bare


def _baseline_load(session: Session, n_records: int) -> float:
    """Insert the generated documents' raw text into a plain table (what storage alone costs)."""
    session.execute(sa.text("CREATE TABLE bench_plain (id integer PRIMARY KEY, body text)"))
    rows = []
    spent = 0.0  # only the inserts are timed, not generating the records
    insert = sa.text("INSERT INTO bench_plain VALUES (:id, :body)")
    for cluster_id, _key, members in generate(n_records):
        data = members[0].data
        body = " ".join([data.title, *data.authors, *data.subjects, *data.notes, data.publisher])
        rows.append({"id": cluster_id, "body": body})
        if len(rows) >= 5000:
            start = time.perf_counter()
            session.execute(insert, rows)
            spent += time.perf_counter() - start
            rows.clear()
    start = time.perf_counter()
    if rows:
        session.execute(insert, rows)
    session.commit()
    return spent + time.perf_counter() - start


def bench_one(url: str, label: str, n_records: int) -> None:
    engine_sa = sa.create_engine(url, poolclass=sa.NullPool)
    if engine_sa.dialect.name == "sqlite":
        # What the app's connections get (LIBEXT_SEARCH_SQLITE_CACHE_MB, default 64 MB).
        sa.event.listen(
            engine_sa,
            "connect",
            lambda conn, _rec: conn.execute("PRAGMA cache_size=-65536"),
        )
    upgrade(engine_sa)
    with Session(engine_sa) as session:
        search_engine = engine_for(session)
        base_build = _baseline_load(session, n_records)
        pg = engine_sa.dialect.name == "postgresql"
        start = time.perf_counter()
        if pg:
            for name in ("doc", "exact", "facets"):
                session.execute(sa.text(f"DROP INDEX ix_libext_search_fts_{name}"))
        source = TimedIter(generate(n_records))
        clusters = bulk_load(session, source, search_engine, batch=2000)
        if pg:
            for name in ("doc", "exact", "facets"):
                session.execute(
                    sa.text(
                        f"CREATE INDEX ix_libext_search_fts_{name} ON libext_search_fts"
                        f" USING gin ({name})"
                    )
                )
            session.commit()
            # What autovacuum does to a freshly loaded table (visibility map, statistics);
            # VACUUM cannot run inside a transaction block.
            with engine_sa.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))
        else:
            session.commit()
            session.execute(
                sa.text("INSERT INTO libext_search_fts(libext_search_fts) VALUES ('optimize')")
            )
            session.commit()
        generation = source.seconds
        build = time.perf_counter() - start - generation
        print(
            f"[{label} {n_records:,} records → {clusters:,} editions;"
            f" generating them took {generation:,.1f} s, not counted below]",
            flush=True,
        )
        report(
            f"  index build ({n_records / build:,.0f} records/s)",
            build,
            "s",
            "plain-table insert of the same text",
            base_build,
            higher_is_better=False,
        )
        texts = queries(7, clusters)
        run_queries(session, search_engine, texts[:20])  # warm the caches
        full, bare = run_queries(session, search_engine, texts)
        ms = 1000.0
        p50, p95 = percentile(full, 50) * ms, percentile(full, 95) * ms
        b50, b95 = percentile(bare, 50) * ms, percentile(bare, 95) * ms
        label_full = "  full search (count + page + facets)"
        report(
            f"{label_full} p50", p50, "ms", "bare ranked top-20 p50", b50, higher_is_better=False
        )
        report(
            f"{label_full} p95",
            p95,
            "ms",
            "bare ranked top-20 p95",
            b95,
            higher_is_better=False,
            target=2.0 if n_records >= 1_000_000 else None,
        )
        print(f"  peak RSS so far: {peak_rss_mb():,.0f} MB", flush=True)
    engine_sa.dispose()


def main() -> None:
    sizes = [
        scaled(int(s))
        for s in os.environ.get("BENCH_SEARCH_SIZES", "100000,1000000").split(",")
        if s.strip()
    ]
    engines = os.environ.get("BENCH_SEARCH_ENGINES", "sqlite,postgresql").split(",")
    cluster = None
    try:
        for n in sizes:
            if "sqlite" in engines:
                with tempfile.TemporaryDirectory() as tmp:
                    bench_one(f"sqlite:///{Path(tmp) / 'search.sqlite3'}", "SQLite FTS5", n)
            if "postgresql" in engines:
                if cluster is None:
                    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
                    from tests.postgres import PostgresUnavailable, start_cluster

                    try:
                        cluster = start_cluster()
                    except PostgresUnavailable as exc:
                        print(f"[PostgreSQL skipped: {exc}]")
                        engines = [e for e in engines if e != "postgresql"]
                        continue
                admin = sa.create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
                name = f"bench_{n}"
                with admin.connect() as conn:
                    conn.execute(sa.text(f"CREATE DATABASE {name}"))
                bench_one(cluster.url(name), "PostgreSQL", n)
                with admin.connect() as conn:
                    conn.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
                admin.dispose()
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
