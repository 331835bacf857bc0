"""English translations of libext's Vietnamese interface strings, as data.

``python libext/translations/english.py`` (re)writes ``en/LC_MESSAGES/messages.po`` from the
extracted template ``messages.pot`` and this table, then compile with ``pybabel compile -d
libext/translations``. A string missing here is reported, so nothing ships untranslated
unnoticed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).resolve().parent

EN: dict[str, str] = {
    "Đã huỷ lô %(id)s: không nhập biểu ghi nào.": "Batch %(id)s cancelled: no record was imported.",
    "Huỷ, không nhập": "Cancel, import nothing",
    "Biểu ghi đọc được nhưng có cảnh báo": "Records read with warnings",
    "Cảnh báo": "Warning",
    "%(code)s đang được thu thập.": "%(code)s is being harvested.",
    "%(total)s kết quả": "%(total)s results",
    "khoảng %(total)s kết quả": "about %(total)s results",
    "(không có nhan đề)": "(no title)",
    "Biên mục viên": "Cataloguer",
    "Biểu ghi MARC": "MARC record",
    "Biểu ghi bị bỏ qua, sửa lỗi": "Records skipped, errors fixed",
    "Biểu ghi của các thư viện": "Records of the libraries",
    "Biểu ghi này đã bị thư viện rút khỏi mục lục.": "This record was withdrawn by its library.",
    "Biểu ghi đã được tách thành một ấn bản riêng.": "The record now forms an edition of its own.",
    "Biểu mẫu đã hết hạn hoặc không được gửi từ trang này. Hãy tải lại trang và thử lại.": (
        "The form has expired or was not sent from this page. Reload the page and try again."
    ),
    "Bạn cần đăng nhập để làm việc này.": "You need to log in to do this.",
    "Bản nhạc": "Printed music",
    "Bản nhạc viết tay": "Manuscript music",
    "Bản thảo": "Manuscript",
    "Bản đồ": "Map",
    "Bản đồ viết tay": "Manuscript map",
    "Bắt đầu": "Started",
    "Bỏ lọc": "Remove filter",
    "Bỏ qua": "Skipped",
    "Bộ tài liệu": "Kit",
    "Chưa có nguồn thu thập nào.": "No harvest sources yet.",
    "Chưa có thư viện nào.": "No libraries yet.",
    "Chưa thu thập lần nào.": "Never harvested.",
    "Chỉ thị": "Indicators",
    "Chủ đề": "Subject",
    "Câu tìm quá dài: chỉ dùng %(detail)s ký tự đầu.": (
        "The search was too long: only its first %(detail)s characters were used."
    ),
    "Có tại %(count)s thư viện:": "Held by %(count)s libraries:",
    "Dấu * phải đứng sau một phần của từ, ví dụ kieu*; đã bỏ qua.": (
        "A * must follow the start of a word, as in kieu*; it was ignored."
    ),
    "Dịch vụ tạm thời không sẵn sàng. Hãy thử lại sau.": (
        "The service is temporarily unavailable. Please try again later."
    ),
    "Ghi âm": "Sound recording",
    "Ghi âm âm nhạc": "Music recording",
    "Hiện vật": "Object",
    "ISBN %(detail)s không hợp lệ: hãy nhập 10 hoặc 13 chữ số.": (
        "ISBN %(detail)s is not valid: type its 10 or 13 digits."
    ),
    "Kho": "Repository",
    "Khóa gom nhóm:": "Cluster key:",
    "Không còn gì để tìm: hãy nhập một từ.": "Nothing left to search for: type a word.",
    "Không có trường %(detail)s: đã tìm như từ thông thường.": (
        "There is no field %(detail)s: it was searched as ordinary words."
    ),
    "Không tìm thấy kết quả nào.": "No results found.",
    "Không tìm thấy trang này.": "This page was not found.",
    "Kiểm tra và thêm": "Check and add",
    "Ký hiệu xếp giá": "Call number",
    "Kết thúc": "Finished",
    "Liên kết cố định": "Permalink",
    "Loại tài liệu": "Material type",
    "Lưu": "Save",
    "Lần chạy gần nhất": "Last run",
    "Lần xuất bản": "Edition",
    "Lỗi": "Errors",
    "Mã thư viện": "Library code",
    "Mô tả vật lý": "Physical description",
    "Mật khẩu": "Password",
    "Mọi từ đều phải có mặt; từ khóa %(detail)s không được dùng và đã bỏ qua.": (
        "All words must match; the keyword %(detail)s is not used and was ignored."
    ),
    "Mốc đã thu thập đến": "Harvested up to",
    "Mục lục liên hợp": "Union catalogue",
    "Nguồn thu thập OAI-PMH": "OAI-PMH harvest sources",
    "Ngôn ngữ": "Language",
    "Nhan đề (A–Z)": "Title (A–Z)",
    "Nhiều ngôn ngữ": "Multiple languages",
    "Nhật ký thu thập": "Harvest log",
    "Năm %(detail)s không hợp lệ: hãy viết year:1990 hoặc year:1990-1999.": (
        "Year %(detail)s is not valid: write year:1990 or year:1990-1999."
    ),
    "Năm xuất bản, cũ nhất trước": "Year, oldest first",
    "Năm xuất bản, mới nhất trước": "Year, newest first",
    "Nội dung": "Content",
    "Phim, video": "Film, video",
    "Phân trang": "Pages",
    "Phù hợp nhất": "Best match",
    "Quá nhiều lần đăng nhập sai. Hãy thử lại sau %(minutes)s phút.": (
        "Too many failed logins. Try again in %(minutes)s minutes."
    ),
    "Quá nhiều từ: chỉ dùng %(detail)s từ đầu.": (
        "Too many words: only the first %(detail)s were used."
    ),
    "Quá nhiều yêu cầu. Hãy thử lại sau.": "Too many requests. Please try again later.",
    "Quản trị viên": "Administrator",
    "Sai tên đăng nhập hoặc mật khẩu.": "Wrong user name or password.",
    "Sau »": "Next »",
    "Sách": "Book",
    "Sắp xếp": "Sort by",
    "Số đếm là ước lượng.": "Counts are estimates.",
    "Sửa": "Edit",
    "Sửa nguồn": "Edit source",
    "Thiếu dấu ngoặc kép đóng: đã tìm cụm từ đến hết câu.": (
        "A closing quotation mark was missing: the phrase runs to the end of the search."
    ),
    "Thu hẹp kết quả": "Refine results",
    "Thu thập ngay": "Harvest now",
    "Thu thập trong lượt hằng đêm (--all)": "Harvest in the nightly run (--all)",
    "Thành công gần nhất": "Last success",
    "Thêm": "Add",
    "Thêm nguồn": "Add source",
    "Thư viện": "Library",
    "Thư viện biên mục": "Cataloguing library",
    "Thư viện có ấn bản này": "Libraries holding this edition",
    "Thư viện trong mạng lưới": "Libraries of the network",
    "Thập niên": "Decade",
    "Tiếng Anh": "English",
    "Tiếng Hàn": "Korean",
    "Tiếng Khmer": "Khmer",
    "Tiếng Lào": "Lao",
    "Tiếng Nga": "Russian",
    "Tiếng Nhật": "Japanese",
    "Tiếng Pháp": "French",
    "Tiếng Thái": "Thai",
    "Tiếng Trung": "Chinese",
    "Tiếng Tây Ban Nha": "Spanish",
    "Tiếng Việt": "Vietnamese",
    "Tiếng Đức": "German",
    "Trang": "Page",
    "Trang này không nhận kiểu yêu cầu đó.": "This page does not accept that kind of request.",
    "Tranh ảnh": "Picture",
    "Trường": "Tag",
    "Trạng thái": "Status",
    "Tài khoản": "Account",
    "Tài khoản của bạn không có quyền làm việc này.": ("Your account is not allowed to do this."),
    "Tài liệu hỗn hợp": "Mixed materials",
    "Tác giả": "Author",
    "Tách biểu ghi này thành ấn bản riêng": "Split this record off as an edition of its own",
    "Tên thư viện": "Library name",
    "Tên đăng nhập": "User name",
    "Tìm": "Search",
    "Tìm kiếm": "Search",
    "Tìm sách trong các thư viện của mạng lưới": "Find books in the network's libraries",
    "Tìm sách, tác giả, chủ đề, ISBN": "Search titles, authors, subjects, ISBN",
    "Tình trạng": "Status",
    "Tùng thư": "Series",
    "Tải về": "Download",
    "Tập (set)": "Set",
    "Tệp gửi lên quá lớn.": "The uploaded file is too large.",
    "Tệp gửi lên quá lớn: giới hạn là %(limit)s MB.": (
        "The uploaded file is too large: the limit is %(limit)s MB."
    ),
    "Tệp máy tính": "Computer file",
    "Vai trò": "Roles",
    'Ví dụ: truyen kieu nguyen du · tacgia:"Nguyễn Du" · title:kiều · isbn:978-604-… · '
    'year:1990-1999 · "cụm từ" · kieu*': (
        'Examples: truyen kieu nguyen du · author:"Nguyễn Du" · title:kiều · '
        'isbn:978-604-… · year:1990-1999 · "a phrase" · kieu*'
    ),
    "Vị trí": "Location",
    "Xoá": "Delete",
    "Xoá nguồn (biểu ghi vẫn được giữ)": "Delete the source (its records are kept)",
    "Xuất bản": "Publication",
    "Yêu cầu không hợp lệ.": "Bad request.",
    "biểu ghi": "records",
    "biểu ghi đầy đủ nhất": "most complete record",
    "chưa có": "none yet",
    "chưa thu thập": "not harvested",
    "lần sau sẽ tiếp tục từ trang đã lưu": "the next run resumes from the saved page",
    "tập": "set",
    "tắt": "off",
    "« Trước": "« Previous",
    "« Tìm kiếm": "« Search",
    "Áp dụng": "Apply",
    "Đang dở": "Unfinished",
    "Đang lọc:": "Filtered by:",
    "Đang thu thập %(code)s; tải lại trang để xem kết quả.": (
        "Harvesting %(code)s; reload the page to see the result."
    ),
    "Đã bỏ các ký tự điều khiển trong câu tìm.": "Control characters were removed from the search.",
    "Đã lưu nguồn %(code)s.": "Source %(code)s saved.",
    "Đã thêm nguồn %(code)s.": "Source %(code)s added.",
    "Đã xoá nguồn %(code)s; biểu ghi của thư viện vẫn được giữ.": (
        "Source %(code)s deleted; the library's records are kept."
    ),
    "Đã xảy ra lỗi trong hệ thống. Lỗi đã được ghi lại; hãy thử lại sau.": (
        "Something went wrong on our side. It has been logged; please try again later."
    ),
    "Đăng nhập": "Log in",
    "Đăng xuất": "Log out",
    "Đến kết quả": "Skip to results",
    "Đến ô tìm kiếm": "Skip to the search box",
    "Địa chỉ": "Address",
    "Địa chỉ OAI-PMH": "OAI-PMH address",
    "Định dạng": "Format",
    "Định dạng (metadataPrefix)": "Format (metadataPrefix)",
    "Độ chi tiết thời gian": "Date granularity",
    "đang xem": "shown",
    "Ấn phẩm định kỳ": "Serial",
    # MARC import pages (cataloguing)
    "%(n)s xoá": "%(n)s deleted",
    "Biểu ghi lỗi": "Records with errors",
    "Bảng mã": "Character encoding",
    "Bỏ qua bản ghi trùng": "Skip duplicates",
    "Chưa có lô nhập nào.": "No import batches yet.",
    "Các lô gần đây": "Recent batches",
    "Cập nhật": "Updated",
    "Ghi đè bản ghi có sẵn": "Overwrite the existing record",
    "Hoàn tác cả lô": "Undo the whole batch",
    "Hợp nhất (giữ trường cục bộ và vốn tài liệu)": "Merge (keep local fields and holdings)",
    "Khi trùng": "On duplicates",
    "Kiểm tra trước khi nhập: %(file)s": "Check before import: %(file)s",
    "Luôn tạo bản ghi mới": "Always create a new record",
    "Lô": "Batch",
    "Lô nhập %(id)s": "Import batch %(id)s",
    "Lô nhập %(id)s: %(file)s": "Import batch %(id)s: %(file)s",
    "Lý do": "Reason",
    "Mới": "New",
    "Nhập biểu ghi MARC": "Import MARC records",
    "So khớp theo": "Match on",
    "Số biểu ghi đọc được": "Records read",
    "Thay bản ghi cũ": "Replace the old record",
    "Tải các biểu ghi lỗi về để sửa": "Download the records with errors to fix them",
    "Tải lên và kiểm tra": "Upload and check",
    "Tệp": "File",
    "Tệp MARC": "MARC file",
    "Tệp được kiểm tra trước: bạn xem có bao nhiêu biểu ghi mới, trùng, lỗi rồi mới xác nhận "
    "nhập.": (
        "The file is checked first: you see how many records are new, duplicates or faulty "
        "before you confirm the import."
    ),
    "Tự nhận dạng": "Detect automatically",
    "Tự nhận dạng (theo đầu biểu/09)": "Detect automatically (from leader/09)",
    "Ví dụ": "Example",
    "Xác nhận nhập": "Confirm the import",
    "bảng mã": "encoding",
    "trùng theo": "duplicate by",
    "Đã hoàn tác lô %(id)s: gỡ %(r)s bản ghi, khôi phục %(s)s.": (
        "Batch %(id)s undone: %(r)s records removed, %(s)s restored."
    ),
    "Đã nhập: %(n)s bản ghi mới, %(u)s cập nhật.": "Imported: %(n)s new records, %(u)s updated.",
    "Đọc": "Read",
}


def main() -> int:
    """Write the English catalogue; exit 1 when a string has no translation."""
    with open(HERE / "messages.pot", "rb") as handle:
        catalog = read_po(handle, locale="en")
    catalog.fuzzy = False  # a template is marked fuzzy; the filled catalogue is not
    missing = []
    for message in catalog:
        if not message.id:
            continue
        text = EN.get(str(message.id))
        if text is None:
            missing.append(str(message.id))
        else:
            message.string = text
    target = HERE / "en" / "LC_MESSAGES"
    target.mkdir(parents=True, exist_ok=True)
    with open(target / "messages.po", "wb") as handle:
        write_po(handle, catalog, width=100, omit_header=False)
    for text in missing:
        print(f"untranslated: {text}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
