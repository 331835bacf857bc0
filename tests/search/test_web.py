"""The search page, record pages, downloads and OpenSearch, through the Flask test client."""

from __future__ import annotations

import io
import re
from xml.etree import ElementTree

import pymarc
import pytest
from flask import Flask
from lxml import etree

from tests.paths import XSD_DIR


@pytest.fixture
def client(demo_app: Flask):  # type: ignore[no-untyped-def]
    return demo_app.test_client()


def text_of(html: bytes) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.decode()))


def first_record_link(html: bytes) -> str:
    match = re.search(r'href="(/record/\d+)"', html.decode())
    assert match, "no record link"
    return match.group(1)


def test_home_page_lists_libraries_and_has_the_search_box(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/")
    assert page.status_code == 200
    html = page.data.decode()
    assert 'name="q"' in html and '<label for="q"' in html
    assert "Thư viện tỉnh Hà Nam" in html
    assert 'name="viewport"' in html


def test_search_without_diacritics_lists_holdings(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/?q=truyen+kieu+nguyen+du")
    assert page.status_code == 200
    text = text_of(page.data)
    assert "Truyện Kiều" in text
    assert "Thư viện tỉnh Hà Nam" in text
    assert re.search(r"\(\d{3}\.\d+", text), "call numbers are shown"


def test_facet_links_filter(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/?q=nguyen")
    html = page.data.decode()
    link = re.search(r'href="(/\?q=nguyen&amp;library=([A-Z]+))"', html)
    assert link
    filtered = client.get(link.group(1).replace("&amp;", "&"))
    assert filtered.status_code == 200
    assert "aria-current" in filtered.data.decode()
    count_all = int(re.search(r"(\d+) kết quả", text_of(page.data)).group(1))
    count_lib = int(re.search(r"(\d+) kết quả", text_of(filtered.data)).group(1))
    assert 0 < count_lib <= count_all


def test_pagination_and_sort_links(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/?q=nguyen&size=5&sort=title")
    html = page.data.decode()
    assert 'rel="next"' in html
    nxt = re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    assert "page=2" in nxt and "sort=title" in nxt
    assert client.get(nxt).status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "/?q=%22unbalanced",
        "/?q=*",
        "/?q=kieu&page=abc&size=-3",
        "/?q=kieu&page=999999",
        "/?q=%00%01kieu",
        "/?q=" + "x" * 5000,
        "/?q=kieu&sort=nonsense",
        "/?q=year:abc",
        "/?library=NOPE",
        "/?q=kieu&decade=abc&lang=xx",
    ],
)
def test_bad_input_is_a_page_not_an_error(client, query: str) -> None:  # type: ignore[no-untyped-def]
    assert client.get(query).status_code == 200


def test_notices_are_shown(client) -> None:  # type: ignore[no-untyped-def]
    text = text_of(client.get("/?q=%22truyen+kieu").data)
    assert "Thiếu dấu ngoặc kép đóng" in text


def test_english_switch(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/?q=kieu&lang=en")
    text = text_of(page.data)
    assert "Refine results" in text and "results" in text
    assert '<html lang="en">' in page.data.decode()
    # The choice is remembered; a three-letter lang is a language filter, not the UI language.
    filtered = client.get("/?q=kieu&lang=vie")
    assert "Refine results" in text_of(filtered.data)
    assert "Filtered by" in text_of(filtered.data)
    back = client.get("/?q=kieu&lang=vi")
    assert "Thu hẹp kết quả" in text_of(back.data)


def test_record_page_holdings_marc_and_key(client) -> None:  # type: ignore[no-untyped-def]
    link = first_record_link(client.get("/", query_string={"q": "Truyện Kiều"}).data)
    page = client.get(link)
    assert page.status_code == 200
    html = page.data.decode()
    assert '<th scope="col">Ký hiệu xếp giá</th>' in html
    assert re.search(r"<td>245</td>\s*<td>\d\d</td>", html), "MARC view with indicators"
    assert '<span class="code">$a</span>' in html
    assert re.search(r"<code>(isbn|work):[^<]+</code>", html), "cluster key shown"
    for fmt in ("mrc", "xml", "ris", "bib"):
        assert f'{link}.{fmt}"' in html
    assert "http://localhost" + link in html  # permalink


def test_downloads(client) -> None:  # type: ignore[no-untyped-def]
    link = first_record_link(client.get("/", query_string={"q": "Truyện Kiều"}).data)
    mrc = client.get(f"{link}.mrc")
    assert mrc.status_code == 200 and mrc.mimetype == "application/marc"
    records = list(pymarc.MARCReader(io.BytesIO(mrc.data), to_unicode=True, force_utf8=True))
    assert records[0] is not None and "Kiều" in records[0]["245"]["a"]
    xml = client.get(f"{link}.xml")
    schema = etree.XMLSchema(etree.parse(str(XSD_DIR / "MARC21slim.xsd")))
    doc = etree.fromstring(xml.data)
    assert schema.validate(doc), schema.error_log
    ris = client.get(f"{link}.ris").data.decode()
    assert (
        ris.startswith("TY  - BOOK\r\n") and ris.endswith("ER  - \r\n") and "AU  - Nguyễn Du" in ris
    )
    bib = client.get(f"{link}.bib").data.decode()
    assert bib.startswith("@book{") and "author = {Nguyễn Du}" in bib
    assert (
        'attachment; filename="record-' in client.get(f"{link}.bib").headers["Content-Disposition"]
    )
    assert client.get(f"{link}.pdf").status_code == 404


def test_unknown_record_is_404(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/record/99999999").status_code == 404


def test_opensearch_description(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/opensearch.xml")
    assert response.mimetype == "application/opensearchdescription+xml"
    root = ElementTree.fromstring(response.data)
    ns = {"os": "http://a9.com/-/spec/opensearch/1.1/"}
    urls = root.findall("os:Url", ns)
    assert any("q={searchTerms}" in u.get("template", "") for u in urls)
    assert 'rel="search"' in client.get("/").data.decode()
