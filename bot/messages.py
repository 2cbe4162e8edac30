"""Every Vietnamese string a user reads, in one place so it can be reviewed together.

Sections: core (answers, CLI), Telegram, Zalo. Add new strings to the section of their channel.
"""

# ---------------------------------------------------------------- core (answers, CLI)

EMPTY_QUESTION = "Bạn chưa nhập câu hỏi. Hãy gõ câu hỏi về văn bản, ví dụ: “Chỉ thị 05 yêu cầu gì?”"
NO_WORDS = ("Câu hỏi chỉ có ký hiệu hoặc biểu tượng, không có từ nào để tìm. "
            "Hãy gõ câu hỏi bằng chữ, ví dụ: “Kết luận 21 về nội dung gì?”")
TOO_LONG = ("Câu hỏi quá dài ({length} ký tự, tối đa {limit}). "
            "Hãy hỏi ngắn gọn về một ý, ví dụ: “Quy định 37 cấm đảng viên làm gì?”")
NOT_FOUND = ("Không tìm thấy đoạn văn bản nào đủ liên quan đến câu hỏi này trong kho văn bản hiện có. "
             "Bạn có thể hỏi theo số hiệu văn bản (ví dụ: “Chỉ thị 05-CT/TW”, “Kết luận 21”) "
             "hoặc dùng từ ngữ có trong văn bản.")
GREETING = ("Xin chào! Tôi tra cứu văn bản của Đảng và trả lời bằng chính đoạn văn bản, kèm số hiệu, điều, "
            "khoản. Hãy hỏi một câu, ví dụ: “Đảng viên dự bị bao lâu thì được xét chuyển chính thức?” "
            "hoặc “Chỉ thị 05 yêu cầu gì?”")
THANKS = "Không có gì. Khi cần tra cứu văn bản, bạn cứ hỏi tiếp, ví dụ: “Điều 8 Điều lệ Đảng nói gì?”"
TOO_SHORT = ("Câu hỏi ngắn quá, tôi chưa biết bạn muốn tìm gì. Hãy hỏi thành một câu, ví dụ: "
             "“Tuổi kết nạp Đảng tối thiểu là bao nhiêu?” hoặc “Quy định 294 nói gì về đảng viên dự bị?”")
NO_MORE = "Không còn đoạn văn bản liên quan nào khác cho câu hỏi này."
NOT_VIETNAMESE = ("Bot chỉ trả lời câu hỏi bằng tiếng Việt về các văn bản của Đảng. "
                  "Hãy hỏi bằng tiếng Việt, ví dụ: “Chỉ thị 05 yêu cầu gì?”")
DOCUMENT_NOT_INDEXED = ("Kho chưa có toàn văn {number}; dưới đây là các bài viết có nhắc đến văn bản này.")
DOCUMENT_UNKNOWN = ("Kho văn bản hiện chưa có {number}, cũng không có bài viết nào nhắc đến văn bản này, "
                    "nên tôi không đưa ra đoạn văn bản không liên quan.")
INDEX_MISSING = "Chưa có chỉ mục. Hãy chạy: directive-bot index"
SERVICE_UNAVAILABLE = "Hệ thống tra cứu đang tạm gián đoạn, xin vui lòng thử lại sau ít phút."

# reference line labels
LABEL_NUMBER = "Số hiệu"
LABEL_ISSUED = "Ngày"
LABEL_ISSUER = "Cơ quan"
LABEL_SECTION = "Mục"
LABEL_SOURCE = "Nguồn"
LABEL_INCOMPLETE = "(bản trích, không đầy đủ)"
SECTION_OPENING = "Phần mở đầu"
PAGE = "trang {page}"

# The one table of document types: (code in a document number, Document.doc_type, name), in the order
# documents are listed by type. "" where a type has no code (news) or no doc_type of its own (a plenum).
DOC_TYPES: tuple[tuple[str, str, str], ...] = (
    ("CT", "chi-thi", "Chỉ thị"),
    ("KL", "ket-luan", "Kết luận"),
    ("NQ", "nghi-quyet", "Nghị quyết"),
    ("QĐ", "quy-dinh", "Quy định"),
    ("QĐi", "quy-dinh", "Quy định"),
    ("", "quyet-dinh", "Quyết định"),
    ("HD", "huong-dan", "Hướng dẫn"),
    ("KH", "ke-hoach", "Kế hoạch"),
    ("TB", "thong-bao", "Thông báo"),
    ("BC", "", "Báo cáo"),
    ("HNTW", "", "Hội nghị Trung ương"),
    ("", "dieu-le", "Điều lệ"),
    ("", "tin-tuc", "Tin tức, bài viết"),
)
DOC_TYPE_NAMES = {doc_type: name for _code, doc_type, name in DOC_TYPES if doc_type}  # doc_type -> name
TYPE_NAMES_BY_CODE = {code: name for code, _doc_type, name in DOC_TYPES if code}  # "CT" -> "Chỉ thị"
DOC_TYPE_BY_CODE = {code: doc_type for code, doc_type, _name in DOC_TYPES if code and doc_type}  # "CT" -> "chi-thi"

DOCUMENT_HEADER = "Văn bản"
UNDERSTOOD = "Hiểu câu hỏi là: “{question}”"
SUGGESTIONS = "Gợi ý hỏi theo số hiệu: "
CHAT_MORE_HINT = "(Gõ “thêm” để xem các đoạn tiếp theo.)"
CHAT_PROMPT = "Hỏi về văn bản (gõ “thoát” hoặc Ctrl-D để dừng): "
CHAT_WELCOME = "directive-bot — tra cứu chỉ thị, kết luận, quy định của Đảng. Kho có {documents} văn bản, {passages} đoạn."
CHAT_BYE = "Tạm biệt."

# answers from the official texts: article lookup, cross-references, status, short answer, scope (issue 13)
UNIT_NAMES = {"phan": "Phần", "chuong": "Chương", "dieu": "Điều", "khoan": "khoản", "diem": "điểm", "muc": "mục"}
UNIT_KINDS = {"dieu": "điều", "muc": "mục", "chuong": "chương", "phan": "phần"}  # "có 48 điều"
UNIT_COUNT = "{document} có {count} {kind}, không có {unit}."
UNIT_PART_MISSING = "{parent} {document} không có {unit}; dưới đây là toàn văn {whole}."
UNIT_IMPLEMENTED_IN = "{document} không đánh số theo điều; dưới đây là phần thi hành {unit} Điều lệ Đảng."
UNIT_TRUNCATED = "{unit} dài; đây là {shown} đoạn đầu, phần còn lại xem theo từng điều, mục."
LINKS_IMPLEMENTED_BY = "Hướng dẫn thi hành"
LINKS_IMPLEMENTS = "Thi hành"
STATUS_NOT_IN_FORCE = "hết hiệu lực"
STATUS_REPLACED = "hết hiệu lực, đã được thay thế bởi {number}"
SHORT_ANSWER = "Trả lời ngắn"
SCOPE_UNDERSTOOD = "chỉ tìm trong {scope}"
SCOPE_OFFICIAL = "văn bản chính thức"
SCOPE_NEWS = "tin, bài"
SCOPE_YEAR = "năm {year}"
SCOPE_ISSUER = "văn bản của {issuer}"
SCOPE_NOTHING = "Không có đoạn nào đủ liên quan trong {scope}. Hãy hỏi lại không giới hạn văn bản."
CHAT_WORDS_PREV = ("trước", "truoc", "điều trước", "dieu truoc", "mục trước", "muc truoc")
CHAT_WORDS_NEXT = ("sau", "điều sau", "dieu sau", "mục sau", "muc sau", "điều tiếp", "dieu tiep")
CHAT_WORDS_ARTICLE = ("toàn điều", "toan dieu", "toàn mục", "toan muc", "cả điều", "ca dieu")
CHAT_UNIT_HINT = "(Gõ {words} để đọc tiếp.)"
CHAT_UNIT_WORD_PREV = "“trước” ({label})"
CHAT_UNIT_WORD_NEXT = "“sau” ({label})"
CHAT_UNIT_WORD_ARTICLE = "“toàn điều” ({label})"
CHAT_NO_UNIT = "Chưa có điều, mục nào đang xem. Hãy hỏi, ví dụ: “Điều 8 Điều lệ Đảng”."
CHAT_WORDS_OFFICIAL = ("chính thức", "chinh thuc", "văn bản chính thức", "van ban chinh thuc",
                       "chỉ văn bản chính thức", "chi van ban chinh thuc")
CHAT_OFFICIAL_HINT = "(Gõ “chính thức” để chỉ tìm trong văn bản chính thức.)"
CHAT_NO_QUESTION_FOR_OFFICIAL = "Chưa có câu hỏi nào để tìm lại. Hãy gửi câu hỏi trước."
# Telegram buttons of an article lookup ("Điều 8 Điều lệ Đảng") and of an answer led by news
TG_BUTTON_UNIT_PREV = "◀ {label}"
TG_BUTTON_UNIT_NEXT = "{label} ▶"
TG_BUTTON_UNIT_ARTICLE = "Toàn điều"
TG_BUTTON_UNIT_SECTION = "Toàn mục"
TG_BUTTON_OFFICIAL = "Chỉ văn bản chính thức"

# ---------------------------------------------------------------- Telegram
# Strings marked (HTML) are sent with parse_mode HTML: placeholders are filled with escaped text.

TG_START = ("Xin chào! Tôi tra cứu các chỉ thị, kết luận, quy định, nghị quyết của Đảng và trả lời "
            "bằng đoạn văn bản gốc kèm số hiệu, ngày ban hành, cơ quan ban hành và mục.\n"
            "Kho hiện có {documents} văn bản ({passages} đoạn).\n\n"
            "Hãy gõ câu hỏi, ví dụ:\n"
            "• Chỉ thị 05 yêu cầu gì?\n"
            "• Quy định 37 đảng viên không được làm gì?\n"
            "• Kết luận 21 về nội dung gì?\n\n"
            "Gõ /help để xem hướng dẫn.")
TG_HELP = ("Cách dùng:\n"
           "• Trong chat riêng: gõ câu hỏi bất kỳ (có dấu hoặc không dấu).\n"
           "• Trong nhóm: /hoi <câu hỏi>, nhắc tên bot, hoặc trả lời tin nhắn của bot.\n"
           "• /vanban <số hiệu> — thông tin một văn bản, ví dụ: /vanban 05-CT/TW\n"
           "• /danhsach — danh sách văn bản trong kho\n"
           "• /ontap [số câu] [chủ đề] — câu hỏi ôn tập từ Điều lệ, quy định, ví dụ: /ontap 5 đảng viên dự bị; /ketqua — kết quả ôn tập của nhóm\n"
           "• Nút “Xem thêm” cho kết quả tiếp theo, “Toàn văn” để đọc cả mục, 👍/👎 để góp ý.\n"
           "• Ở chat bất kỳ, gõ @{username} <câu hỏi> để chia sẻ đoạn văn bản.")
TG_HELP_ADMIN = ("\n\nQuản trị viên: /reindex (lập chỉ mục lại), /thongke (thống kê), "
                 "gửi tệp văn bản ({extensions}) để thêm vào kho; gửi lại tệp cùng tên để cập nhật.")
TG_COMMANDS = {
    "start": "Giới thiệu và câu hỏi mẫu",
    "help": "Hướng dẫn sử dụng",
    "hoi": "Đặt câu hỏi (dùng được trong nhóm)",
    "vanban": "Thông tin một văn bản theo số hiệu",
    "danhsach": "Danh sách văn bản trong kho",
    "ontap": "Ôn tập: câu hỏi trắc nghiệm từ Điều lệ, quy định",
}
TG_ADMIN_COMMANDS = {
    "reindex": "Lập chỉ mục lại kho văn bản",
    "thongke": "Thống kê câu hỏi và chỉ mục",
}
TG_HOI_USAGE = "Hãy gõ câu hỏi sau lệnh, ví dụ: /hoi Chỉ thị 05 yêu cầu gì?"
TG_VANBAN_USAGE = "Hãy gõ số hiệu văn bản sau lệnh, ví dụ: /vanban 05-CT/TW hoặc /vanban kết luận 21"
TG_NON_TEXT = "Tôi chỉ đọc được câu hỏi bằng chữ. Hãy gõ câu hỏi, ví dụ: “Chỉ thị 05 yêu cầu gì?”"
TG_QUESTION_CUT = "(Câu hỏi dài hơn {limit} ký tự nên chỉ {limit} ký tự đầu được dùng để tra cứu.)"
TG_RATE_LIMITED = "Bạn đang hỏi quá nhanh. Vui lòng đợi {seconds} giây rồi hỏi tiếp."
TG_MORE_HEADER = "Kết quả tiếp theo ({first}–{last}):"  # (HTML)
TG_BUTTON_MORE = "Xem thêm"
TG_BUTTON_FULL = "Toàn văn"
TG_BUTTON_FULL_N = "Toàn văn {n}"
TG_BUTTON_SHARE = "Chia sẻ"
TG_BUTTON_READ = "Đọc văn bản"
TG_BUTTON_PREV = "« Trước"
TG_BUTTON_NEXT = "Sau »"
TG_BUTTON_UP = "👍"
TG_BUTTON_DOWN = "👎"
TG_FEEDBACK_THANKS = "Cảm ơn bạn đã góp ý!"
TG_BUTTON_EXPIRED = "Nút này đã hết hạn. Hãy gửi lại câu hỏi."
TG_BUTTON_READ_ON = "Xem tiếp (còn {parts} phần)"
TG_READ_TRUNCATED = "Văn bản còn dài; phần còn lại xem tại nguồn hoặc hỏi về nội dung cụ thể."
TG_PASSAGE_GONE = "Đoạn này không còn trong kho (kho vừa được cập nhật). Hãy hỏi lại."
TG_DOCUMENT_LIST = "Danh sách văn bản trong kho ({count} văn bản, trang {page}/{pages}):"  # (HTML)
TG_DOCUMENT_LIST_EMPTY = "Kho chưa có văn bản nào."
TG_DOC_TYPE_OTHER = "Văn bản khác"
TG_CARD_SECTIONS = "Các mục:"
TG_CARD_MENTIONS = "Các bài viết nhắc đến văn bản này:"
TG_ADMIN_ONLY = "Xin lỗi, lệnh này chỉ dành cho quản trị viên của bot. Không có gì được thay đổi."
TG_UPLOAD_ADMIN_ONLY = ("Xin lỗi, chỉ quản trị viên mới được thêm văn bản vào kho. "
                        "Tệp của bạn không được lưu; bạn có thể gửi câu hỏi bằng chữ.")
TG_UPLOAD_BAD_TYPE = ("Tệp “{name}” không được nhận: bot chỉ nhận văn bản dạng {extensions}. "
                      "Kho không thay đổi.")
TG_UPLOAD_TOO_BIG = "Tệp “{name}” quá lớn ({size:.1f} MB, tối đa {limit:g} MB). Kho không thay đổi."
TG_UPLOAD_NOT_TEXT = ("Tệp “{name}” không phải văn bản UTF-8 hợp lệ nên không được lưu. "
                      "Hãy lưu lại tệp với mã hoá UTF-8 rồi gửi lại. Kho không thay đổi.")
TG_UPLOAD_INVALID = "Tệp “{name}” không dùng được: {reason}. Kho không thay đổi."
TG_UPLOAD_ID_TAKEN = ("Tệp “{name}” có mã văn bản (id) {ids} trùng với một văn bản khác đã có trong kho. "
                      "Hãy đổi id, hoặc gửi tệp cùng tên với tệp cũ nếu muốn cập nhật văn bản đó. "
                      "Kho không thay đổi.")
TG_UPLOAD_SAVED = "Đã lưu “{name}” vào kho."
TG_UPLOAD_REPLACED = "Đã cập nhật “{name}” trong kho (thay tệp cũ cùng tên)."
TG_REINDEX_STARTED = "Lập chỉ mục lại kho văn bản."
TG_PROGRESS_READING = "Đang đọc văn bản…"
TG_PROGRESS_INDEXING = "Đang lập chỉ mục…"
TG_PROGRESS_DONE = "Đã xong, kết quả ở tin nhắn dưới."
TG_PROGRESS_FAILED = "Không thành công."
TG_REINDEX_BUSY = "Đang có một lượt lập chỉ mục khác chạy, vui lòng đợi rồi thử lại."
TG_REINDEX_FAILED = "Lập chỉ mục không thành công: {reason}\nChỉ mục cũ vẫn đang được dùng."
TG_REPORT_DONE = "Đã lập chỉ mục phiên bản {version}: {documents} văn bản, {passages} đoạn ({seconds:.1f} giây)."
TG_REPORT_ADDED = "Thêm mới ({count}):"
TG_REPORT_CHANGED = "Thay đổi ({count}):"
TG_REPORT_REMOVED = "Gỡ bỏ ({count}):"
TG_REPORT_FAILED = "Lỗi ({count}):"
TG_REPORT_WARNINGS = "Đã lập chỉ mục nhưng cần xem lại ({count}):"
TG_REPORT_MORE = "… và {count} mục khác (xem nhật ký của bot)."
TG_REPORT_UNCHANGED = "Không đổi: {count} văn bản."
TG_REPORT_REBUILT = "Lập lại toàn bộ: {reason}"
# a reindex that found nothing new: no new version was made (IndexReport.unchanged_collection)
INDEX_UNCHANGED = "Không có thay đổi: vẫn dùng chỉ mục phiên bản {version} ({documents} văn bản, {passages} đoạn)."
TG_STATS_TITLE = "Thống kê"
TG_STATS_QUESTIONS = "Số câu hỏi: {questions}"
TG_STATS_NOT_FOUND = "Không tìm thấy: {not_found} ({share:.0%})"
TG_STATS_CHANNELS = "Theo kênh: {channels}"
TG_STATS_UNANSWERED = "Câu hỏi chưa trả lời được nhiều nhất:"
TG_STATS_FEEDBACK = "Góp ý: 👍 {up} · 👎 {down}"
TG_STATS_INDEX = ("Chỉ mục: phiên bản {version} (lập lúc {built_at}), {documents} văn bản, {passages} đoạn, "
                  "{size}, mô hình {model} ({dim} chiều)")
TG_STATS_NO_INDEX = "Chỉ mục: chưa có"

# ---------------------------------------------------------------- Zalo

ZALO_HELP = (
    "Cách dùng:\n"
    "• Gõ câu hỏi, ví dụ: Chỉ thị 05 yêu cầu gì?\n"
    "• /hoi <câu hỏi>: hỏi (trong nhóm, dùng /hoi hoặc nhắc tên bot)\n"
    "• /vanban <số hiệu>: thông tin một văn bản, ví dụ: /vanban 05-CT/TW\n"
    "• /danhsach: danh sách văn bản trong kho\n"
    "• /ontap [số câu] [chủ đề]: câu hỏi ôn tập, trả lời bằng số 1–4; gõ “chia sẻ” để có bản tin gọn\n"
    "Sau mỗi câu trả lời: gõ “thêm” để xem thêm kết quả, hoặc “1”, “2”, “3” để đọc toàn văn đoạn tương ứng."
)
ZALO_WELCOME = ("Xin chào! Bot tra cứu chỉ thị, kết luận, quy định của Đảng và trả lời bằng trích đoạn "
                "kèm số hiệu, ngày ban hành, cơ quan ban hành và nguồn.\n\n" + ZALO_HELP)
ZALO_HELP_ADMIN = "Quản trị: /reindex để cập nhật chỉ mục, /thongke để xem thống kê câu hỏi."
ZALO_RESULTS_HEADER = "Kết quả {first}–{last} cho: {question}"
ZALO_MORE_HINT = "Gõ “thêm” để xem thêm kết quả."
ZALO_FULL_HINT = "Gõ {choices} để đọc toàn văn đoạn tương ứng."
ZALO_CHOICES_OR = "hoặc"
ZALO_GROUP_HINT = "Trong nhóm, hãy nhắc tên bot trước, ví dụ: @{name} thêm"
ZALO_NO_SESSION = ("Không có câu hỏi nào đang xem (kết quả chỉ được giữ {minutes} phút). "
                   "Hãy gửi lại câu hỏi.")
ZALO_NO_MORE = "Đã hết kết quả cho câu hỏi này. Hãy hỏi theo cách khác hoặc nêu số hiệu văn bản."
ZALO_BAD_CHOICE = "Chỉ có các đoạn từ 1 đến {count}. Hãy gõ một số trong khoảng đó."
ZALO_PASSAGE_GONE = "Đoạn này không còn trong chỉ mục (kho vừa được cập nhật). Hãy gửi lại câu hỏi."
ZALO_FULL_HEADER = "Toàn văn đoạn {choice}:"
ZALO_HOI_USAGE = "Hãy gõ câu hỏi sau /hoi, ví dụ: /hoi Chỉ thị 05 yêu cầu gì?"
ZALO_VANBAN_USAGE = "Hãy gõ số hiệu sau /vanban, ví dụ: /vanban 05-CT/TW"
ZALO_VANBAN_NOT_A_NUMBER = "Không nhận ra số hiệu “{text}”. Ví dụ: /vanban 05-CT/TW hoặc /vanban kết luận 21"
ZALO_DOCUMENT_HEADER = "Văn bản {number} trong kho:"
ZALO_MENTIONS_HEADER = "Bài viết nhắc đến {number}:"
ZALO_DOCUMENTS_HEADER = "Kho có {count} văn bản:"
ZALO_DOCUMENTS_EMPTY = "Kho chưa có văn bản nào."
ZALO_UNKNOWN_COMMAND = "Không có lệnh {command}. Gõ /help để xem các lệnh."
ZALO_ADMIN_ONLY = "Lệnh {command} chỉ dành cho quản trị viên."
ZALO_REINDEX_STARTED = "Đang cập nhật chỉ mục, vui lòng chờ…"
ZALO_REINDEX_BUSY = "Một lần cập nhật chỉ mục đang chạy; hãy chờ xong rồi thử lại."
# appended to the busy message when the reindex runs on a worker named by the shared state store
REINDEX_BUSY_HOLDER = "Lượt đang chạy ở: {holder}."
ZALO_REINDEX_DONE = ("Đã cập nhật chỉ mục {version}: {documents} văn bản, {passages} đoạn "
                     "(thêm {added}, sửa {changed}, xoá {removed}, giữ nguyên {unchanged}; {seconds:.0f} giây).")
ZALO_REINDEX_FAILURES = "Không đọc được {count} tệp:"
ZALO_REINDEX_ERROR = "Cập nhật chỉ mục thất bại: {reason}. Chỉ mục cũ vẫn đang được dùng."
ZALO_STATS = ("Thống kê câu hỏi: {questions} câu, {not_found} câu không tìm thấy ({share:.0%}).\n"
              "Theo kênh: {channels}\n"
              "Phản hồi: {up} hữu ích, {down} không hữu ích.\n"
              "Chỉ mục {version} ({built_at}): {documents} văn bản, {passages} đoạn, mô hình {model}.")
ZALO_STATS_UNANSWERED = "Câu hỏi chưa tìm thấy nhiều nhất:"
ZALO_IMAGE = "Bot chưa đọc được hình ảnh. Hãy gõ câu hỏi bằng chữ, ví dụ: Chỉ thị 05 yêu cầu gì?"
ZALO_STICKER = "Cảm ơn bạn! Hãy gõ câu hỏi về văn bản của Đảng, ví dụ: Kết luận 21 về nội dung gì?"
ZALO_UNSUPPORTED = "Bot chỉ đọc được tin nhắn chữ. Hãy gõ câu hỏi, ví dụ: Quy định 37 cấm đảng viên làm gì?"
ZALO_SUGGESTIONS = "Gợi ý:"

# ---------------------------------------------------------------- every channel: follow-ups and stale buttons

NOTHING_TO_CONTINUE = ("Chưa có câu hỏi nào để xem tiếp. Hãy gửi câu hỏi trước, ví dụ: “Chỉ thị 05 yêu cầu gì?”, "
                       "rồi gõ “thêm” để xem các kết quả tiếp theo.")
CHOICE_OUT_OF_RANGE = "Chỉ có các đoạn từ 1 đến {count}. Hãy gõ một số trong khoảng đó."
TG_BUTTON_UNKNOWN = "Nút này đã hết hạn hoặc không còn dùng được. Hãy gửi lại câu hỏi."
ZALO_VOICE = "Bot chưa nghe được tin nhắn thoại. Hãy gõ câu hỏi bằng chữ, ví dụ: Chỉ thị 05 yêu cầu gì?"
ZALO_STATS_QUOTA = ("Cảnh báo: Zalo báo đã hết hạn mức tin nhắn của tháng (từ {since}); "
                    "các câu trả lời đang không gửi được cho tới khi hạn mức được cấp lại.")

# ---------------------------------------------------------------- quizzes (all channels)

QUIZ_BLANK = "_____"
QUIZ_CLOZE = "Theo {reference}, điền vào chỗ trống:\n{sentence}"
QUIZ_TRUE_FALSE = "Theo {reference}, câu sau đúng hay sai?\n{statement}"
QUIZ_TRUE = "Đúng"
QUIZ_FALSE = "Sai"
QUIZ_UNIT_CHAPTER = "Chương {}"
QUIZ_UNIT_ARTICLE = "Điều {}"
QUIZ_UNIT_CLAUSE = "khoản {}"
QUIZ_UNIT_POINT = "điểm {}"
QUIZ_UNIT_ITEM = "mục {}"
QUIZ_EXPLANATION = "{reference}: “{clause}”"
QUIZ_NO_ITEMS = ("Chưa có câu hỏi ôn tập nào từ kho văn bản hiện có (cần toàn văn Điều lệ, quy định, "
                 "hướng dẫn có điều khoản).")
QUIZ_NO_TOPIC = ("Không tìm được câu hỏi ôn tập nào về “{topic}”. Thử chủ đề khác, ví dụ: "
                 "“đảng viên dự bị”, “Điều lệ”, “Quy định 294”.")
QUIZ_NUMBERED = "Câu {number}/{total}. {question}"
QUIZ_REPLY_HINT = "Trả lời bằng số {first}–{last}."
QUIZ_RIGHT = "✅ Đúng!"
QUIZ_WRONG = "❌ Chưa đúng. Đáp án: {option}."
QUIZ_CLAUSE = "Điều khoản ({reference}):\n{clause}"
QUIZ_SHARE_HINT = "Gõ “chia sẻ” để có bản tin gọn chuyển tiếp vào nhóm."
QUIZ_NO_PENDING = "Không có câu hỏi ôn tập nào đang chờ trả lời. Gõ /ontap để bắt đầu."
QUIZ_SOURCE = "Nguồn: {url}"
QUIZ_SHORT_ANSWER = "Trả lời: {answer}"
QUIZ_SHEET_ANSWERS = "Đáp án"
TG_QUIZ_BUTTON_CLAUSE = "Xem điều khoản"
TG_QUIZ_GONE = "Câu hỏi này không còn trong kho (kho vừa được cập nhật). Gõ /ontap để có câu mới."
QUIZ_WEEKDAYS = ["thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật"]
QUIZ_EVERY_DAY = "hằng ngày"
QUIZ_ANY_TOPIC = "mọi chủ đề"
QUIZ_SCHEDULE_LINE = "#{id}: {day} lúc {hour:02d}:{minute:02d}, {count} câu, {topic}"
QUIZ_SCHEDULE_USAGE = ("Hãy ghi lịch theo mẫu: /lichontap thứ 5 19:30 5 câu Quy định 294 "
                       "(ngày: thứ 2 … thứ 7, chủ nhật hoặc hằng ngày; giờ Việt Nam; số câu 1–10; "
                       "chủ đề hoặc văn bản nếu cần). Xem lịch: /lichontap; xoá: /lichontap xoá <số>.")
QUIZ_SCHEDULED = "Đã đặt lịch ôn tập {line}. Lịch được giữ cả khi bot khởi động lại."
QUIZ_SCHEDULES = "Lịch ôn tập của nhóm này:\n{lines}"
QUIZ_NO_SCHEDULES = "Nhóm này chưa có lịch ôn tập nào. " + QUIZ_SCHEDULE_USAGE
QUIZ_SCHEDULE_REMOVED = "Đã xoá lịch ôn tập #{id}."
QUIZ_SCHEDULE_UNKNOWN = "Không có lịch ôn tập #{id} trong nhóm này."
QUIZ_TRAINERS_ONLY = ("Chỉ người hướng dẫn ôn tập (hoặc quản trị viên) mới đặt được lịch ôn tập. "
                      "Mọi người vẫn dùng được /ontap.")
QUIZ_SCHEDULING_OFF = "Bot này chưa bật lịch hẹn giờ (thiếu gói job-queue); /ontap vẫn dùng được."
QUIZ_NOTHING_TO_SHARE = "Chưa có câu trả lời nào để chia sẻ. Hãy hỏi một câu hoặc gõ /ontap."
QUIZ_SCORES = "Kết quả ôn tập của nhóm (đúng/đã trả lời):\n{lines}"
QUIZ_SCORE_LINE = "• {name}: {right}/{answered}"
QUIZ_NO_SCORES = "Chưa có ai trả lời câu hỏi ôn tập nào trong nhóm này từ khi bot khởi động. Gõ /ontap để bắt đầu."


def reindex_busy(base: str, holder: str) -> str:
    """The busy message, naming the worker (host:pid:…) that holds the reindex lock when it is known."""
    return f"{base} {REINDEX_BUSY_HOLDER.format(holder=holder)}" if holder else base
