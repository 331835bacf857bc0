"""Human-readable names (Vietnamese and English) for coded MARC values shown to users."""

from __future__ import annotations

#: Leader/06, type of record.
RECORD_TYPES: dict[str, tuple[str, str]] = {
    "a": ("Tài liệu ngôn ngữ", "Language material"),
    "c": ("Bản nhạc in", "Notated music"),
    "d": ("Bản nhạc viết tay", "Manuscript notated music"),
    "e": ("Bản đồ", "Cartographic material"),
    "f": ("Bản đồ viết tay", "Manuscript cartographic material"),
    "g": ("Tài liệu chiếu hình", "Projected medium"),
    "i": ("Ghi âm không phải âm nhạc", "Nonmusical sound recording"),
    "j": ("Ghi âm âm nhạc", "Musical sound recording"),
    "k": ("Tài liệu đồ hoạ", "Two-dimensional graphic"),
    "m": ("Tệp tin máy tính", "Computer file"),
    "o": ("Bộ tài liệu", "Kit"),
    "p": ("Tài liệu hỗn hợp", "Mixed materials"),
    "r": ("Hiện vật ba chiều", "Three-dimensional artifact"),
    "t": ("Bản thảo", "Manuscript language material"),
}

#: Leader/07, bibliographic level.
BIB_LEVELS: dict[str, tuple[str, str]] = {
    "a": ("Bài trích (chuyên khảo)", "Monographic component part"),
    "b": ("Bài trích (ấn phẩm định kỳ)", "Serial component part"),
    "c": ("Sưu tập", "Collection"),
    "d": ("Đơn vị con", "Subunit"),
    "i": ("Tài liệu tích hợp", "Integrating resource"),
    "m": ("Chuyên khảo", "Monograph"),
    "s": ("Ấn phẩm định kỳ", "Serial"),
}

#: Common leader/06-07 combinations, named as librarians call them.
MATERIAL_TYPES: dict[str, tuple[str, str]] = {
    "am": ("Sách", "Book"),
    "as": ("Báo, tạp chí", "Serial"),
    "aa": ("Bài trích", "Article"),
    "ab": ("Bài báo", "Serial article"),
    "tm": ("Bản thảo", "Manuscript"),
    "em": ("Bản đồ", "Map"),
    "gm": ("Phim, video", "Video"),
    "im": ("Sách nói, ghi âm", "Audio recording"),
    "jm": ("Âm nhạc ghi âm", "Music recording"),
    "cm": ("Bản nhạc", "Score"),
    "mm": ("Tài liệu điện tử", "Electronic resource"),
    "km": ("Tranh ảnh", "Picture"),
    "rm": ("Hiện vật", "Object"),
    "om": ("Bộ tài liệu", "Kit"),
}


def material_type_name(code: str, lang: str = "vi") -> str:
    """Name of a leader/06-07 material type, e.g. ``am`` → ``Sách``."""
    index = 0 if lang == "vi" else 1
    if code in MATERIAL_TYPES:
        return MATERIAL_TYPES[code][index]
    kind = RECORD_TYPES.get(code[:1])
    level = BIB_LEVELS.get(code[1:2])
    if kind and level:
        return f"{kind[index]} ({level[index].lower()})"
    if kind:
        return kind[index]
    return code or ("Không rõ" if lang == "vi" else "Unknown")
