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
  var state = {key: "rank", dir: 1, page: 0, size: 100, view: ROWS.slice()};
  var $ = function (id) { return document.getElementById(id); };

  function esc(v) {
    return v === null || v === undefined ? "" : String(v).replace(/[&<>"']/g, function (ch) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[ch];
    });
  }
  function pct(v) { return v === null || v === undefined ? "" : (100 * v).toFixed(1) + "%"; }
  function tierTag(t) { return t ? '<span class="tier t-' + esc(t) + '">' + esc(t.replace("_", " ")) + "</span>" : ""; }
  function firstReasons(s) { return (s || "").split("; ").slice(0, 2).join("; "); }

  function sortValue(r, key) {
    var v = r[C[key]];
    if (key === "suggested_tier" || key === "previous_tier") { return v === null ? -1 : LEVEL[v]; }
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
    var rel = $("f-release").checked, isNew = $("f-new").checked;
    state.view = ROWS.filter(function (r) {
      return (!q || r[C.pseudo_id].toLowerCase().indexOf(q) !== -1) &&
        (!tier || r[C.suggested_tier] === tier) && (!typ || r[C.typology] === typ) &&
        (!move || r[C.tier_movement] === move) && (!rel || r[C.release_due] !== null) &&
        (!isNew || r[C.new_to_list] === true);
    });
    state.view.sort(compare);
    state.page = 0;
    render();
  }

  function rowHtml(r) {
    return '<tr data-id="' + esc(r[C.pseudo_id]) + '">' +
      '<td class="num">' + r[C.rank] + "</td>" +
      '<td class="pid">' + esc(r[C.pseudo_id]) + "</td>" +
      "<td>" + tierTag(r[C.suggested_tier]) + "</td>" +
      '<td class="num">' + pct(r[C.risk_12m]) + "</td>" +
      "<td>" + esc(D.typologies[r[C.typology]] || r[C.typology]) + "</td>" +
      '<td class="reasons">' + esc(firstReasons(r[C.reasons_up])) + "</td>" +
      "<td>" + esc(MOVE[r[C.tier_movement]] || "") + "</td>" +
      "<td>" + tierTag(r[C.previous_tier]) + "</td>" +
      "<td>" + esc(r[C.release_due]) + "</td>" +
      "<td>" + esc(r[C.sources_linked]) + "</td></tr>";
  }

  function render(all) {
    var n = state.view.length, size = all || state.size === 0 ? n : state.size;
    var pages = Math.max(1, Math.ceil(n / Math.max(size, 1)));
    state.page = Math.min(state.page, pages - 1);
    var start = all ? 0 : state.page * size, stop = Math.min(n, start + size);
    var html = [];
    for (var i = start; i < stop; i++) { html.push(rowHtml(state.view[i])); }
    $("rows").innerHTML = html.join("");
    $("count").textContent = n === 0 ? "No one matches these filters." :
      "Showing " + (start + 1) + "\u2013" + stop + " of " + n + " matching (" + ROWS.length + " listed).";
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

  function contributionChart(items, title, top) {
    // One scale for both charts (top = the largest |points| of the person), so bars compare.
    var W = 780, H = 24, mid = 520, span = 160, scale = top > 0 ? span / top : 0;
    var h = items.length * H + 8;
    var s = ['<svg class="chart contrib" role="img" width="' + W + '" height="' + h +
      '" viewBox="0 0 ' + W + " " + h + '" xmlns="http://www.w3.org/2000/svg"><title>' +
      esc(title) + "</title>",
      '<line x1="' + mid + '" x2="' + mid + '" y1="0" y2="' + h + '" stroke="#566573"></line>'];
    items.forEach(function (c, i) {
      var y = 4 + i * H, w = Math.abs(c.points) * scale, up = c.points >= 0;
      var x = up ? mid : mid - w;
      var v = c.value;
      var shown = v === null || v === undefined ? "" : typeof v === "number" && !Number.isInteger(v) ?
        " (" + v.toFixed(2) + ")" : " (" + v + ")";
      var text = c.label + shown;
      s.push('<text x="4" y="' + (y + 15) + '">' + esc(text) + "</text>");
      s.push('<rect x="' + x.toFixed(1) + '" y="' + y + '" width="' + w.toFixed(1) + '" height="' +
        (H - 6) + '" fill="' + (up ? "#c0392b" : "#2e86c1") + '"></rect>');
      var tx = up ? mid + w + 4 : mid - w - 4;
      s.push('<text class="pts" x="' + tx.toFixed(1) + '" y="' + (y + 15) + '" text-anchor="' +
        (up ? "start" : "end") + '">' + (up ? "+" : "\u2212") + Math.abs(c.points).toFixed(1) +
        " pts</text>");
    });
    s.push("</svg>");
    return s.join("");
  }

  function contributionsHtml(r) {
    var raw = r[C.contributions], items = null;
    if (raw) { try { items = JSON.parse(raw); } catch (e) { items = null; } }
    if (!items || !items.length) {
      return "<p>Reasons up: " + esc(r[C.reasons_up] || "none") + "</p><p>Reasons down: " +
        esc(r[C.reasons_down] || "none") + "</p>";
    }
    var base = r[C.base_risk];
    var out = ['<p id="d-base">' + (base === null || base === undefined ? "" :
      "Starting from the average estimate of " + pct(base) + ", ") +
      "these factors move this person's estimate most (red raises it, blue lowers it; pts = percentage points).</p>"];
    var top = 0;
    items.forEach(function (c) { top = Math.max(top, Math.abs(c.points)); });
    [["static", "History (static: cannot change)"], ["dynamic", "Current circumstances (dynamic: can change)"]]
      .forEach(function (k) {
        var part = items.filter(function (c) { return c.kind === k[0]; });
        out.push('<div class="kind-title">' + esc(k[1]) + "</div>");
        out.push(part.length ? contributionChart(part, k[1], top) : "<p>None among the largest factors.</p>");
      });
    if (base !== null && base !== undefined) {
      // The listed factors are the largest; the rest together make up the difference.
      var listed = 0;
      items.forEach(function (c) { listed += c.points; });
      var rest = 100 * (r[C.risk_12m] - base) - listed;
      out.push('<p id="d-rest">All other factors together: ' + (rest >= 0 ? "+" : "\u2212") +
        Math.abs(rest).toFixed(1) + " pts; estimate " + pct(base) + " " + (100 * (r[C.risk_12m] - base) >= 0 ?
        "+" : "\u2212") + " " + Math.abs(100 * (r[C.risk_12m] - base)).toFixed(1) + " pts = " +
        pct(r[C.risk_12m]) + ".</p>");
    }
    return out.join("");
  }

  function openDetail(id) {
    var r = BY_ID[id];
    if (!r) { return; }
    var typ = r[C.typology];
    var prev = r[C.new_to_list] ? "New to the list: not on the previous panel's list" +
      (D.previous_panel_date ? " (" + esc(D.previous_panel_date) + ")" : "") + "." :
      "Previous panel (" + esc(D.previous_panel_date) + ") decided " + tierTag(r[C.previous_tier]) +
      "; movement: " + esc(MOVE[r[C.tier_movement]]) + ".";
    var mp = r[C.membership_probability];
    $("detail-body").innerHTML =
      '<h2 id="d-title">' + esc(id) + " " + tierTag(r[C.suggested_tier]) + "</h2>" +
      '<dl class="facts">' +
      "<dt>Rank</dt><dd id=\"d-rank\">" + r[C.rank] + " of " + ROWS.length + "</dd>" +
      "<dt>Risk 12m</dt><dd id=\"d-risk\">" + pct(r[C.risk_12m]) + " (range " + pct(r[C.risk_12m_low]) +
      " to " + pct(r[C.risk_12m_high]) + ")</dd>" +
      "<dt>Suggested tier</dt><dd id=\"d-tier\">" + esc(r[C.suggested_tier]) + "</dd>" +
      "<dt>Typology</dt><dd id=\"d-typology\" data-typology=\"" + esc(typ) + "\">" + esc(D.typologies[typ] || typ) +
      (mp === null || mp === undefined ? "" : " (membership " + pct(mp) + ")") + "</dd>" +
      "<dt>Release due</dt><dd id=\"d-release\">" + (r[C.release_due] ? esc(r[C.release_due]) :
        (r[C.in_custody] ? "in custody, date not known" : "not in custody")) + "</dd>" +
      "<dt>Previous decision</dt><dd id=\"d-previous\">" + prev + "</dd>" +
      "<dt>Agencies linked</dt><dd>" + esc(r[C.sources_linked]) + "</dd>" +
      "</dl><p class=\"hint\">The range is " + esc(D.interval) + ".</p>" +
      "<h3>Why this estimate</h3>" + contributionsHtml(r) +
      "<p><strong>Raises it most:</strong> <span id=\"d-up\">" + esc(r[C.reasons_up] || "none") + "</span><br>" +
      "<strong>Lowers it most:</strong> <span id=\"d-down\">" + esc(r[C.reasons_down] || "none") + "</span></p>";
    var dlg = $("detail");
    if (!dlg.open) { dlg.showModal(); }
  }

  document.querySelectorAll("#cohort th").forEach(function (th) {
    th.addEventListener("click", function () { sortBy(th.dataset.key); });
    th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sortBy(th.dataset.key); } });
  });
  $("rows").addEventListener("click", function (e) {
    var tr = e.target.closest("tr");
    if (tr) { openDetail(tr.dataset.id); }
  });
  document.addEventListener("click", function (e) {
    var a = e.target.closest("a.pid");
    if (a) { e.preventDefault(); openDetail(a.getAttribute("href").slice(1)); }
  });
  ["q", "f-tier", "f-typology", "f-move", "f-release", "f-new"].forEach(function (id) {
    $(id).addEventListener(id === "q" ? "input" : "change", applyFilters);
  });
  $("page-size").addEventListener("change", function () { state.size = +this.value; state.page = 0; render(); });
  $("prev").addEventListener("click", function () { state.page -= 1; render(); });
  $("next").addEventListener("click", function () { state.page += 1; render(); });
  window.addEventListener("beforeprint", function () { render(true); });
  window.addEventListener("afterprint", function () { render(); });
  applyFilters();
  if (location.hash.length > 1 && BY_ID[location.hash.slice(1)]) { openDetail(location.hash.slice(1)); }
})();
