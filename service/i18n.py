"""Japanese and English labels of the maps and pages (``lang`` is ``"ja"`` or ``"en"``)."""

from __future__ import annotations

import datetime as dt
from typing import Final, Literal, cast
from zoneinfo import ZoneInfo

from gis_data.network.export import ExportWords
from gis_data.workbench.ja_format import date_ja

Lang = Literal["ja", "en"]
LANGS: Final = ("ja", "en")

# Attribution texts required by the data licences (see ../shared/data/SOURCES.md).
OSM_ATTRIBUTION: Final = "© OpenStreetMap contributors"
OSM_COPYRIGHT_URL: Final = "https://www.openstreetmap.org/copyright"
MLIT_N03_ATTRIBUTION: Final = "出典：国土数値情報（行政区域データ）（国土交通省）を加工して作成"

# key -> (Japanese, English)
_LABELS: Final[dict[str, tuple[str, str]]] = {
    "app_title": ("群マネ 維持管理計画", "Gunmane bundled maintenance planning"),
    "plan_map": ("計画図", "Plan map"),
    "regions": ("契約区域", "Contract regions"),
    "region": ("区域", "Region"),
    "routes": ("巡回ルート", "Patrol routes"),
    "route": ("ルート", "Route"),
    "depots": ("拠点", "Depots"),
    "depot": ("拠点", "Depot"),
    "towns": ("自治体", "Municipalities"),
    "town": ("自治体", "Municipality"),
    "assets": ("施設", "Assets"),
    "legend": ("凡例", "Legend"),
    "field_road": ("道路", "Road"),
    "field_river": ("河川", "River"),
    "field_park": ("公園", "Park"),
    "field_sewer": ("下水道", "Sewer"),
    "field_other": ("その他", "Other"),
    "fields": ("分野", "Fields"),
    "daily_route": ("本日の巡回ルート", "Today's patrol route"),
    "crew": ("班", "Crew"),
    "date": ("日付", "Date"),
    "steps": ("行程", "Steps"),
    "step": ("No.", "No."),
    "serve": ("巡回", "Patrol"),
    "deadhead": ("移動", "Drive"),
    "street": ("路線・施設", "Street / asset"),
    "length": ("距離", "Length"),
    "time": ("時間", "Time"),
    "total": ("合計", "Total"),
    "km": ("km", "km"),
    "min": ("分", "min"),
    "download_gpx": ("GPX をダウンロード（トラック）", "Download GPX (track)"),
    "download_kml": ("KML をダウンロード", "Download KML"),
    "unnamed": ("（名称なし）", "(unnamed)"),
    "planner": ("区域づくり", "Region planner"),
    "planner_help": (
        "区域番号を選び、地図上で区域を描くか自治体をクリックして割り当て、「評価」を押してください。",
        "Pick a region number, then draw regions on the map or click municipalities to assign them,"
        " and press Evaluate.",
    ),
    "current_region": ("割り当てる区域", "Assign to region"),
    "evaluate": ("評価", "Evaluate"),
    "clear_plan": ("消去", "Clear"),
    "drawn_plan": ("作成した案", "Your plan"),
    "optimized_plan": ("最適化案", "Optimized plan"),
    "figure": ("指標", "Figure"),
    "evaluating": ("評価中…", "Evaluating…"),
    "evaluation_failed": ("評価できませんでした", "Evaluation failed"),
    "nothing_drawn": (
        "区域を描くか自治体を選んでください",
        "Draw a region or click a municipality first",
    ),
    "compare": ("シナリオ比較", "Scenarios side by side"),
    "export_bundled": ("群マネ（一括）", "bundled"),
    "scenario": ("シナリオ", "Scenario"),
    "n_regions": ("区域数", "Regions"),
    "balance": ("作業量の均衡（最大／最小）", "Workload balance (max / min)"),
    "max_deviation_pct": ("平均からの最大乖離（%）", "Max deviation from mean (%)"),
    "contiguous": ("区域の連続性", "Contiguous regions"),
    "compactness": ("まとまり（Polsby-Popper 平均）", "Compactness (mean Polsby-Popper)"),
    "cut_edges": ("区域境界をまたぐ道路区間", "Road links cut by borders"),
    "patrol_hours": (
        "巡回時間（区域ごとのルート計算、時間／周期）",
        "Patrol time (routed per region, h per cycle)",
    ),
    "effect_vs_siloed_pct": ("自治体別と比べた削減（%）", "Saving vs each town alone (%)"),
    "patrol_km": (
        "巡回の走行距離（区域ごとのルート計算、km／周期）",
        "Patrol distance (routed per region, km per cycle)",
    ),
    "alone_hours": ("各自治体単独の巡回時間（時間／周期）", "Each town alone (h per cycle)"),
    "saving_hours": ("自治体別と比べた削減（時間）", "Saving vs each town alone (h)"),
    "saving_km": ("自治体別と比べた削減（km）", "Saving vs each town alone (km)"),
    "routing_plan": ("区域ごとにルート計算中", "Routing each region"),
    "routing_optimized": ("最適化案をルート計算中", "Routing the plan compared with"),
    "routing_done": ("ルート計算済み", "Routed"),
    "routing_failed": ("ルート計算できませんでした", "Routing failed"),
    "eval_routing_region": (
        "区域 {region} はルート計算できません。拠点から 1 日の勤務時間内に届かない作業があります。",
        "Region {region} cannot be routed: its depot cannot reach some of its work within a shift.",
    ),
    "eval_routing_alone": (
        "{town} 単独のルート計算ができないため、削減は計算していません。",
        "{town} alone cannot be routed, so no saving is computed.",
    ),
    # The depot chosen per region on the planner page (POST /plans/evaluate "depots").
    "region_depots": ("区域ごとの拠点", "Depot of each region"),
    "region_depot": ("区域 {region} の拠点", "Depot of region {region}"),
    "depot_auto": (
        "自動（地域内の車庫、なければ最寄り）",
        "Automatic (a yard in the region, else the nearest)",
    ),
    "depot_auto_short": ("自動", "automatic"),
    # Storing a drawn plan on the planner page (POST /plans/drawn), depots and all.
    "plan_name": ("案の名前", "Plan name"),
    "save_plan": ("この案を保存", "Save this plan"),
    "plan_saved": ("保存しました：{name}", "Saved: {name}"),
    "save_failed": ("保存できませんでした", "Could not save"),
    "depot_kind_contractor": ("事業者の車庫", "Contractor yards"),
    "depot_kind_town": ("自治体の車庫", "Town depots"),
    "depot_unknown": (
        "区域 {region} の拠点 {depot} はこのシナリオにありません。",
        "Region {region}: depot {depot} is not in this scenario.",
    ),
    "ogc_crs_unsupported": (
        "{name}={value} には対応していません。指定できる座標参照系: {values}",
        "{name}={value} is not supported; use one of: {values}",
    ),
    "ogc_bbox_outside_crs": (
        "bbox={bbox} は {crs} の座標として経緯度に換算できません"
        "（平面直角座標系では X（北）, Y（東）の順、単位メートル）。",
        "bbox={bbox} does not convert to longitude and latitude as coordinates of {crs}"
        " (plane rectangular zones take X (north), Y (east) in metres).",
    ),
    # Every other OGC API - Features / Processes error (service/ogc, service/api/jobs.py):
    # Japanese by default, English on Accept-Language: en (service.errors.accept_lang).
    "ogc_param_twice": (
        "パラメータ {name} が 2 回以上指定されています",
        "parameter {name!r} is given twice",
    ),
    "ogc_unknown_params": (
        "使えないクエリパラメータがあります: {unknown}（使えるもの: {allowed}）",
        "unknown query parameter(s): {unknown}; allowed: {allowed}",
    ),
    "ogc_format": (
        "f={value} には対応していません（json のみ）",
        "f={value!r}: only json is offered",
    ),
    "ogc_not_integer": (
        "{name}={value} は整数ではありません",
        "{name}={value!r} is not an integer",
    ),
    "ogc_below_minimum": (
        "{name}={value} は {minimum} 以上にしてください",
        "{name}={value} is below {minimum}",
    ),
    "ogc_datetime_format": (
        "datetime {value} は RFC 3339 の日時ではありません"
        "（例: 2026-04-01、2026-04-01T09:00:00Z、2026-04-01/2026-04-30）",
        "datetime {value!r} is not RFC 3339"
        " (e.g. 2026-04-01, 2026-04-01T09:00:00Z, 2026-04-01/2026-04-30)",
    ),
    "ogc_datetime_order": (
        "datetime {value}: 開始が終了より後です",
        "datetime {value!r}: start after end",
    ),
    "ogc_bbox_not_numbers": ("bbox={bbox} が数値ではありません", "bbox={bbox!r} is not numbers"),
    "ogc_bbox_count": (
        "bbox={bbox} には 4 つまたは 6 つの数値が必要です",
        "bbox={bbox!r} needs 4 or 6 numbers",
    ),
    "ogc_bbox_corners": (
        "bbox={bbox}: 隅の順序が逆です（小さい値を先に）",
        "bbox={bbox!r}: corners out of order",
    ),
    "ogc_bbox_crs_alone": (
        "bbox-crs が bbox なしで指定されています",
        "bbox-crs is given without bbox",
    ),
    "ogc_bbox_latitudes": (
        "bbox={bbox}: 緯度の順序か範囲（-90〜90）が正しくありません",
        "bbox={bbox!r}: latitudes out of order or range",
    ),
    "ogc_bbox_longitudes": (
        "bbox={bbox}: 経度が範囲（-180〜180）の外です",
        "bbox={bbox!r}: longitudes out of range",
    ),
    "ogc_no_collection": (
        "コレクション {collection} はありません（あるもの: {collections}）",
        "collection {collection!r} not found (collections: {collections})",
    ),
    "ogc_no_feature": (
        "{collection} に地物 {feature} はありません",
        "feature {feature!r} not found in {collection}",
    ),
    "ogc_no_process": ("プロセス {process} はありません", "process {process!r} not found"),
    "job_not_found": ("ジョブ {job} はありません", "job {job} not found"),
    "scenario_not_found": ("シナリオ {scenario} はありません", "scenario {scenario} not found"),
    "ogc_scenario_required": ("inputs.scenario_id は必須です", "inputs.scenario_id is required"),
    "ogc_scenario_id_int": (
        "inputs.scenario_id は整数にしてください",
        "inputs.scenario_id must be an integer",
    ),
    "ogc_job_accepted": ("ジョブはまだ開始していません", "the job has not started yet"),
    "ogc_job_running": ("ジョブは実行中です", "the job is still running"),
    "ogc_job_failed": ("ジョブは失敗しました: {message}", "the job failed: {message}"),
    "ogc_job_dismissed": ("ジョブは取り消されました", "the job was dismissed"),
    "ogc_job_no_result": ("このジョブに結果はありません", "no result"),
    # A bad process input (400 invalid-inputs), by pydantic's error type; others: ogc_input_other.
    "ogc_input_missing": ("必須です", "required"),
    "ogc_input_extra_forbidden": ("このプロセスにない入力です", "not an input of this process"),
    "ogc_input_int_type": ("整数にしてください", "must be an integer"),
    "ogc_input_float_type": ("数値にしてください", "must be a number"),
    "ogc_input_string_type": ("文字列にしてください", "must be a string"),
    "ogc_input_bool_type": ("true か false にしてください", "must be true or false"),
    "ogc_input_dict_type": ("オブジェクト（{{…}}）にしてください", "must be an object ({{…}})"),
    "ogc_input_list_type": ("配列（[…]）にしてください", "must be a list ([…])"),
    "ogc_input_greater_than": ("{gt} より大きくしてください", "must be greater than {gt}"),
    "ogc_input_greater_than_equal": ("{ge} 以上にしてください", "must be at least {ge}"),
    "ogc_input_less_than": ("{lt} 未満にしてください", "must be less than {lt}"),
    "ogc_input_less_than_equal": ("{le} 以下にしてください", "must be at most {le}"),
    "ogc_input_string_too_long": (
        "{max_length} 文字以内にしてください",
        "at most {max_length} characters",
    ),
    "ogc_input_too_short": ("{min_length} 個以上必要です", "needs at least {min_length} item(s)"),
    "ogc_input_literal_error": ("次のいずれかにしてください: {expected}", "must be {expected}"),
    "ogc_input_other": ("値が正しくありません（{msg}）", "{msg}"),
    "depot_unknown_region": (
        "拠点 {depot} を選んだ区域 {region} はこの案にありません。",
        "Region {region} (given depot {depot}) is not a region of this plan.",
    ),
    "size_ok": ("地元企業の規模に収まる", "Sized for local firms"),
    "unassigned": ("未割当", "Unassigned"),
    "workload_hours": ("作業量（時間）", "Workload (h)"),
    "yes": ("はい", "yes"),
    "no": ("いいえ", "no"),
    "not_available": ("—", "—"),
    "patrol_log": ("巡回記録", "Patrol log"),
    "coverage": ("実施率", "Coverage"),
    "covered": ("実施済", "Covered"),
    "missed": ("未実施", "Missed"),
    "first_visit": ("最初の通過", "First passed"),
    "upload": ("登録", "Upload"),
    "track": ("GPS 軌跡", "GPS track"),
    "contract_intervals": ("契約の巡回頻度", "Contract patrol intervals"),
    "as_of": ("時点", "As of"),
    "visited": ("巡回済", "Visited"),
    "overdue": ("期限超過", "Overdue"),
    "interval_days": ("頻度（日）", "Interval (days)"),
    "last_visit": ("最終巡回", "Last visit"),
    "days_since": ("経過日数", "Days since"),
    "region_logs": ("巡回記録", "Patrol logs"),
    "planned_route": ("計画ルート", "Planned route"),
    "task": ("作業", "Task"),
    "period": ("期間", "Period"),
    "uploaded_at": ("登録日時", "Uploaded"),
    "file": ("ファイル", "File"),
    "upload_help": (
        "本日の巡回の GPS 記録（GPX）を登録すると、計画に対する実施率が記録されます。",
        "Upload today's GPS track (GPX): its coverage of the plan is recorded.",
    ),
    "upload_failed": ("登録できませんでした", "Upload failed"),
    "uploading": ("登録中…", "Uploading…"),
    "language": ("English", "日本語"),
    "index_intro": (
        "複数自治体・複数分野の維持管理をまとめて計画します。",
        "Plan the maintenance of several towns and fields as one bundle.",
    ),
    "api_docs": ("API 仕様（OpenAPI）", "API reference (OpenAPI)"),
    "ogc_features": ("OGC API - Features", "OGC API - Features"),
    "plans": ("計画", "Plans"),
    "contractor_routes": ("受注者の巡回ルート", "Contractor routes"),
    "no_data": ("データがありません", "No data"),
    "workbench": ("検討ワークベンチ", "Planner's workbench"),
    "sign_in": ("ログイン", "Sign in"),
    "sign_out": ("ログアウト", "Sign out"),
    "sign_in_failed": ("API キーが正しくありません", "The API key is not valid"),
    "api_key": ("API キー", "API key"),
    "tiles_off": (
        "背景地図は表示していません（設定 TILE_URL）。区域・ルート・施設はそのまま表示されます。",
        "No background map (setting TILE_URL): regions, routes and assets are drawn as usual.",
    ),
    "tiles_failed": (
        "背景地図を読み込めません（ネットワーク）。区域・ルート・施設はそのまま表示されます。",
        "The background map cannot be loaded (network): regions, routes and assets are drawn as"
        " usual.",
    ),
    "error_status": ("エラー", "Error"),
    "error_title_401": ("ログインが必要です", "Please sign in"),
    "error_what_401": (
        "このページを開くには API キーでのログインが必要です。ログインの有効期限が切れたか、"
        "リンクのキーが正しくありません。",
        "This page needs a sign-in with an API key: the sign-in has expired or the key in the link"
        " is not valid.",
    ),
    "error_todo_401": (
        "配布された API キーを入力してください。"
        "キーが分からないときは担当の職員に確認してください。",
        "Enter the API key you were given. If you do not know it, ask the town's staff in charge.",
    ),
    "error_title_403": ("このページを開く権限がありません", "You may not open this page"),
    "error_what_403": (
        "ログイン中の API キーでは、このページや操作は使えません（役割または担当区域が違います）。",
        "The API key you signed in with does not allow this page or action (another role or"
        " region).",
    ),
    "error_todo_403": (
        "権限のあるキーでログインし直すか、担当の職員に確認してください。",
        "Sign in with a key that allows it, or ask the town's staff in charge.",
    ),
    "error_title_404": ("ページが見つかりません", "Page not found"),
    "error_what_404": (
        "お探しのページまたはデータはありません。削除されたか、リンクが古い可能性があります。",
        "The page or data you asked for does not exist: it may have been deleted, or the link is"
        " old.",
    ),
    "error_todo_404": (
        "スタートページから開き直してください。",
        "Open it again from the start page.",
    ),
    "error_title_422": ("入力内容を確認してください", "Please check the request"),
    "error_what_422": (
        "ページのアドレスまたは入力した内容に誤りがあります。",
        "The page address or the values entered are not valid.",
    ),
    "error_todo_422": (
        "下の詳細を確認して入力し直すか、スタートページから開き直してください。",
        "Check the details below and try again, or open the page again from the start page.",
    ),
    "error_title_500": ("サーバーで問題が発生しました", "Something went wrong on the server"),
    "error_what_500": (
        "処理の途中でサーバーにエラーが起きました。データベースが一時的に使えない場合もあります。",
        "The server failed while handling the request; the database may be briefly unavailable.",
    ),
    "error_todo_500": (
        "少し待ってからもう一度開いてください。"
        "続くときは、この画面の時刻とともにシステム担当者に連絡してください。",
        "Wait a moment and open it again. If it keeps happening, tell your system administrator"
        " the time shown here.",
    ),
    "error_details": ("詳細（システム担当者向け）", "Details (for the administrator)"),
    "error_time": ("発生時刻", "Time"),
    "back_to_start": ("スタートページへ", "Go to the start page"),
    "routed_day_hours": ("ルート計算した 1 日の巡回時間（時間）", "Routed day: patrol hours"),
    "routed_day_km": ("ルート計算した 1 日の走行距離（km）", "Routed day: km driven"),
    "help_routed_day_hours": (
        "巡回ルート計画で計算した 1 日分の全班の時間の合計。",
        "All crews' hours of the routed day of a routes plan.",
    ),
    "help_routed_day_km": (
        "巡回ルート計画で計算した 1 日分の全班の走行距離の合計。",
        "All crews' km of the routed day of a routes plan.",
    ),
    "routed_gap_pct": ("下限との差（%）", "Above the floor (%)"),
    "help_routed_gap_pct": (
        "この日のルートの時間が、同じ作業をどう組んでも下回れない下限（計算で証明した値）を何%上回るか。"
        "小さいほど、ルートを組み直しても縮む余地は少ない。",
        "How far this day's routed time is above a floor no routing of the same work can beat"
        " (a proved lower bound): the smaller, the less any other routing could save.",
    ),
    "not_comparable": (
        "比較できない計画（区域・ルート計画以外）",
        "Not comparable (neither a regions nor a routes plan)",
    ),
    "plan_kind_regions": ("区域割り", "Regions"),
    "plan_kind_routes": ("巡回ルート", "Routes"),
    "plan_kind_summary": ("集計", "Summary"),
    "plan_kind_calendar": ("巡回カレンダー", "Calendar"),
    "plan_kind_effects": ("効果試算", "Effects"),
    "plan_kind_cost_shares": ("費用分担", "Cost shares"),
    "plan_kind_frontier": ("契約数の検討", "Contracts frontier"),
    "plan_kind_replan": ("再計画", "Re-plan"),
    "export_from": ("（{depot} 発）", "from {depot}"),
    "export_summary": (
        "作業 {tasks} 件、{km:.1f} km、{hours:.2f} 時間",
        "{tasks} tasks, {km:.1f} km, {hours:.2f} h",
    ),
    "checked_by_hand": ("手動チェック", "Ticked by hand"),
    "tick_done": ("済", "Done"),
    "tick_note": ("メモ（任意）", "Note (optional)"),
    "tick_save": ("記録", "Save"),
    "tick_photo": ("写真を撮る（任意）", "Take a photo (optional)"),
    "photo": ("写真", "Photo"),
    "photo_not_image": (
        "{name}: 写真として読めません。JPEG・PNG・HEIC の画像を選んでください",
        "{name}: not a photo; choose a JPEG, PNG or HEIC image",
    ),
    "photo_too_large": (
        "{name}: 写真が大きすぎます（上限 {mb} MB）",
        "{name}: the photo is larger than {mb} MB",
    ),
    "photo_no_preview": (
        "この写真（{kind}）はプレビューを作れません。元のファイルを開いてください",
        "no preview can be made of this photo ({kind}); open the original file",
    ),
    "photo_original": ("写真（元のファイル）", "Photo (original file)"),
    "ticked_at": ("確認済", "Checked"),
    "body_missing": ("{field}: 必須です", "{field}: required"),
    "body_too_long": (
        "{field}: {limit} 文字以内にしてください",
        "{field}: at most {limit} characters",
    ),
    "body_not_text": ("{field}: 文字列で送ってください", "{field}: must be a string"),
    "body_unknown_field": (
        "{field}: 使えない項目です（送れるのは task_id と note。写真は multipart/form-data で）",
        "{field}: unknown field (only task_id and note; a photo needs a multipart/form-data body)",
    ),
    "body_photo_not_file": ("photo: ファイルとして送ってください", "photo: must be a file"),
    "body_not_json": (
        "本文が JSON として読めません（{error}）",
        "the body is not valid JSON ({error})",
    ),
    "body_not_object": (
        '本文は JSON のオブジェクト（{{"task_id": …}}）にしてください',
        'the body must be a JSON object ({{"task_id": …}})',
    ),
    "body_too_large": ("本文が大きすぎます（上限 {kb} KB）", "the body is larger than {kb} KB"),
    "body_media_type": (
        "Content-Type {media_type} には対応していません。"
        "application/json または multipart/form-data で送ってください",
        "Content-Type {media_type} is not supported; send application/json or multipart/form-data",
    ),
    "bank_walk": ("河川巡視（徒歩）", "Bank walk"),
    "unnamed_road": ("道路（名称なし）", "Unnamed road"),
    "export_title": ("巡回ルート {day} 班 {crew}", "Patrol route {day}, crew {crew}"),
    "export_description": (
        "群マネで計画した巡回ルート。地図データ {attribution}（{url}）",
        "Patrol routes planned by gunmane. Map data {attribution}, {url}",
    ),
    # Asset kinds (gis_data.loading.schema.KNOWN_KINDS): a stop without a name of its own is
    # called by its kind and the town's asset id.
    "kind_road_segment": ("道路", "Road"),
    "kind_river_bank": ("河川", "River bank"),
    "kind_drain": ("水路", "Drain"),
    "kind_park": ("公園", "Park"),
    "kind_playground": ("遊具", "Playground"),
    "kind_recreation_ground": ("広場", "Recreation ground"),
    "kind_bridge": ("橋梁", "Bridge"),
    "kind_tunnel": ("トンネル", "Tunnel"),
    "kind_sign": ("道路標識", "Sign"),
    "kind_light": ("道路照明", "Street light"),
    "kind_pipe": ("管路", "Pipe"),
    "kind_pump_station": ("ポンプ場", "Pump station"),
    "kind_treatment_plant": ("処理場", "Treatment plant"),
    "period_help": (
        "契約開始から、または最後の巡回から 1 周期を過ぎたものを超過とします",
        "overdue once a full interval has passed since the contract start or the last visit",
    ),
    "hours_minutes": ("{h} 時間 {m} 分", "{h} h {m} min"),
    "direction": ("進行方向", "Direction"),
    "stops": ("立ち寄り先", "Stops"),
    "stop": ("立ち寄り", "Stop"),
    "stop_explained": (
        "① ② … = 立ち寄り先（公園・橋・河川の点検箇所など、順番どおり）",
        "1, 2, … = stops (parks, bridges, river checks), in order",
    ),
    "start_end": ("出発・到着", "Start and end"),
    "start": ("出発", "Start"),
    "end": ("到着", "End"),
    "start_and_end": ("出発・到着", "Start and end"),
    "start_mark": ("S", "S"),
    "end_mark": ("G", "E"),
    "day_summary": ("本日の予定", "Today"),
    "choose_gpx": ("GPX を選ぶ", "Choose GPX"),
    "eval_errors": ("この案は評価できません", "This plan cannot be scored"),
    "k_regions": ("区域数", "Number of regions"),
    "help_n_regions": ("作業が割り当てられた区域の数。", "Regions that have work assigned."),
    "help_balance": (
        "最も作業量の多い区域と少ない区域の比。1.0 が完全に均等。",
        "Workload of the busiest region over the lightest: 1.0 is perfectly even.",
    ),
    "help_max_deviation_pct": (
        "区域の作業量が平均から最も離れている割合。",
        "How far the region furthest from the mean workload is from it, in percent.",
    ),
    "help_contiguous": (
        "どの区域も道路でつながった一続きか（飛び地がないか）。",
        "Whether every region is one connected piece (no islands).",
    ),
    "help_compactness": (
        "区域の形のまとまり（円に近いほど 1）。細長い区域は移動が長くなります。",
        "How round the regions are (1 = a circle): long thin regions mean long drives.",
    ),
    "help_cut_edges": (
        "区域の境界で分断される道路区間の数。少ないほど巡回が区域内で完結します。",
        "Road links split by region borders: fewer means patrols stay inside their region.",
    ),
    "help_patrol_hours": (
        "各区域の全作業を 1 回ずつ、区域の拠点からルート計算した全班の時間の合計。計算前は —。",
        "All crews' hours when each region's work is routed once from its depot; — until routed.",
    ),
    "help_patrol_km": (
        "各区域の全作業を 1 回ずつ、区域の拠点からルート計算した走行距離の合計。",
        "Kilometres driven when each region's work is routed once from its depot.",
    ),
    "help_alone_hours": (
        "各自治体が自分の作業を自分の拠点から単独で巡回した場合の時間（同じ設定でルート計算）。",
        "Hours when each town patrols its own work from its own depot (same routing settings).",
    ),
    "help_saving_hours": (
        "各自治体単独の巡回時間から、この案の巡回時間を引いたもの。マイナスは増加。",
        "Each town alone minus this plan, in crew hours; negative means more time.",
    ),
    "help_saving_km": (
        "各自治体単独の走行距離から、この案の走行距離を引いたもの。マイナスは増加。",
        "Each town alone minus this plan, in km driven; negative means more driving.",
    ),
    "help_effect_vs_siloed_pct": (
        "各自治体が自分の拠点から単独で巡回する場合と比べた時間の削減（同じ設定でルート計算）。",
        "Time saved against each town patrolling alone from its own depot, routed alike.",
    ),
    "help_size_ok": (
        "どの区域も地元企業が担える規模（作業量・距離・班数の上限）に収まるか。",
        "Whether every region stays within what a local firm can carry.",
    ),
    "help_unassigned": (
        "どの区域にも入っていない作業単位の数。0 でなければ評価できません。",
        "Work units in no region: the plan is scored only when this is 0.",
    ),
    "help_workload_hours": (
        "区域内の点検・巡回・除草などの作業時間の合計（1 周期）。",
        "The region's inspection, patrol and weeding hours per cycle.",
    ),
    "eval_towns_and_drawn": (
        "自治体のクリックと図形の描画が混在しています。どちらか一方で区域を作ってください。",
        "Towns were clicked and regions drawn: make the regions one way or the other.",
    ),
    "eval_overlap": (
        "区域 {a} と区域 {b} の図形が重なっています（{ha} ha）。重なりをなくしてください。",
        "Regions {a} and {b} overlap ({ha} ha): redraw them without the overlap.",
    ),
    "eval_double": (
        "{n} 件の作業単位が複数の区域に入っています（区域 {regions}）。",
        "{n} work units are in more than one region (regions {regions}).",
    ),
    "eval_drawn_empty": (
        "区域 {region} の図形には作業がありません（自治体の外に描かれています）。",
        "Region {region} is drawn where there is no work (outside the towns).",
    ),
    "eval_region_empty": (
        "区域 {regions} に何も割り当てられていません（区域数 {k}）。",
        "Nothing is assigned to region {regions} (of {k} regions).",
    ),
    "eval_unassigned": (
        "{n} 件の作業単位がどの区域にも入っていません。全域を区域に含めてください。",
        "{n} work units are in no region: cover all the work.",
    ),
    # Stored patrol days (service/api/patrol_day_pages.py).
    "patrol_days": ("巡回予定", "Patrol days"),
    "todays_routes": ("本日の巡回", "Today's patrols"),
    "day_routes": ("巡回ルート", "Routes of the day"),
    "week_view": ("週間予定", "Week"),
    "month_view": ("月間予定", "Month"),
    "day_view": ("日", "Day"),
    "prev": ("← 前", "← Previous"),
    "next": ("次 →", "Next →"),
    "show": ("表示", "Show"),
    "hours": ("時間", "Hours"),
    "status": ("状況", "Status"),
    "status_planned": ("予定", "planned"),
    "status_done": ("実施済", "done"),
    "status_partly_done": ("一部実施", "partly done"),
    "status_re_planned": ("再計画", "re-planned"),
    "status_unavailable": ("中止", "unavailable"),
    "status_off": ("休み", "day off"),
    "status_no_routes": ("ルートなし", "no routes"),
    "changed": ("変更", "Changed"),
    "added": ("追加", "added"),
    "removed": ("取消", "removed"),
    "version": ("版", "Version"),
    "reason_rain": ("雨天", "rain"),
    "reason_disaster": ("災害対応", "disaster call-out"),
    "reason_sick": ("病欠", "sick leave"),
    "reason_vehicle": ("車両故障", "vehicle breakdown"),
    "reason_other": ("その他", "other"),
    "weekdays": ("月火水木金土日", "MoTuWeThFrSaSu"),
    "no_patrol_today": ("この日の巡回はありません", "No patrol on this day"),
    "mark_unavailable": (
        "この日を中止にする（雨天・災害対応・病欠）",
        "Mark unavailable (rain, disaster, sick)",
    ),
    "save": ("保存", "Save"),
    "all_crews": ("全班", "All crews"),
    "note": ("メモ", "Note"),
    "mark_saved": (
        "登録しました。次の再計画で作業が移ります。",
        "Saved: the next re-plan moves the work.",
    ),
    "mark_failed": ("登録できませんでした", "Could not save"),
    "new_scenario": ("新しいシナリオを作成（データの登録）", "New scenario (bring your data)"),
    "edit_scenario": ("データ", "Data"),
    "policy_report": ("実施方針", "Implementation policy (ja)"),
    "month_calendar": ("月間計画", "month"),
}


def check_lang(lang: str) -> Lang:
    """Return ``lang`` as a :data:`Lang`, or raise ValueError naming the bad value."""
    if lang not in LANGS:
        msg = f"lang must be one of {', '.join(LANGS)}, got {lang!r}"
        raise ValueError(msg)
    return cast("Lang", lang)


def t(key: str, lang: Lang) -> str:
    """The label ``key`` in ``lang``; raises KeyError naming an unknown key."""
    try:
        ja, en = _LABELS[key]
    except KeyError:
        msg = f"no label {key!r} in service.i18n"
        raise KeyError(msg) from None
    return ja if check_lang(lang) == "ja" else en


def labels(lang: Lang) -> dict[str, str]:
    """Every label in ``lang`` (handed to page scripts as JSON)."""
    return {key: t(key, lang) for key in _LABELS}


def other_lang(lang: Lang) -> Lang:
    """The language a page's language switch links to."""
    return "en" if lang == "ja" else "ja"


def format_time(
    value: dt.datetime | str | None,
    *,
    lang: Lang,
    zone: str = "Asia/Tokyo",
    era: bool = False,
) -> str:
    """A time as every page shows it: in the town's zone, to the minute, ``2026-04-01 17:48``.

    ``era`` writes the date of a Japanese page as 令和8年4月1日. Stored times without a zone are
    UTC (the database keeps UTC); ``None`` or "" is a dash.
    """
    if value is None or value == "":
        return t("not_available", lang)
    stamp = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    local = stamp.astimezone(ZoneInfo(zone))
    day = date_ja(local.date()) if era and lang == "ja" else local.strftime("%Y-%m-%d")
    return f"{day} {local:%H:%M}"


def export_words(lang: Lang) -> ExportWords:
    """GPX/KML names in the crew's language (their phone's map app shows them)."""
    return ExportWords(
        crew=t("crew", lang),
        start_from=t("export_from", lang),
        summary=t("export_summary", lang),
        stop=t("stop", lang),
        description=t("export_description", lang),
    )
