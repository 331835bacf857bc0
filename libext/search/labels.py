"""Human labels for codes shown by the search pages (translated through Flask-Babel).

Source strings are Vietnamese, the catalogue's default language; the English catalogue is in
``libext/translations/en``.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from libext.search.query import Notice

__all__ = ["facet_label", "language_label", "notice_text", "sort_label", "type_label"]

# Leader/06 (type of record), with leader/07 "s" (serial) read as its own kind.
_TYPES = {
    "a": _l("Sách"),
    "c": _l("Bản nhạc"),
    "d": _l("Bản nhạc viết tay"),
    "e": _l("Bản đồ"),
    "f": _l("Bản đồ viết tay"),
    "g": _l("Phim, video"),
    "i": _l("Ghi âm"),
    "j": _l("Ghi âm âm nhạc"),
    "k": _l("Tranh ảnh"),
    "m": _l("Tệp máy tính"),
    "o": _l("Bộ tài liệu"),
    "p": _l("Tài liệu hỗn hợp"),
    "r": _l("Hiện vật"),
    "t": _l("Bản thảo"),
}

_LANGUAGES = {
    "vie": _l("Tiếng Việt"),
    "eng": _l("Tiếng Anh"),
    "fre": _l("Tiếng Pháp"),
    "chi": _l("Tiếng Trung"),
    "rus": _l("Tiếng Nga"),
    "ger": _l("Tiếng Đức"),
    "jpn": _l("Tiếng Nhật"),
    "kor": _l("Tiếng Hàn"),
    "spa": _l("Tiếng Tây Ban Nha"),
    "lao": _l("Tiếng Lào"),
    "khm": _l("Tiếng Khmer"),
    "tha": _l("Tiếng Thái"),
    "mul": _l("Nhiều ngôn ngữ"),
}

_FACETS = {
    "library": _l("Thư viện"),
    "type": _l("Loại tài liệu"),
    "language": _l("Ngôn ngữ"),
    "decade": _l("Thập niên"),
    "subject": _l("Chủ đề"),
    "author": _l("Tác giả"),
}

_SORTS = {
    "relevance": _l("Phù hợp nhất"),
    "year_desc": _l("Năm xuất bản, mới nhất trước"),
    "year_asc": _l("Năm xuất bản, cũ nhất trước"),
    "title": _l("Nhan đề (A–Z)"),
}

_NOTICES = {
    "unbalanced_quote": _l("Thiếu dấu ngoặc kép đóng: đã tìm cụm từ đến hết câu."),
    "lone_wildcard": _l("Dấu * phải đứng sau một phần của từ, ví dụ kieu*; đã bỏ qua."),
    "operator": _l("Mọi từ đều phải có mặt; từ khóa %(detail)s không được dùng và đã bỏ qua."),
    "unknown_field": _l("Không có trường %(detail)s: đã tìm như từ thông thường."),
    "control_characters": _l("Đã bỏ các ký tự điều khiển trong câu tìm."),
    "too_long": _l("Câu tìm quá dài: chỉ dùng %(detail)s ký tự đầu."),
    "too_many_terms": _l("Quá nhiều từ: chỉ dùng %(detail)s từ đầu."),
    "bad_year": _l("Năm %(detail)s không hợp lệ: hãy viết year:1990 hoặc year:1990-1999."),
    "bad_isbn": _l("ISBN %(detail)s không hợp lệ: hãy nhập 10 hoặc 13 chữ số."),
    "nothing_to_search": _l("Không còn gì để tìm: hãy nhập một từ."),
}


def type_label(code: str) -> str:
    """Label of a leader/06-07 material type code."""
    if len(code) >= 2 and code[0] == "a" and code[1] == "s":
        return str(_l("Ấn phẩm định kỳ"))
    label = _TYPES.get(code[:1])
    return str(label) if label else code


def language_label(code: str) -> str:
    """Label of a MARC language code (the code itself when unknown)."""
    label = _LANGUAGES.get(code)
    return str(label) if label else code


def facet_label(name: str) -> str:
    """Heading of a facet."""
    return str(_FACETS.get(name, name))


def sort_label(name: str) -> str:
    """Label of a sort order."""
    return str(_SORTS.get(name, name))


def notice_text(notice: Notice) -> str:
    """What a parser notice tells the reader, in the page's language."""
    message = _NOTICES.get(notice.code)
    if message is None:
        return notice.code
    return str(message) % {"detail": notice.detail}
