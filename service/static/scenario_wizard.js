// The scenario wizard (/scenarios/new, /scenarios/{id}/edit): a client of the gunmane API.
// The session cookie authenticates; X-Requested-With marks each write as the page's own (the
// CSRF rule of service/browser_keys.py). Every text comes from the page's catalogue (cfg.labels);
// errors are shown in the page, in the page's language, never as raw JSON.
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("wizard-config").textContent);
  var L10N = cfg.labels, API = cfg.api, scenario = cfg.scenario;
  var HEADERS = { "Accept": "application/json", "X-Requested-With": "gunmane" };
  var ENCODINGS = ["", "utf-8", "cp932", "euc-jp", "latin-1"];

  function $(id) { return document.getElementById(id); }
  function tr(key) { return L10N[key] !== undefined ? L10N[key] : key; }
  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (m, k) { return values[k] !== undefined ? values[k] : m; });
  }
  function el(tag, text, attrs) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }
  function option(select, value, text, selected) {
    var o = el("option", text, { value: value });
    if (selected) o.selected = true;
    select.appendChild(o);
  }

  // -- messages and errors ---------------------------------------------------------------------
  function say(box, text, ok) {
    var node = $(box);
    node.textContent = text || "";
    node.className = "msg" + (text ? (ok ? " ok" : " error") : "");
  }
  function sayError(box, error) {
    var node = $(box);
    node.className = "msg error";
    node.textContent = error.message;
    if (error.detail) node.appendChild(el("span", error.detail, { "class": "detail" }));
    if (error.problems && error.problems.length) report(error.problems);
  }
  // An API answer that is not 2xx, as a message in the page's language (+ the server's detail).
  function apiError(status, body) {
    var code = (body && body.code) || "";
    var key = "wz_err_" + code.replace(/-/g, "_");
    var message = L10N[key] !== undefined ? L10N[key] : fill(tr("wz_err_generic"), { status: status });
    var details = body && body.details;
    var problems = Array.isArray(details) && details.length && details[0].message !== undefined
      && details[0].location === undefined ? details : null;
    var detail = body && typeof body.detail === "string" ? body.detail : "";
    if (code === "invalid-request" && Array.isArray(details)) {
      detail = details.map(function (d) { return (d.location || []).slice(1).join(".") + ": " + d.message; }).join("; ");
    }
    if (code === "missing-boundaries" && details && details.missing_codes) {
      message = fill(tr("wz_err_missing_boundaries"), { codes: details.missing_codes.join(", ") || "-" });
    }
    if (problems) message += " " + fill(tr("wz_err_problems"), { n: problems.length });
    return { message: message, detail: detail, problems: problems };
  }
  function call(method, path, body, isJson) {
    var headers = Object.assign({}, HEADERS);
    var init = { method: method, headers: headers, credentials: "same-origin" };
    if (body !== undefined) {
      if (isJson) { headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
      else init.body = body;
    }
    return fetch(API + path, init).catch(function () {
      throw { message: tr("wz_err_unreachable"), detail: "" };
    }).then(function (r) {
      if (r.status === 204) return null;
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) throw apiError(r.status, data);
        return data;
      });
    });
  }
  function busy(button, on) { $(button).disabled = on; }

  // -- the validation report (file, feature, field, message) ------------------------------------
  function report(problems) {
    var tbody = $("report") && $("report").querySelector("tbody");
    if (!tbody) return;
    problems.forEach(function (p) {
      var row = el("tr");
      [p.file, p.feature, p.field, p.message].forEach(function (v) {
        row.appendChild(el("td", v === null || v === undefined ? "" : v));
      });
      var severity = p.severity === "warning" ? "wz_warning" : "wz_error";
      row.appendChild(el("td", tr(severity), { "class": "severity-" + (p.severity || "error") }));
      tbody.appendChild(row);
    });
    $("report").hidden = !tbody.children.length;
    $("report-empty").hidden = !!tbody.children.length;
  }

  // -- the map ---------------------------------------------------------------------------------
  var map = L.map("wizard-map", { center: [36.2, 138.5], zoom: 5 });
  document.getElementById("wizard-map").leafletMap = map;  // for scripts driving the page
  (function tiles() {
    var note = $("tiles-note");
    function off(text) { note.textContent = text; note.hidden = false; }
    if (!cfg.tiles.url) { off(tr("tiles_off")); return; }
    var layer = L.tileLayer(cfg.tiles.url, { maxZoom: cfg.tiles.maxZoom, attribution: cfg.tiles.attribution });
    layer.once("tileerror", function () { off(tr("tiles_failed")); });
    layer.addTo(map);
  })();
  var townLayer = L.geoJSON(null, {
    style: { color: "#37474f", weight: 2, fillColor: "#90a4ae", fillOpacity: 0.15 },
    onEachFeature: function (f, layer) { layer.bindTooltip(f.properties.name + " (" + f.properties.code + ")"); }
  }).addTo(map);
  // The stored assets (roads as lines), read from OGC API - Features with the same cookie.
  var assetLayer = L.geoJSON(null, {
    style: function (f) { return { color: f.properties.field === "road" ? "#546e7a" : "#2e7d32", weight: 3, opacity: 0.8 }; },
    pointToLayer: function (f, latlng) { return L.circleMarker(latlng, { radius: 4, color: "#2e7d32" }); },
    onEachFeature: function (f, layer) { if (f.properties.name) layer.bindTooltip(String(f.properties.name)); }
  }).addTo(map);
  var cutLayer = L.layerGroup().addTo(map);
  var depotLayer = L.layerGroup().addTo(map);
  var boundaries = { type: "FeatureCollection", features: [] };

  function drawTowns(fc) {
    boundaries = fc;
    townLayer.clearLayers();
    townLayer.addData(fc);
    if (fc.features.length) map.fitBounds(townLayer.getBounds(), { padding: [10, 10] });
  }

  // -- step 1: towns ---------------------------------------------------------------------------
  var towns = scenario ? scenario.towns.slice() : [];
  function townRow(town) {
    var row = el("tr");
    var stored = scenario && town.stored;
    var code = el("input", null, { type: "text", size: "7", "class": "town-code", maxlength: "20" });
    code.value = town.code || "";
    code.readOnly = !!stored;
    var name = el("input", null, { type: "text", size: "10", "class": "town-name", maxlength: "200" });
    name.value = town.name || "";
    var pop = el("input", null, { type: "number", min: "0", "class": "town-population", style: "width: 7em" });
    pop.value = town.population === null || town.population === undefined ? "" : town.population;
    [code, name, pop].forEach(function (input) { var td = el("td"); td.appendChild(input); row.appendChild(td); });
    if (scenario) row.appendChild(el("td", town.has_boundary ? "✓" : "—", { "class": "has-boundary" }));
    var td = el("td");
    var remove = el("button", tr("wz_remove"), { type: "button" });
    remove.addEventListener("click", function () { row.remove(); });
    td.appendChild(remove);
    row.appendChild(td);
    return row;
  }
  function renderTowns() {
    var tbody = $("towns").querySelector("tbody");
    tbody.innerHTML = "";
    towns.forEach(function (t) { tbody.appendChild(townRow(t)); });
    document.querySelectorAll("select.town-select").forEach(function (select) {
      var keep = select.value;
      select.innerHTML = "";
      towns.forEach(function (t) { option(select, t.code, t.name ? t.name + " (" + t.code + ")" : t.code, t.code === keep); });
    });
  }
  function readTowns() {
    var rows = Array.prototype.slice.call($("towns").querySelectorAll("tbody tr"));
    return rows.map(function (row) {
      var pop = row.querySelector(".town-population").value;
      return { code: row.querySelector(".town-code").value.trim(), name: row.querySelector(".town-name").value.trim(),
               population: pop === "" ? null : parseInt(pop, 10) };
    }).filter(function (t) { return t.code; });
  }
  $("add-town").addEventListener("click", function () {
    $("towns").querySelector("tbody").appendChild(townRow({ code: "", name: "", population: null }));
  });
  if (!scenario) {
    towns = [{ code: "", name: "", population: null }];
    renderTowns();
    $("create-scenario").addEventListener("click", function () {
      var name = $("scenario-name").value.trim(), list = readTowns();
      if (!name) { say("towns-msg", tr("wz_err_name_needed")); return; }
      if (!list.length) { say("towns-msg", tr("wz_err_town_needed")); return; }
      busy("create-scenario", true);
      call("POST", "/scenarios", { name: name, municipalities: list }, true).then(function (created) {
        window.location.href = "/scenarios/" + created.id + "/edit?lang=" + cfg.lang;
      }).catch(function (e) { sayError("towns-msg", e); busy("create-scenario", false); });
    });
    return;  // the other steps need a stored scenario
  }
  towns.forEach(function (t) { t.stored = true; });
  renderTowns();

  $("save-towns").addEventListener("click", function () {
    var list = readTowns();
    if (!list.length) { say("towns-msg", tr("wz_err_town_needed")); return; }
    var known = {};
    towns.forEach(function (t) { known[t.code] = t; });
    var body = { version: scenario.version, municipalities: list.map(function (t) {
      var old = known[t.code] || {};
      return { code: t.code, name: t.name, population: t.population, population_year: old.population_year || null };
    }) };
    busy("save-towns", true);
    call("PATCH", "/scenarios/" + scenario.id, body, true).then(function (saved) {
      scenario.version = saved.version;
      return refreshTowns();
    }).then(function () { say("towns-msg", tr("wz_saved"), true); })
      .catch(function (e) { sayError("towns-msg", e); })
      .then(function () { busy("save-towns", false); });
  });
  function refreshTowns() {
    return call("GET", "/scenarios/" + scenario.id + "/municipalities").then(function (data) {
      towns = data.data.map(function (t) { t.stored = true; return t; });
      renderTowns();
      return call("GET", "/scenarios/" + scenario.id + "/boundaries");
    }).then(drawTowns);
  }
  $("upload-boundaries").addEventListener("click", function () {
    var file = $("boundary-file").files[0];
    if (!file) { say("towns-msg", tr("wz_err_choose_file")); return; }
    var form = new FormData();
    form.append("file", file);
    [["code_column", "boundary-code-column"], ["name_column", "boundary-name-column"],
     ["encoding", "boundary-encoding"]].forEach(function (pair) {
      if ($(pair[1]).value) form.append(pair[0], $(pair[1]).value);
    });
    busy("upload-boundaries", true);
    say("towns-msg", tr("wz_working"), true);
    call("PUT", "/scenarios/" + scenario.id + "/boundaries", form).then(function (data) {
      return refreshTowns().then(function () {
        say("towns-msg", fill(tr("wz_boundaries_stored"), { n: data.count }), true);
      });
    }).catch(function (e) { sayError("towns-msg", e); })
      .then(function () { busy("upload-boundaries", false); });
  });
  call("GET", "/scenarios/" + scenario.id + "/boundaries").then(drawTowns).catch(function (e) { sayError("towns-msg", e); });

  // -- encodings and the asset preview / column mapping --------------------------------------
  document.querySelectorAll("select.encodings").forEach(function (select) {
    ENCODINGS.forEach(function (e) { option(select, e, e || tr("wz_encoding_auto")); });
  });
  cfg.fields.forEach(function (f) { option($("map-field"), f, tr("field_" + f), f === "road"); });
  cfg.kinds.forEach(function (k) { $("kind-list").appendChild(el("option", null, { value: k })); });
  $("map-kind").value = "road_segment";
  $("map-field").addEventListener("change", function () {
    var defaults = { road: "road_segment", river: "river_bank", park: "park", sewer: "pipe", other: "" };
    $("map-kind").value = defaults[$("map-field").value] || "";
  });
  // Usual column names of Japanese ledgers, to preselect the mapping (the planner can change it).
  var GUESS = {
    asset_id: ["asset_id", "id", "ID", "路線番号", "施設番号", "管理番号"],
    name: ["name", "路線名", "名称", "施設名"],
    kind: ["kind", "種類"],
    patrol_interval_days: ["patrol_interval_days", "巡回間隔"],
    service_minutes: ["service_minutes"],
    side: ["side"],
    lon: ["lon", "lng", "longitude", "経度"], lat: ["lat", "latitude", "緯度"],
    wkt: ["wkt", "WKT", "geometry", "geom"],
    oneway: ["一方通行", "oneway", "one_way"], roadclass: ["道路種別", "road_class", "class", "highway", "種別"]
  };
  function guess(columns, key) {
    var names = GUESS[key] || [];
    for (var i = 0; i < names.length; i++) if (columns.indexOf(names[i]) >= 0) return names[i];
    return "";
  }
  function columnSelect(select, columns, chosen) {
    select.innerHTML = "";
    option(select, "", tr("wz_no_column"), !chosen);
    columns.forEach(function (c) { option(select, c, c, c === chosen); });
  }
  var preview = null;
  function showPreview(data) {
    preview = data;
    $("preview").hidden = false;
    var facts = [
      data.file, tr("wz_features") + ": " + data.feature_count,
      tr("wz_encoding") + ": " + (data.encoding || tr("wz_encoding_auto")) +
        (data.encoding_origin === "detected" ? " (" + tr("wz_detected") + ")" : ""),
      tr("wz_crs") + ": " + (data.crs ? data.crs + (data.crs_name ? " " + data.crs_name : "") : tr("wz_crs_none"))
    ];
    if (data.geometry_types.length) facts.push(data.geometry_types.join(", "));
    $("preview-facts").textContent = facts.join(" · ");
    if (data.encoding_origin === "detected") $("asset-encoding").value = data.encoding;
    var thead = $("preview-table").querySelector("thead"), tbody = $("preview-table").querySelector("tbody");
    thead.innerHTML = ""; tbody.innerHTML = "";
    var head = el("tr");
    data.columns.forEach(function (c) { head.appendChild(el("th", c)); });
    thead.appendChild(head);
    data.rows.forEach(function (r) {
      var row = el("tr");
      r.forEach(function (v) { row.appendChild(el("td", v === null ? "" : v)); });
      tbody.appendChild(row);
    });
    var body = $("mapping-columns");
    body.innerHTML = "";
    cfg.mapped.forEach(function (target) {
      var row = el("tr");
      row.appendChild(el("td", tr("wz_col_" + target)));
      var td = el("td"), select = el("select", null, { "class": "map-column", "data-target": target, id: "map-" + target });
      columnSelect(select, data.columns, guess(data.columns, target));
      td.appendChild(select); row.appendChild(td); body.appendChild(row);
    });
    var csv = data.format === "csv";
    $("mapping-csv").hidden = !csv;
    ["lon", "lat", "wkt"].forEach(function (k) { columnSelect($("map-" + k), data.columns, csv ? guess(data.columns, k) : ""); });
    $("map-crs").value = "";
    $("map-crs").placeholder = data.crs || (csv ? "EPSG:4326" : "EPSG:6677");
    report(data.problems || []);
  }
  $("preview-asset").addEventListener("click", function () {
    var file = $("asset-file").files[0];
    if (!file) { say("assets-msg", tr("wz_err_choose_file")); return; }
    var form = new FormData();
    form.append("file", file);
    if ($("asset-encoding").value) form.append("encoding", $("asset-encoding").value);
    busy("preview-asset", true);
    say("assets-msg", tr("wz_working"), true);
    call("POST", "/scenarios/" + scenario.id + "/uploads/preview", form).then(function (data) {
      say("assets-msg", "");
      showPreview(data);
    }).catch(function (e) { $("preview").hidden = true; sayError("assets-msg", e); })
      .then(function () { busy("preview-asset", false); });
  });
  $("upload-asset").addEventListener("click", function () {
    var file = $("asset-file").files[0];
    if (!file || !preview) { say("assets-msg", tr("wz_err_choose_file")); return; }
    var town = $("asset-town").value, known = towns.filter(function (t) { return t.code === town; })[0] || {};
    var columns = {};
    document.querySelectorAll("select.map-column").forEach(function (s) {
      if (s.value) columns[s.value] = s.dataset.target;
    });
    var form = new FormData();
    form.append("file", file);
    form.append("municipality_code", town);
    form.append("municipality", known.name || town);
    form.append("field", $("map-field").value);
    if ($("map-kind").value.trim()) form.append("kind", $("map-kind").value.trim());
    if ($("asset-encoding").value) form.append("encoding", $("asset-encoding").value);
    if ($("map-crs").value.trim()) form.append("crs", $("map-crs").value.trim());
    if (Object.keys(columns).length) form.append("columns", JSON.stringify(columns));
    if (preview.format === "csv") {
      ["lon", "lat", "wkt"].forEach(function (k) { if ($("map-" + k).value) form.append(k, $("map-" + k).value); });
    }
    busy("upload-asset", true);
    say("assets-msg", tr("wz_working"), true);
    call("POST", "/scenarios/" + scenario.id + "/uploads", form).then(function (data) {
      var layer = data.layer;
      var mapped = preview.columns.filter(function (c) { return !columns[c]; });
      layer.columns = mapped;
      layers.push(layer);
      renderLayers();
      drawAssets();
      report(data.warnings || []);
      say("assets-msg", fill(tr("wz_uploaded"), { n: layer.feature_count }), true);
      $("preview").hidden = true;
      preview = null;
    }).catch(function (e) { sayError("assets-msg", e); })
      .then(function () { busy("upload-asset", false); });
  });

  // -- layers and the network source ----------------------------------------------------------
  var layers = cfg.layers.slice();
  function renderLayers() {
    var tbody = $("layers").querySelector("tbody");
    tbody.innerHTML = "";
    layers.forEach(function (layer) {
      var row = el("tr");
      [layer.id, layer.name, layer.municipality_code, tr("field_" + layer.field), layer.kind, layer.feature_count]
        .forEach(function (v) { row.appendChild(el("td", v)); });
      var td = el("td"), remove = el("button", tr("wz_remove"), { type: "button" });
      remove.addEventListener("click", function () {
        call("DELETE", "/scenarios/" + scenario.id + "/layers/" + layer.id).then(function () {
          layers = layers.filter(function (l) { return l.id !== layer.id; });
          renderLayers();
          drawAssets();
        }).catch(function (e) { sayError("assets-msg", e); });
      });
      td.appendChild(remove); row.appendChild(td); tbody.appendChild(row);
    });
    var select = $("network-layer"), keep = select.value;
    select.innerHTML = "";
    layers.filter(function (l) { return l.field === "road"; }).forEach(function (l) {
      option(select, String(l.id), l.name + " (" + l.municipality_code + ")", String(l.id) === keep);
    });
    layerColumns();
  }
  function layerColumns() {
    var id = $("network-layer").value;
    var layer = layers.filter(function (l) { return String(l.id) === id; })[0];
    var columns = layer ? layer.columns || [] : [];
    columnSelect($("network-oneway"), columns, guess(columns, "oneway"));
    columnSelect($("network-class"), columns, guess(columns, "roadclass"));
  }
  $("network-layer").addEventListener("change", layerColumns);
  function networkSource() {
    var checked = document.querySelector('input[name="network-source"]:checked');
    return checked ? checked.value : "layer";
  }
  function showSourceRows() {
    var source = networkSource();
    $("network-osm-row").hidden = source === "layer";
    $("network-layer-rows").hidden = source === "osm";
  }
  document.querySelectorAll('input[name="network-source"]').forEach(function (r) { r.addEventListener("change", showSourceRows); });
  renderLayers();
  showSourceRows();

  var REASONS = { "isolated": "wz_reason_isolated", "no way back": "wz_reason_no_way_back", "no way in": "wz_reason_no_way_in" };
  function showNetwork(summary) {
    $("network-summary").hidden = false;
    var figures = $("network-figures").querySelector("tbody");
    figures.innerHTML = "";
    [["wz_source", tr("wz_source_" + (summary.source === "layer+osm" ? "both" : summary.source || "osm"))],
     ["wz_nodes", summary.nodes], ["wz_edges", summary.edges], ["wz_km", summary.km],
     ["wz_street_km", summary.street_km], ["wz_scc", summary.strongly_connected_components]]
      .concat(summary.build && summary.build.road_layer ? [["wz_joins", summary.build.road_layer.joins + " (" +
        fill(tr("wz_tolerance"), { m: summary.build.road_layer.tolerance_m }) + ")"]] : [])
      .concat(summary.build && summary.build.osm ? [["wz_osm_connectors", summary.build.osm.connectors]] : [])
      .forEach(function (pair) {
        if (pair[1] === undefined || pair[1] === null) return;
        var row = el("tr"); row.appendChild(el("th", tr(pair[0]))); row.appendChild(el("td", pair[1], { "class": "num" }));
        figures.appendChild(row);
      });
    var parts = summary.cut_off || (summary.cut_off_parts || []).map(function (p, i) {
      return { part_id: i + 1, reason: "", street_m: p.km * 1000, lon: p.lon, lat: p.lat, asset_ids: p.asset_ids };
    });
    var tbody = $("cut-off").querySelector("tbody");
    tbody.innerHTML = "";
    cutLayer.clearLayers();
    if (!parts.length) {
      var none = el("tr"); none.appendChild(el("td", tr("wz_cut_none"), { colspan: "5" })); tbody.appendChild(none);
    }
    parts.forEach(function (p, i) {
      var reason = REASONS[p.reason] ? tr(REASONS[p.reason]) : (p.reason || "");
      var row = el("tr", null, { "class": "cut-off-part" });
      [p.part_id || i + 1, reason, Math.round(p.street_m), (p.asset_ids || []).length,
       p.lat.toFixed(5) + ", " + p.lon.toFixed(5)].forEach(function (v) { row.appendChild(el("td", v)); });
      tbody.appendChild(row);
      var tip = tr("wz_cut_off") + " " + (p.part_id || i + 1) + ": " + reason + " (" + Math.round(p.street_m) + " m)";
      if (p.bbox) {
        var pad = 0.0003;  // about 30 m: a straight street's box has no height of its own
        L.rectangle([[p.bbox[1] - pad, p.bbox[0] - pad], [p.bbox[3] + pad, p.bbox[2] + pad]],
          { color: "#d50000", weight: 2, dashArray: "4 3", fill: false }).bindTooltip(tip).addTo(cutLayer);
      }
      L.circleMarker([p.lat, p.lon], { radius: 7, color: "#d50000", weight: 3, fillOpacity: 0.4 })
        .bindTooltip(tip).addTo(cutLayer);
    });
    var reach = $("town-reach").querySelector("tbody");
    reach.innerHTML = "";
    (summary.towns || []).forEach(function (t) {
      var row = el("tr");
      [t.name || t.code, t.depots, t.street_km, t.reachable_km === null ? "—" : t.reachable_km,
       t.reachable_share === null ? "—" : (100 * t.reachable_share).toFixed(1)]
        .forEach(function (v) { row.appendChild(el("td", v)); });
      reach.appendChild(row);
    });
  }
  // The road layer's build report: its problems, and the values no setting explains, as rows
  // of the validation report (warnings: the network was built).
  function buildReport(summary) {
    var layerReport = (summary.build || {}).road_layer;
    if (!layerReport) return;
    var file = (layers.filter(function (l) { return String(l.id) === $("network-layer").value; })[0] || {}).name || "";
    var explained = {};
    if (Object.keys(layerReport.unknown_oneway || {}).length) explained[$("network-oneway").value] = true;
    if (Object.keys(layerReport.unmapped_classes || {}).length) explained[$("network-class").value] = true;
    // The server's English warnings on those columns say the same as the translated rows below.
    var rows = (layerReport.problems || []).filter(function (p) {
      return !(p.severity === "warning" && explained[p.field]);
    });
    Object.keys(layerReport.unknown_oneway || {}).forEach(function (value) {
      rows.push({ file: file, feature: null, field: $("network-oneway").value, severity: "warning",
                  message: fill(tr("wz_unknown_oneway"), { value: value, n: layerReport.unknown_oneway[value] }) });
    });
    Object.keys(layerReport.unmapped_classes || {}).forEach(function (value) {
      rows.push({ file: file, feature: null, field: $("network-class").value, severity: "warning",
                  message: fill(tr("wz_unmapped_class"), { value: value, n: layerReport.unmapped_classes[value] }) });
    });
    report(rows);
  }
  if (cfg.network) showNetwork(cfg.network);
  var MAX_DRAWN = 20000;  // assets drawn at most (a big city's ledger is drawn in part)
  function drawAssets() {
    assetLayer.clearLayers();
    function page(url, drawn) {
      if (!url || drawn >= MAX_DRAWN) return null;
      return fetch(url, { headers: { "Accept": "application/geo+json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (fc) {
          if (!fc) return null;
          assetLayer.addData(fc);
          var next = (fc.links || []).filter(function (l) { return l.rel === "next"; })[0];
          return page(next && next.href, drawn + fc.features.length);
        });
    }
    return page(cfg.ogc + "/collections/assets/items?scenario_id=" + scenario.id + "&limit=5000", 0)
      .catch(function () { return null; });
  }
  drawAssets();
  $("build-network").addEventListener("click", function () {
    var source = networkSource(), form = new FormData();
    if (source !== "layer") {
      var file = $("network-file").files[0];
      if (!file) { say("network-msg", tr("wz_err_choose_file")); return; }
      form.append("file", file);
    }
    if (source !== "osm") {
      if (!$("network-layer").value) { say("network-msg", tr("wz_err_layer_needed")); return; }
      form.append("from_layer", $("network-layer").value);
      if ($("network-oneway").value) form.append("oneway_column", $("network-oneway").value);
      if ($("network-class").value) form.append("class_column", $("network-class").value);
      if ($("network-speeds").value.trim()) form.append("speed_kmh", $("network-speeds").value.trim());
    }
    busy("build-network", true);
    say("network-msg", tr("wz_working"), true);
    call("PUT", "/scenarios/" + scenario.id + "/network", form).then(function (summary) {
      say("network-msg", tr("wz_network_built"), true);
      buildReport(summary);
      showNetwork(summary);
    }).catch(function (e) { sayError("network-msg", e); })
      .then(function () { busy("build-network", false); });
  });

  // -- depots: click the map, or load a GeoJSON file --------------------------------------------
  var depots = cfg.depots.map(function (f) {
    return { name: f.properties.name, kind: f.properties.kind, code: f.properties.municipality_code || "",
             lon: f.geometry.coordinates[0], lat: f.geometry.coordinates[1] };
  });
  function inRing(lon, lat, ring) {
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if ((yi > lat) !== (yj > lat) && lon < (xj - xi) * (lat - yi) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  }
  function townAt(lon, lat) {
    for (var i = 0; i < boundaries.features.length; i++) {
      var f = boundaries.features[i], g = f.geometry;
      var polygons = g.type === "Polygon" ? [g.coordinates] : g.coordinates;
      for (var k = 0; k < polygons.length; k++) {
        var rings = polygons[k];
        if (inRing(lon, lat, rings[0]) && !rings.slice(1).some(function (h) { return inRing(lon, lat, h); })) {
          return f.properties.code;
        }
      }
    }
    return towns.length ? towns[0].code : "";
  }
  function renderDepots() {
    var tbody = $("depots").querySelector("tbody");
    tbody.innerHTML = "";
    depotLayer.clearLayers();
    depots.forEach(function (d, i) {
      var row = el("tr", null, { "class": "depot" });
      var name = el("input", null, { type: "text", size: "10", maxlength: "200" });
      name.value = d.name;
      name.addEventListener("change", function () { d.name = name.value; });
      var kind = el("select");
      ["town", "contractor"].forEach(function (k) { option(kind, k, tr("wz_depot_kind_" + k), d.kind === k); });
      kind.addEventListener("change", function () { d.kind = kind.value; renderDepots(); });
      var town = el("select");
      towns.forEach(function (t) { option(town, t.code, t.name || t.code, t.code === d.code); });
      town.addEventListener("change", function () { d.code = town.value; });
      [name, kind, town].forEach(function (input) { var td = el("td"); td.appendChild(input); row.appendChild(td); });
      row.appendChild(el("td", d.lat.toFixed(5) + ", " + d.lon.toFixed(5)));
      var td = el("td"), remove = el("button", tr("wz_remove"), { type: "button" });
      remove.addEventListener("click", function () { depots.splice(i, 1); renderDepots(); });
      td.appendChild(remove); row.appendChild(td); tbody.appendChild(row);
      L.circleMarker([d.lat, d.lon], { radius: 8, color: "#000", weight: 2,
        fillColor: d.kind === "town" ? "#1565c0" : "#ef6c00", fillOpacity: 0.9 })
        .bindTooltip(d.name).addTo(depotLayer);
    });
  }
  renderDepots();
  var placing = false;
  function setPlacing(on) {
    placing = on;
    $("wizard").classList.toggle("placing", on);
    $("place-depot").setAttribute("aria-pressed", on ? "true" : "false");
    $("place-depot").textContent = on ? tr("wz_placing") : tr("wz_place");
  }
  $("place-depot").addEventListener("click", function () { setPlacing(!placing); });
  map.on("click", function (e) {
    if (!placing) return;
    var lon = e.latlng.lng, lat = e.latlng.lat;
    depots.push({ name: tr("depot") + " " + (depots.length + 1), kind: "town", code: townAt(lon, lat), lon: lon, lat: lat });
    renderDepots();
    setPlacing(false);
  });
  $("depot-file").addEventListener("change", function () {
    var file = $("depot-file").files[0];
    if (!file) return;
    file.text().then(function (text) {
      var fc = JSON.parse(text);
      (fc.features || []).forEach(function (f) {
        var p = f.properties || {}, c = (f.geometry || {}).coordinates || [];
        if (c.length < 2) return;
        depots.push({ name: p.name || tr("depot"), kind: p.kind || "town", code: p.municipality_code || townAt(c[0], c[1]),
                      lon: c[0], lat: c[1] });
      });
      renderDepots();
    }).catch(function () { say("depots-msg", tr("wz_err_not_geojson")); });
  });
  $("save-depots").addEventListener("click", function () {
    var body = { type: "FeatureCollection", features: depots.map(function (d) {
      return { type: "Feature", geometry: { type: "Point", coordinates: [d.lon, d.lat] },
               properties: { name: d.name, kind: d.kind, municipality_code: d.code } };
    }) };
    busy("save-depots", true);
    call("PUT", "/scenarios/" + scenario.id + "/depots", body, true).then(function (data) {
      say("depots-msg", fill(tr("wz_depots_saved"), { n: data.numberReturned }), true);
    }).catch(function (e) { sayError("depots-msg", e); })
      .then(function () { busy("save-depots", false); });
  });

  $("clear-report").addEventListener("click", function () {
    $("report").querySelector("tbody").innerHTML = "";
    $("report").hidden = true;
    $("report-empty").hidden = false;
  });

  // -- planning jobs with a progress bar ---------------------------------------------------------
  cfg.jobKinds.forEach(function (k) { option($("job-kind"), k, tr("wz_job_" + k), k === "regions"); });
  function poll(url) {
    return fetch(url, { headers: HEADERS, credentials: "same-origin" }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) throw apiError(r.status, data);
        return data;
      });
    }, function () { throw { message: tr("wz_err_unreachable"), detail: "" }; });
  }
  function follow(url) {
    poll(url).then(function (job) {
      $("job-progress").value = job.progress || 0;
      var status = tr("wz_job_" + job.status);
      if (job.status === "failed") {
        // The job's message says why (the server's words), under the status in the page's language.
        sayError("job-msg", { message: status, detail: job.message || "" });
      } else {
        // A running job's message is its progress line (e.g. the solver's cost and bound).
        say("job-msg", status + (job.status === "running" && job.message ? ": " + job.message : ""), true);
      }
      $("job").dataset.status = job.status;
      if (job.status === "successful") {
        $("job-progress").value = 100;
        busy("start-job", false);
        return poll(url + "/results").then(function (result) {
          var links = $("job-links");
          links.innerHTML = "";
          if (result.plan_id) {
            links.appendChild(el("a", tr("wz_open_map"), { href: "/plans/" + result.plan_id + "/map?lang=" + cfg.lang, id: "plan-link" }));
          }
        });
      }
      if (job.status === "failed" || job.status === "dismissed") { busy("start-job", false); return null; }
      setTimeout(function () { follow(url); }, 1000);
      return null;
    }).catch(function (e) { sayError("job-msg", e); busy("start-job", false); });
  }
  $("start-job").addEventListener("click", function () {
    var kind = $("job-kind").value, parameters = { time_limit: parseFloat($("job-time").value) || 5 };
    if (kind === "regions") parameters.k = parseInt($("job-k").value, 10) || 1;
    if (kind === "summary") parameters = {};
    busy("start-job", true);
    $("job").hidden = false;
    $("job").dataset.status = "accepted";
    $("job-progress").value = 0;
    $("job-links").innerHTML = "";
    say("job-msg", tr("wz_job_accepted"), true);
    var headers = Object.assign({ "Content-Type": "application/json" }, HEADERS);
    fetch(API + "/scenarios/" + scenario.id + "/plans/" + kind, {
      method: "POST", headers: headers, credentials: "same-origin",
      body: JSON.stringify({ name: tr("wz_job_" + kind), parameters: parameters })
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) throw apiError(r.status, data);
        follow(r.headers.get("Location") || (API + "/jobs/" + data.id));
      });
    }, function () { throw { message: tr("wz_err_unreachable"), detail: "" }; })
      .catch(function (e) { sayError("job-msg", e); $("job").dataset.status = "failed"; busy("start-job", false); });
  });
})();
