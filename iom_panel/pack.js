(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("pack-data").textContent);
  var C = {};
  D.columns.forEach(function (c, i) { C[c] = i; });
  var ROWS = D.rows;
  var BY_ID = {};
  ROWS.forEach(function (r) { BY_ID[r[C.pseudo_id]] = r; });
  var LEVEL = {red: 3, amber: 2, green: 1, not_adopted: 0};
  var MOVE = {up: "moved up", down: "moved down", same: "same tier", "new": "new to the list"};
  var AGENCY = {police: "Police", prison: "Prison", probation: "Probation", health: "Health", housing: "Housing"};
  var state = {key: "rank", dir: 1, page: 0, size: 100, view: ROWS.slice()};
  var lastFocus = null;
  var $ = function (id) { return document.getElementById(id); };

  function esc(v) {
    return v === null || v === undefined ? "" : String(v).replace(/[&<>"']/g, function (ch) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[ch];
    });
  }
  function pct(v) { return v === null || v === undefined ? "" : Math.round(100 * v) + "%"; }
  function riskWords(r) {
    return pct(r[C.risk_12m]) + " (likely " + Math.round(100 * r[C.risk_12m_low]) + "\u2013" +
      pct(r[C.risk_12m_high]) + ")";
  }
  function tierTag(t) { return t ? '<span class="tier t-' + esc(t) + '">' + esc(t.replace("_", " ")) + "</span>" : ""; }
  function firstReasons(s) { return (s || "").split("; ").slice(0, 2).join("; "); }
  function typologyText(r) {
    var t = D.typologies[r[C.typology]] || r[C.typology];
    return r[C.atypical_reason] ? t + " (atypical)" : t;
  }
  function changeText(r) {
    var m = MOVE[r[C.tier_movement]] || "";
    var pr = r[C.previous_rank];
    return pr === null || pr === undefined ? m : m + "; was rank " + pr;
  }
  function agencies(r) {
    var s = r[C.sources_linked] || "";
    return s ? s.split(";").length + " of 5" : "none";
  }

  function sortValue(r, key) {
    var v = r[C[key]];
    if (key === "suggested_tier" || key === "previous_tier") { return v === null ? -1 : LEVEL[v]; }
    if (key === "sources_linked") { return (v || "").split(";").length; }
    return v;
  }
  function compare(a, b) {
    var va = sortValue(a, state.key), vb = sortValue(b, state.key);
    var empty = (va === null || va === "") - (vb === null || vb === "");
    if (empty !== 0) { return empty; }  // empty cells last, whichever the direction
    var c = va < vb ? -1 : va > vb ? 1 : 0;
    if (c === 0) { return a[C.rank] - b[C.rank]; }
    return state.dir * c;
  }

  function applyFilters() {
    var q = $("q").value.trim().toLowerCase();
    var tier = $("f-tier").value, typ = $("f-typology").value, move = $("f-move").value;
    var rel = $("f-release").checked, isNew = $("f-new").checked, border = $("f-border").checked;
    state.view = ROWS.filter(function (r) {
      return (!q || r[C.pseudo_id].toLowerCase().indexOf(q) !== -1) &&
        (!tier || r[C.suggested_tier] === tier) && (!typ || r[C.typology] === typ) &&
        (!move || r[C.tier_movement] === move) && (!rel || r[C.release_due] !== null) &&
        (!isNew || r[C.new_to_list] === true) && (!border || r[C.borderline] === true);
    });
    state.view.sort(compare);
    state.page = 0;
    render();
  }

  function rowHtml(r) {
    var border = r[C.borderline] ? ' <span class="flag-b" title="likely range crosses a tier boundary">borderline</span>' : "";
    var out = r[C.stands_out] ? '<div class="stands">Stands out: ' + esc(r[C.stands_out]) + "</div>" : "";
    return '<tr data-id="' + esc(r[C.pseudo_id]) + '" tabindex="0" aria-label="Open ' + esc(r[C.pseudo_id]) +
      ', rank ' + r[C.rank] + '">' +
      '<td class="num">' + r[C.rank] + "</td>" +
      '<td class="pid">' + esc(r[C.pseudo_id]) + "</td>" +
      "<td>" + tierTag(r[C.suggested_tier]) + border + "</td>" +
      '<td class="risk">' + esc(riskWords(r)) + "</td>" +
      "<td>" + esc(typologyText(r)) + "</td>" +
      '<td class="reasons">' + esc(firstReasons(r[C.reasons_up])) + out + "</td>" +
      "<td>" + esc(changeText(r)) + "</td>" +
      "<td>" + esc(r[C.release_due]) + "</td>" +
      '<td title="' + esc(r[C.sources_linked]) + '">' + esc(agencies(r)) + "</td></tr>";
  }

  function render() {
    var n = state.view.length, size = state.size === 0 ? n : state.size;
    var pages = Math.max(1, Math.ceil(n / Math.max(size, 1)));
    state.page = Math.min(state.page, pages - 1);
    var start = state.page * size, stop = Math.min(n, start + size);
    var html = [];
    for (var i = start; i < stop; i++) { html.push(rowHtml(state.view[i])); }
    $("rows").innerHTML = html.join("");
    $("count").textContent = n === 0 ? "No one matches these filters.{% if summarised %} Only the people shown in full are on this page; everyone listed is in cohort_list.csv.{% endif %}" :
      "Showing " + (start + 1) + "\u2013" + stop + " of " + n + " matching (" + ROWS.length + {% if summarised %}" shown in full of " + D.n_listed + " listed; everyone is in cohort_list.csv).";{% else %}" listed).";{% endif %}
    $("page").textContent = "page " + (state.page + 1) + " of " + pages;
    $("prev").disabled = state.page === 0;
    $("next").disabled = state.page >= pages - 1;
    document.querySelectorAll("#cohort th").forEach(function (th) {
      th.setAttribute("aria-sort", th.dataset.key === state.key ? (state.dir > 0 ? "ascending" : "descending") : "none");
    });
  }

  function sortBy(key) {
    if (state.key === key) { state.dir = -state.dir; }
    else { state.key = key; state.dir = key === "risk_12m" || key === "suggested_tier" ? -1 : 1; }
    state.view.sort(compare);
    state.page = 0;
    render();
  }

  function bars(items, top) {
    // One scale for every bar of the person (top = their largest |points|), so bars compare.
    return '<table class="why"><tbody>' + items.map(function (c) {
      var w = top > 0 ? Math.round(100 * Math.abs(c.points) / top) : 0, up = c.points >= 0;
      var text = c.heading + (c.facts ? ": " + c.facts : "");
      return "<tr><th scope=\"row\">" + esc(text) + '</th><td class="bar"><span class="' + (up ? "up" : "down") +
        '" style="width:' + w + '%"></span></td><td class="num">' + (up ? "+" : "\u2212") +
        Math.abs(c.points).toFixed(1) + " pts</td></tr>";
    }).join("") + "</tbody></table>";
  }

  function contributionsHtml(r) {
    var raw = r[C.contributions], items = null;
    if (raw) { try { items = JSON.parse(raw); } catch (e) { items = null; } }
    if (!items || !items.length || items[0].heading === undefined) {
      return "<p>Raises it: " + esc(r[C.reasons_up] || "none") + "</p><p>Lowers it: " +
        esc(r[C.reasons_down] || "none") + "</p>";
    }
    var base = r[C.base_risk];
    var out = ['<p id="d-base">' + (base === null || base === undefined ? "" :
      "Starting from the average estimate of " + pct(base) + ", ") +
      "each family of factors moves this person's estimate by the points shown (red raises it, blue lowers it).</p>"];
    var top = 0, listed = 0;
    items.forEach(function (c) { top = Math.max(top, Math.abs(c.points)); listed += c.points; });
    [[false, "History (cannot change)"], [true, "Needs (can change)"]].forEach(function (k) {
      var part = items.filter(function (c) { return c.can_change === k[0]; });
      out.push('<h4 class="kind-title">' + esc(k[1]) + "</h4>");
      out.push(part.length ? bars(part, top) : "<p>None.</p>");
    });
    if (base !== null && base !== undefined) {
      var total = 100 * (r[C.risk_12m] - base), rest = total - listed;
      out.push('<p id="d-rest">' + (Math.abs(rest) >= 0.05 ? "Smaller factors together: " +
        (rest >= 0 ? "+" : "\u2212") + Math.abs(rest).toFixed(1) + " pts. " : "") + "Average " + pct(base) +
        (total >= 0 ? " + " : " \u2212 ") + Math.abs(total).toFixed(1) + " pts = " +
        (100 * r[C.risk_12m]).toFixed(1) + "%.</p>");
    }
    return out.join("");
  }

  function assessmentText(r) {
    var d = r[C.assessment_days];
    if (d === null || d === undefined) { return "no needs assessment on record"; }
    var t = new Date(D.panel_date + "T00:00:00Z");
    t.setUTCDate(t.getUTCDate() - Math.round(d));
    var years = d / 365.25;
    return t.toISOString().slice(0, 10) + (years >= 1 ? " (" + Math.floor(years) + " year" +
      (Math.floor(years) === 1 ? "" : "s") + " before the panel)" : "");
  }

  function openDetail(id) {
    var r = BY_ID[id];
    if (!r) { return; }
    lastFocus = document.activeElement;
    var typ = r[C.typology];
    var prev = r[C.new_to_list] ? "New to the list: not on the previous panel's list" +
      (D.previous_panel_date ? " (" + esc(D.previous_panel_date) + ")" : "") + "." :
      "Previous panel (" + esc(D.previous_panel_date) + ") decided " + tierTag(r[C.previous_tier]) +
      "; movement: " + esc(MOVE[r[C.tier_movement]]) + ".";
    var prevList = r[C.previous_rank] === null || r[C.previous_rank] === undefined ?
      (D.previous_list_date ? "not on the list published for " + esc(D.previous_list_date) : "no earlier list kept") :
      "rank " + r[C.previous_rank] + ", " + pct(r[C.previous_risk_12m]) + " on the list published for " +
      esc(D.previous_list_date);
    var mp = r[C.membership_probability];
    var srcs = (r[C.sources_linked] || "").split(";").filter(Boolean).map(function (a) { return AGENCY[a] || a; });
    var html =
      '<h2 id="d-title">' + esc(id) + " " + tierTag(r[C.suggested_tier]) +
      (r[C.borderline] ? ' <span class="flag-b">borderline</span>' : "") + "</h2>" +
      '<dl class="facts">' +
      "<dt>Rank</dt><dd id=\"d-rank\">" + r[C.rank] + " of " + {% if summarised %}D.n_listed{% else %}ROWS.length{% endif %} + "</dd>" +
      "<dt>Risk 12m</dt><dd id=\"d-risk\">" + esc(riskWords(r)) + "</dd>" +
      "<dt>Suggested tier</dt><dd id=\"d-tier\">" + esc(r[C.suggested_tier]) +
      (r[C.borderline] ? " (borderline: the likely range crosses a tier boundary)" : "") + "</dd>" +
      "<dt>Typology</dt><dd id=\"d-typology\" data-typology=\"" + esc(typ) + "\">" + esc(D.typologies[typ] || typ) +
      (mp === null || mp === undefined ? "" : " (membership " + pct(mp) + ")") +
      (r[C.atypical_reason] ? '<br><strong>Atypical:</strong> <span id="d-atypical">' + esc(r[C.atypical_reason]) +
        "</span>, against this typology's rule" : "") + "</dd>" +
      "<dt>Release due</dt><dd id=\"d-release\">" + (r[C.release_due] ? esc(r[C.release_due]) :
        (r[C.in_custody] ? "in custody, date not known" : "not in custody")) + "</dd>" +
      "<dt>Previous decision</dt><dd id=\"d-previous\">" + prev + "</dd>" +
      "<dt>Previous list</dt><dd id=\"d-previous-list\">" + prevList + "</dd>" +
      "<dt>Since then</dt><dd id=\"d-changed\">" + esc(r[C.what_changed] || (D.previous_list_date ?
        "nothing new recorded" : "no earlier list to compare")) + "</dd>" +
      "<dt>Needs assessment</dt><dd id=\"d-assessment\">" + esc(assessmentText(r)) + "</dd>" +
      "<dt>Agencies linked</dt><dd>" + esc(srcs.join(", ")) + "</dd>" +
      "</dl><p class=\"hint\">The likely range is " + esc(D.interval) + ".</p>" +
      "<h3>Why this estimate</h3>" + contributionsHtml(r) +
      "<p><strong>Raises it most:</strong> <span id=\"d-up\">" + esc(r[C.reasons_up] || "none") + "</span><br>" +
      "<strong>Lowers it most:</strong> <span id=\"d-down\">" + esc(r[C.reasons_down] || "none") + "</span></p>";
    $("detail-body").innerHTML = html;
    // The same content, outside the dialog, is what prints while a person is open.
    $("case-print").innerHTML = '<p class="case-head">Case summary for the tiering panel of ' + esc(D.panel_date) +
      ". The list suggests; the panel decides.</p>" + html;
    document.body.classList.add("case-open");
    var dlg = $("detail");
    if (!dlg.open) { dlg.showModal(); }
    $("d-close").focus();
  }

  document.querySelectorAll("#cohort th").forEach(function (th) {
    th.querySelector("button").addEventListener("click", function () { sortBy(th.dataset.key); });
  });
  $("rows").addEventListener("click", function (e) {
    var tr = e.target.closest("tr");
    if (tr) { openDetail(tr.dataset.id); }
  });
  $("rows").addEventListener("keydown", function (e) {
    var tr = e.target.closest("tr");
    if (!tr || e.target !== tr) { return; }
    if (e.key === "Enter" || e.key === " " || e.key === "Spacebar") { e.preventDefault(); openDetail(tr.dataset.id); }
  });
  document.addEventListener("click", function (e) {
    var a = e.target.closest("a.pid");
    if (a) { e.preventDefault(); openDetail(a.getAttribute("href").slice(1)); }
  });
  $("detail").addEventListener("close", function () {
    document.body.classList.remove("case-open");
    $("case-print").innerHTML = "";
    if (lastFocus && lastFocus.focus) { lastFocus.focus(); }
  });
  $("d-print").addEventListener("click", function () { window.print(); });
  ["q", "f-tier", "f-typology", "f-move", "f-release", "f-new", "f-border"].forEach(function (id) {
    $(id).addEventListener(id === "q" ? "input" : "change", applyFilters);
  });
  $("page-size").addEventListener("change", function () { state.size = +this.value; state.page = 0; render(); });
  $("prev").addEventListener("click", function () { state.page -= 1; render(); });
  $("next").addEventListener("click", function () { state.page += 1; render(); });
  applyFilters();
  if (location.hash.length > 1 && BY_ID[location.hash.slice(1)]) { openDetail(location.hash.slice(1)); }
})();
