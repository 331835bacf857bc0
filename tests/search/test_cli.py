"""``flask libext search reindex|query``."""

from __future__ import annotations

import json

from flask import Flask

from tests.search.test_clustering_store import save, setup_libraries
from tests.search.test_clusterkey import book


def test_reindex_and_query(app: Flask) -> None:
    with app.app_context():
        setup_libraries(app.extensions["libext"].db.session)
        save(app, "HNM", "h1", book("Truyện Kiều", isbn="9786046912347"), "895.9221")
        save(app, "PLY", "p1", book("Truyen Kieu", author="Nguyen Du", isbn="9786046912347"))
        save(app, "KBG", "k1", book("Số đỏ", author="Vũ Trọng Phụng"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["libext", "search", "reindex", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["clusters"] == 2
    result = runner.invoke(args=["libext", "search", "query", "truyen kieu", "--json"])
    assert result.exit_code == 0
    body = json.loads(result.output)
    assert body["total"] == 1
    assert {lib["code"] for lib in body["results"][0]["libraries"]} == {"HNM", "PLY"}
    text = runner.invoke(args=["libext", "search", "query", '"truyện'])
    assert "1 results" in text.output and "Thiếu dấu ngoặc kép" in text.output
