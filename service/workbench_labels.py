"""Japanese and English labels of the workbench and survey pages (merged over `service.i18n`)."""

from __future__ import annotations

from typing import Final

from service.i18n import Lang, check_lang, labels

# key -> (Japanese, English)
WORKBENCH_LABELS: Final[dict[str, tuple[str, str]]] = {
    "workbench": ("検討ワークベンチ", "Planner's workbench"),
    "workbench_intro": (
        "現状把握（職員・業務時間）、発注状況、事業者・職員アンケート、契約数の検討をまとめて行います。",
        "Current state (staff, working time), ordering status, surveys of contractors and staff,"
        " and how many contracts, in one place.",
    ),
    "current_state": ("現状把握（職員体制・業務時間）", "Current state (staff and working time)"),
    "ordering_status": ("発注状況", "Ordering status"),
    "template": ("入力様式", "Template"),
    "download_template": ("入力様式（.xlsx）をダウンロード", "Download the template (.xlsx)"),
    "import_template": ("記入した様式を取り込む", "Import the filled template"),
    "import": ("取込", "Import"),
    "imported": ("取り込みました", "Imported"),
    "bad_cells": ("誤りのあるセル（何も保存されていません）", "Bad cells (nothing was stored)"),
    "sheet": ("シート", "Sheet"),
    "row": ("行", "Row"),
    "column": ("列", "Column"),
    "value": ("値", "Value"),
    "problem": ("内容", "Problem"),
    "staff": ("職員数", "Staff"),
    "age_pyramid": ("年齢構成", "Staff by age"),
    "time_split": ("業務時間の配分", "Split of working time"),
    "patrol_hours": ("点検・日常維持の時間（年）", "Hours on inspection and maintenance (year)"),
    "matrix_help": (
        "○ 発注あり、◎ 包括化済み、✕ 不調・不落あり。太字は実施方針の業務範囲の候補です。",
        "○ ordered, ◎ already bundled, ✕ failed tenders. Bold cells are suggested for the"
        " scope of the implementation policy.",
    ),
    "surveys": ("アンケート", "Surveys"),
    "new_survey": ("アンケートを作成", "New survey"),
    "survey_name": ("名称", "Name"),
    "audience": ("対象", "Audience"),
    "audience_contractor": ("事業者", "Contractors"),
    "audience_staff": ("職員", "Staff"),
    "recipients_help": ("回答者（1行に1名・1社）", "Recipients (one per line)"),
    "create": ("作成", "Create"),
    "links_once": (
        "回答用リンクは今だけ表示されます。各回答者に個別に送ってください。",
        "The answer links are shown only now: send each recipient their own.",
    ),
    "answered": ("回答数", "Answered"),
    "export": ("出力", "Export"),
    "size_limit": (
        "地元事業者が担える区域規模（班数）",
        "Region size local firms can carry (crews)",
    ),
    "frontier": ("契約数の検討（k のフロンティア）", "How many contracts? (frontier over k)"),
    "run_frontier": ("計算する", "Compute"),
    "running": ("計算中…", "Running…"),
    "max_k": ("最大の区域数", "Largest k"),
    "k": ("区域数 k", "Regions k"),
    "variant": ("区域の作り方", "Regions"),
    "whole_towns": ("自治体単位", "Whole towns"),
    "cross_border": ("境界をまたぐ", "Cross-border"),
    "cost_round": ("巡回1回の費用（円）", "Cost per round (yen)"),
    "crew_hours": ("作業時間（h）", "Crew hours"),
    "saving": ("削減額（円）", "Saving (yen)"),
    "saving_pct": ("削減率（%）", "Saving (%)"),
    "largest_workload": ("最大区域の作業量（h/30日）", "Largest region's workload (h/30 days)"),
    "largest_crews": ("最大区域の班数", "Largest region's crews"),
    "firms_able": ("担える地元事業者数", "Local firms able"),
    "within_capacity": ("地元で受注可能", "Within local capacity"),
    "not_possible": ("不可", "Not possible"),
    "survey": ("アンケート", "Survey"),
    "survey_intro": (
        "このリンクはあなた専用です。回答は何度でも修正できます。",
        "This link is yours alone. You can change your answers at any time.",
    ),
    "submit": ("送信", "Submit"),
    "saved": ("保存しました", "Saved"),
    "required": ("必須", "required"),
    "no_frontier": ("まだ計算されていません", "Not computed yet"),
    "enter_in_page": ("画面で入力", "Enter in the page"),
    "actual": ("現状", "Actual"),
    "ideal": ("理想", "Ideal"),
    "save": ("保存", "Save"),
    "add_order": ("発注を追加", "Add an order"),
    "department": ("担当部署", "Department"),
    "cost_yen": ("年間発注額（円）", "Yearly cost (yen)"),
    "firms": ("受注者（;区切り）", "Firms (; separated)"),
    "bundled": ("包括化済み", "Already bundled"),
    "failed_tenders": ("不調・不落", "Failed tenders"),
    "tenders": ("入札件数", "Tenders"),
    "add": ("追加", "Add"),
}


def wb_labels(lang: Lang) -> dict[str, str]:
    """The page labels of `service.i18n` with the workbench labels, in ``lang``."""
    idx = 0 if check_lang(lang) == "ja" else 1
    return {**labels(lang), **{k: v[idx] for k, v in WORKBENCH_LABELS.items()}}
