"""Japanese and English labels of the 実施方針 page's chrome (merged over `service.i18n`).

Keys start with ``rp_``. Only the navigation and download bar follow ``lang``: the 実施方針 itself
is a Japanese official document and stays in Japanese on both pages (``rp_ja_document`` says so
on the English one).
"""

from __future__ import annotations

from typing import Final

from service.i18n import Lang, check_lang, labels

# key -> (Japanese, English)
REPORT_LABELS: Final[dict[str, tuple[str, str]]] = {
    "rp_downloads": ("ダウンロード", "Downloads"),
    "rp_md": ("Markdown形式", "Markdown"),
    "rp_docx": ("Word形式", "Word (.docx)"),
    "rp_xlsx": ("Excel形式（集計表）", "Excel workbook (tables)"),
    "rp_html": ("HTML形式", "HTML page"),
    "rp_ja_document": (
        "実施方針は日本語の公文書として作成します。",
        "The implementation policy (実施方針) is a Japanese official document: its text below "
        "stays in Japanese.",
    ),
}


def report_labels(lang: Lang) -> dict[str, str]:
    """The shared labels and the report page's, in ``lang``."""
    idx = 0 if check_lang(lang) == "ja" else 1
    return {**labels(lang), **{k: v[idx] for k, v in REPORT_LABELS.items()}}
