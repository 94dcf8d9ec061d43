// guardrail audit console: plain JavaScript, no build step, no third-party code.
// It calls only this gateway's /v1/audit API, with the auditor key kept in sessionStorage.
"use strict";

(() => {
  const KEY = "guardrail.auditKey";
  const TENANT = "guardrail.tenant";
  const SVG = "http://www.w3.org/2000/svg";
  const VERDICTS = ["allow", "rewrite", "defer", "block"];
  const FILTERS = ["since", "until", "type", "bot", "user", "verdict", "rule", "policy_version", "text_hash"];
  const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
  const $ = (sel) => document.querySelector(sel);

  let cursor = null; // next_cursor of the last page shown
  let shown = 0;
  let listRequest = 0; // only the latest request's answer is shown (filters change fast)
  let chartRequest = 0;
  let timelineUser = null;
  let timelineCursor = null;
  let me = null; // /v1/audit/me of the signed-in key

  // ---- small DOM helpers (text only: nothing from the API is parsed as HTML) ----------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = String(value);
      else if (name === "onclick") node.addEventListener("click", value);
      else node.setAttribute(name, String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function badge(value, cls) {
    return el("span", { class: `badge ${cls || value}`, text: value });
  }

  function short(hash, n = 12) {
    return hash ? `${hash.slice(0, n)}…` : "";
  }

  // ---- time: shown in the browser's zone, UTC on hover; typed in local time ------------

  const pad = (n) => String(n).padStart(2, "0");

  function localText(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso || "";
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  function utcText(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso || "";
    return `${d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "")} UTC`;
  }

  function when(iso) {
    if (!iso) return null;
    return el("time", { datetime: iso, title: utcText(iso), text: localText(iso) });
  }

  // "2026-11-16" or "2026-11-16 18:30" in the browser's zone → an ISO instant for the API.
  function instant(value) {
    const m = value.match(/^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}))?$/);
    if (!m) return value;
    const d = new Date(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0));
    return d.toISOString();
  }

  // ---- API ------------------------------------------------------------------------------

  class ApiError extends Error {}

  function headers() {
    const out = { Authorization: `Bearer ${sessionStorage.getItem(KEY) || ""}` };
    const tenant = sessionStorage.getItem(TENANT);
    if (tenant) out["X-Guardrail-Tenant"] = tenant;
    return out;
  }

  function address(path, params) {
    const url = new URL(path, window.location.origin);
    for (const [name, value] of Object.entries(params || {})) {
      if (value !== "" && value !== null && value !== undefined) url.searchParams.set(name, value);
    }
    return url;
  }

  async function failure(response) {
    const body = await response.json().catch(() => ({}));
    if (response.status === 401) {
      signOut("The key was refused; sign in again.");
      return new ApiError("unauthorized");
    }
    const detail = Array.isArray(body.detail)
      ? body.detail.map((d) => (typeof d === "string" ? d : `${d.field}: ${d.message}`)).join("; ")
      : body.detail || response.statusText;
    return new ApiError(detail);
  }

  async function api(path, params, body) {
    const init = { headers: headers(), cache: "no-store" };
    if (body !== undefined) {
      init.method = "POST";
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(address(path, params), init);
    if (!response.ok) throw await failure(response);
    return response.json();
  }

  // A raw user id goes to the gateway in a POST body, never in a URL (access logs, the
  // browser's history); the console then asks by pseudonym. Kept in this page only.
  const pseudonyms = new Map();

  async function pseudonymOf(user) {
    const key = `${sessionStorage.getItem(TENANT) || ""}\u001f${user}`;
    if (!pseudonyms.has(key)) {
      const found = await api("/v1/audit/pseudonyms", {}, { user_id: user });
      pseudonyms.set(key, found.pseudonym);
    }
    return pseudonyms.get(key);
  }

  // ---- sign in, tenant ------------------------------------------------------------------

  const VIEWS = ["login", "list-view", "detail-view", "timeline-view", "reports-view"];

  function show(view) {
    for (const id of VIEWS) $(`#${id}`).hidden = id !== view;
    $("#nav").hidden = view === "login";
    $("#nav-records").classList.toggle("current", view === "list-view");
    $("#nav-reports").classList.toggle("current", view === "reports-view");
  }

  // What one key saw stays with it: filters, lists, results are cleared for the next.
  function forget() {
    clearFilters();
    listLoaded = false;
    pseudonyms.clear();
    $("#decisions tbody").replaceChildren();
    $("#decisions").dataset.loaded = "";
    $("#verify-result").textContent = "";
    $("#export-status").textContent = "";
    $("#report").replaceChildren();
    $("#timeline-items").replaceChildren();
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(TENANT);
    me = null;
    forget();
    if (window.location.hash) history.replaceState(null, "", window.location.pathname);
    $("#who").hidden = true;
    $("#nav").hidden = true;
    $("#login-error").textContent = message || "";
    show("login");
  }

  function showTenant() {
    const select = $("#tenant-select");
    const many = me.tenants.length > 1;
    $("#tenant-pick").hidden = !many;
    $("#tenant-name").textContent = many ? "" : `tenant ${me.tenant}`;
    select.replaceChildren(...me.tenants.map((t) => el("option", {
      value: t, text: t === me.home_tenant ? `${t} (own)` : t,
    })));
    select.value = me.tenant;
  }

  async function signIn() {
    try {
      me = await api("/v1/audit/me");
      $("#who-name").textContent = `${me.name} · ${me.role}`;
      showTenant();
      $("#who").hidden = false;
      listLoaded = false;
      route();
      return true;
    } catch (err) {
      if (!(err instanceof ApiError && err.message === "unauthorized")) {
        signOut(`This key may not read the audit log: ${err.message}`);
      }
      return false;
    }
  }

  function pickTenant() {
    const chosen = $("#tenant-select").value;
    if (chosen === me.home_tenant) sessionStorage.removeItem(TENANT);
    else sessionStorage.setItem(TENANT, chosen);
    forget();
    window.location.hash = "#/";
    signIn();
  }

  // ---- records list ---------------------------------------------------------------------

  // The filters as the API takes them: local times as instants, the user as a pseudonym.
  async function filters() {
    const form = new FormData($("#filters"));
    const out = {};
    for (const name of FILTERS) out[name] = (form.get(name) || "").toString().trim();
    for (const name of ["since", "until"]) if (out[name]) out[name] = instant(out[name]);
    if (out.user) out.pseudonym = await pseudonymOf(out.user);
    delete out.user;
    return out;
  }

  function clearFilters() {
    for (const node of $("#filters").querySelectorAll("input")) node.value = "";
    $("#filter-type").value = "decision";
    $("#filter-verdict").value = "";
  }

  function outcome(item) {
    switch (item.type) {
      case "decision": return badge(item.verdict);
      case "consent": return el("span", {}, badge(item.action === "opt_out" ? "opt-out" : "opt-in", item.action),
        item.applied === false ? " refused" : "", item.scope ? ` (${item.scope})` : "");
      case "crisis": return badge(item.level || "crisis", "crisis");
      case "delivery": return el("span", { text: `${item.status}${item.uncertain ? ", uncertain" : ""}` });
      case "notification": return el("span", { text: `${item.notice}: ${item.outcome}` });
      case "erasure": return el("span", { text: `${item.removed} removed` });
      case "access": return el("span", { text: `${item.actor} (${item.home_tenant}): ${item.method} ${item.route} → ${item.status}` });
      case "policy_reload": return el("span", { text: `${item.policy} ${short(item.policy_version, 19)}` });
      case "purge": return el("span", { text: `${item.purged} before ${localText(item.before)}` });
      default: return el("span", { text: "" });
    }
  }

  function userCell(item) {
    if (!item.user) return el("td", { text: "—" });
    const link = el("a", {
      href: `#/user/${encodeURIComponent(item.user)}`, class: "mono user-link",
      title: "This user's timeline", text: short(item.user, 10),
    });
    link.addEventListener("click", (e) => e.stopPropagation());
    return el("td", {}, link);
  }

  function row(item) {
    const rules = el("td", { class: "rules" });
    for (const rule of item.rules || []) rules.append(el("span", { text: rule }));
    const tr = el(
      "tr",
      { "data-id": item.id, "data-type": item.type },
      el("td", { class: "mono" }, when(item.ts)),
      el("td", { text: item.type }),
      el("td", { text: item.bot || "—" }),
      userCell(item),
      el("td", { text: item.channel || "—" }),
      el("td", { text: item.kind || "—" }),
      el("td", {}, outcome(item)),
      rules,
      el("td", { text: item.policy || "" }),
    );
    if (item.type === "decision") {
      tr.classList.add("open");
      tr.tabIndex = 0;
      tr.title = "Open this decision";
      const open = () => { window.location.hash = `#/decision/${encodeURIComponent(item.id)}`; };
      tr.addEventListener("click", open);
      tr.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); });
    }
    return tr;
  }

  async function loadRecords(reset) {
    const body = $("#decisions tbody");
    $("#list-error").textContent = "";
    const mine = ++listRequest;
    let page;
    try {
      const f = await filters();
      page = await api("/v1/audit/records", { ...f, limit: 50, cursor: reset ? "" : cursor });
    } catch (err) {
      if (mine === listRequest) $("#list-error").textContent = err.message;
      return;
    }
    if (mine !== listRequest) return;
    if (reset) { cursor = null; shown = 0; }
    if (reset) body.replaceChildren();
    for (const item of page.items) body.append(row(item));
    shown += page.items.length;
    cursor = page.next_cursor;
    $("#list-title").textContent = $("#filter-type").selectedOptions[0].textContent.replace(/^./, (c) => c.toUpperCase());
    $("#more").hidden = !cursor;
    $("#empty").hidden = shown > 0;
    $("#decision-count").textContent = cursor ? `(${shown} shown, more below)` : `(${shown})`;
    $("#decisions").dataset.loaded = String(Date.now());
  }

  // ---- export: the same filters, as a file ----------------------------------------------

  async function exportRecords() {
    const status = $("#export-status");
    $("#list-error").textContent = "";
    status.textContent = "Exporting…";
    try {
      const params = { ...(await filters()), format: $("#export-format").value };
      const response = await fetch(address("/v1/audit/export", params), { headers: headers(), cache: "no-store" });
      if (!response.ok) throw await failure(response);
      const blob = await response.blob();
      const named = (response.headers.get("content-disposition") || "").match(/filename="([^"]+)"/);
      const name = named ? named[1] : `guardrail-audit.${params.format}`;
      const link = el("a", { href: URL.createObjectURL(blob), download: name });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
      status.textContent = `Exported ${name} (${blob.size} bytes).`;
    } catch (err) {
      status.textContent = "";
      $("#list-error").textContent = `Export failed: ${err.message}`;
    }
  }

  // ---- search ---------------------------------------------------------------------------

  async function search() {
    const kind = $("#search-kind").value;
    const value = $("#search-input").value.trim();
    $("#search-error").textContent = "";
    if (!value) return;
    if (kind === "decision") {
      window.location.hash = `#/decision/${encodeURIComponent(value)}`;
    } else if (kind === "pseudonym") {
      window.location.hash = `#/user/${encodeURIComponent(value)}`;
    } else if (kind === "user") {
      try {
        const found = await pseudonymOf(value);
        $("#search-input").value = "";
        window.location.hash = `#/user/${encodeURIComponent(found)}`;
      } catch (err) {
        $("#search-error").textContent = err.message;
      }
    } else {
      let hash = value;
      if (!/^(sha256:)?[0-9a-fA-F]{64}$|^hmac:/.test(value)) {  // a text: its keyed hash
        try {
          hash = (await api("/v1/audit/text-hashes", {}, { text: value })).text_hash;
        } catch (err) {
          $("#search-error").textContent = err.message;
          return;
        }
      }
      clearFilters();
      $("#filter-type").value = "all";
      $("#filter-text-hash").value = hash;
      if (window.location.hash && window.location.hash !== "#/") window.location.hash = "#/";
      loadRecords(true);
      loadCharts();
    }
  }

  // ---- charts (inline SVG) --------------------------------------------------------------

  function chartBox(id) {
    return $(`#${id} .chart`);
  }

  function nothing(width, height, message) {
    const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
    root.append(svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "none" }, message));
    return root;
  }

  function verdictChart(days) {
    const W = 560, H = 220, L = 34, R = 8, T = 24, B = 28;
    if (!days.length) return nothing(W, H, "No decisions in this period");
    const totals = days.map((d) => VERDICTS.reduce((sum, v) => sum + d[v], 0));
    const max = Math.max(...totals, 1);
    const band = (W - L - R) / days.length;
    const bar = Math.max(2, Math.min(48, band * 0.7));
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "verdicts per day (UTC)" });
    root.append(svg("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis" }));
    root.append(svg("text", { x: L - 4, y: T + 4, "text-anchor": "end" }, max));
    root.append(svg("text", { x: L - 4, y: H - B, "text-anchor": "end" }, 0));
    VERDICTS.forEach((v, i) => {
      root.append(svg("rect", { x: L + i * 82, y: 4, width: 10, height: 10, class: `v-${v}` }));
      root.append(svg("text", { x: L + i * 82 + 14, y: 13 }, v));
    });
    const every = Math.ceil(days.length / 8);
    days.forEach((d, i) => {
      const x = L + i * band + (band - bar) / 2;
      let y = H - B;
      for (const v of VERDICTS) {
        if (!d[v]) continue;
        const h = (d[v] / max) * (H - B - T);
        y -= h;
        const rect = svg("rect", { x, y, width: bar, height: h, class: `v-${v}` });
        rect.append(svg("title", {}, `${d.day} (UTC): ${d[v]} ${v}`));
        root.append(rect);
      }
      if (i % every === 0) {
        root.append(svg("text", { x: x + bar / 2, y: H - B + 16, "text-anchor": "middle" }, d.day.slice(5)));
      }
    });
    return root;
  }

  // Horizontal bars, one per name: [[name, count], ...].
  function barChart(entries, label, cls = "bar-rule") {
    const W = 420, rowH = 22, L = 150, R = 40;
    if (!entries.length) return nothing(W, 60, "Nothing in this period");
    const H = entries.length * rowH + 8;
    const max = Math.max(...entries.map(([, n]) => n), 1);
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label });
    entries.forEach(([name, count], i) => {
      const y = 4 + i * rowH;
      const w = Math.max(2, (count / max) * (W - L - R));
      root.append(svg("text", { x: L - 6, y: y + 13, "text-anchor": "end" }, name.length > 24 ? `${name.slice(0, 23)}…` : name));
      const rect = svg("rect", { x: L, y: y + 2, width: w, height: rowH - 8, class: cls, rx: 2 });
      rect.append(svg("title", {}, `${name}: ${count}`));
      root.append(rect);
      root.append(svg("text", { x: L + w + 5, y: y + 13, class: "value" }, count));
    });
    return root;
  }

  // Vertical bars in key order (months, days): [[key, count], ...].
  function columnChart(entries, label, cls = "bar-crisis") {
    const W = 300, H = 180, L = 26, B = 26, T = 12;
    if (!entries.length) return nothing(W, 80, "Nothing in this period");
    const max = Math.max(...entries.map(([, n]) => n), 1);
    const band = (W - L - 8) / entries.length;
    const bar = Math.min(40, band * 0.7);
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label });
    root.append(svg("line", { x1: L, y1: H - B, x2: W - 8, y2: H - B, class: "axis" }));
    const every = Math.ceil(entries.length / 6);
    entries.forEach(([key, count], i) => {
      const h = (count / max) * (H - B - T - 12);
      const x = L + i * band + (band - bar) / 2;
      const rect = svg("rect", { x, y: H - B - h, width: bar, height: h, class: cls });
      rect.append(svg("title", {}, `${key}: ${count}`));
      root.append(rect);
      root.append(svg("text", { x: x + bar / 2, y: H - B - h - 4, "text-anchor": "middle", class: "value" }, count));
      if (i % every === 0) root.append(svg("text", { x: x + bar / 2, y: H - B + 15, "text-anchor": "middle" }, key));
    });
    return root;
  }

  async function loadCharts() {
    const mine = ++chartRequest;
    let data;
    try {
      const f = await filters();
      data = await api("/v1/audit/stats", { since: f.since, until: f.until, bot: f.bot });
    } catch (err) {
      if (mine === chartRequest) $("#list-error").textContent = err.message;
      return;
    }
    if (mine !== chartRequest) return;
    chartBox("chart-verdicts").replaceChildren(verdictChart(data.verdicts_by_day));
    chartBox("chart-rules").replaceChildren(barChart(data.top_rules.map((r) => [r.rule, r.count]), "top rules"));
    chartBox("chart-crisis").replaceChildren(data.crisis_by_month.length
      ? columnChart(data.crisis_by_month.map((m) => [m.month, m.count]), "crisis referrals per month (UTC)")
      : nothing(300, 80, "No crisis referral (rule ids crisis.*)"));
  }

  // ---- one decision ---------------------------------------------------------------------

  function facts(pairs) {
    const dl = el("dl", { class: "facts" });
    for (const [label, value, cls] of pairs) {
      dl.append(el("dt", { text: label }));
      const dd = el("dd", { class: cls || null });
      if (value instanceof Node) dd.append(value);
      else dd.textContent = value === null || value === undefined || value === "" ? "—" : String(value);
      dl.append(dd);
    }
    return dl;
  }

  function reasonsTable(reasons) {
    if (!reasons.length) return el("p", { class: "hint", text: "No rule fired: allowed by the policy's defaults." });
    const body = el("tbody");
    for (const r of reasons) {
      body.append(el("tr", {}, el("td", { class: "mono", text: r.rule }), el("td", {}, r.effect),
        el("td", { text: r.detail }), el("td", { text: r.policy })));
    }
    return el("table", { id: "detail-reasons" },
      el("thead", {}, el("tr", {}, el("th", { text: "Rule" }), el("th", { text: "Effect" }),
        el("th", { text: "Detail" }), el("th", { text: "Policy" }))), body);
  }

  function scoresTable(scores) {
    const names = Object.keys(scores || {}).sort();
    if (!names.length) return el("p", { class: "hint", id: "detail-scores", text: "No classifier scores recorded." });
    const body = el("tbody");
    for (const name of names) {
      const value = Number(scores[name]);
      const gauge = svg("svg", { viewBox: "0 0 100 10", preserveAspectRatio: "none" });
      gauge.append(svg("rect", { x: 0, y: 0, width: 100, height: 10, class: "track" }));
      gauge.append(svg("rect", { x: 0, y: 0, width: Math.max(0, Math.min(1, value)) * 100, height: 10, class: "fill" }));
      body.append(el("tr", {}, el("td", { class: "mono", text: name }),
        el("td", {}, el("div", { class: "score" }, gauge, value.toFixed(3)))));
    }
    return el("table", { id: "detail-scores" },
      el("thead", {}, el("tr", {}, el("th", { text: "Classifier" }), el("th", { text: "Score" }))), body);
  }

  async function showDecision(id) {
    show("detail-view");
    const card = $("#detail");
    card.replaceChildren(el("p", { class: "hint", text: "Loading…" }));
    card.dataset.loaded = "";
    let d;
    try {
      d = await api(`/v1/audit/decisions/${encodeURIComponent(id)}`);
    } catch (err) {
      card.replaceChildren(el("p", { class: "error", id: "detail-error", text: err.message }));
      return;
    }
    const ctx = d.user_context || {};
    const why = d.delivered_text_omitted
      ? `not stored (${d.delivered_text_omitted}: only its keyed hash is kept)`
      : (d.delivered_hmac || d.delivered_sha256)
        ? "not stored (no PII redaction was available for it)"
        : "not stored (nothing was delivered)";
    const delivered = d.delivered_text === null || d.delivered_text === undefined
      ? el("span", { class: "not-stored", id: "detail-delivered", text: why })
      : el("pre", { id: "detail-delivered", text: d.delivered_text });
    const kind = d.claimed_kind && d.claimed_kind !== d.kind ? `${d.kind} (claimed ${d.claimed_kind})` : d.kind;
    const user = el("a", { href: `#/user/${encodeURIComponent(d.user)}`, class: "mono", id: "detail-user", title: "This user's timeline", text: d.user });
    card.replaceChildren(
      el("header", {}, el("h2", { text: "Decision" }), badge(d.verdict),
        el("span", { class: "mono hint", id: "detail-id", text: d.id })),
      el("h3", { text: "What" }),
      facts([
        [`Time (${ZONE})`, when(d.ts), "mono"],
        [`Recorded (${ZONE})`, when(d.recorded_at), "mono"],
        ["Bot", d.bot],
        ["User (pseudonym)", user],
        ["Channel", d.channel],
        ["Kind", kind],
        ["Retry after", when(d.retry_after), "mono"],
        ["Jurisdiction / minor / time zone",
          [ctx.jurisdiction || "—", ctx.is_minor === null || ctx.is_minor === undefined ? "—" : (ctx.is_minor ? "minor" : "adult"), ctx.timezone || "—"].join(" / ")],
      ]),
      el("h3", { text: "Rules fired" }),
      reasonsTable(d.reasons || []),
      el("h3", { text: "Classifier scores" }),
      scoresTable(d.scores),
      el("h3", { text: "Policy and text" }),
      facts([
        ["Policy", d.policy, null],
        ["Policy version", d.policy_version, "mono"],
        ["Original text (keyed hash)", d.text_hmac || d.text_sha256, "mono"],
        ["Delivered text (keyed hash)", d.delivered_hmac || d.delivered_sha256, "mono"],
        ["Delivered text", delivered],
      ]),
      el("h3", { text: "Seal" }),
      facts([
        ["Hash (names the audit key)", d.hash, "mono"],
      ]),
    );
    card.dataset.loaded = d.id;
  }

  // ---- one user's timeline --------------------------------------------------------------

  const LANES = ["decision", "consent", "crisis", "other"];

  function lane(item) {
    return LANES.includes(item.type) ? item.type : "other";
  }

  function markClass(item) {
    if (item.type === "decision") return `v-${item.verdict}`;
    if (item.type === "consent") return item.action === "opt_out" ? "m-opt-out" : "m-opt-in";
    if (item.type === "crisis") return "bar-crisis";
    return "m-other";
  }

  function describe(item) {
    switch (item.type) {
      case "decision": return `${item.verdict} · ${item.kind || ""} · ${(item.rules || []).join(", ") || "no rule"}`;
      case "consent": return `${item.action === "opt_out" ? "opted out" : "opted in"} of ${item.scope === "all" ? "every bot" : item.bot}${item.applied === false ? " (refused)" : ""}, on the word of ${item.evidence || item.source}`;
      case "crisis": return `crisis: ${item.level}${item.review_notified ? ", reviewers told" : ""}`;
      case "delivery": return `delivery ${item.status}${item.uncertain ? " (uncertain)" : ""}`;
      case "notification": return `${item.notice} notice: ${item.outcome}`;
      case "erasure": return `erased (${item.removed} removed; the opt-out kept)`;
      default: return item.type;
    }
  }

  function timelineChart(items) {
    const W = 900, H = 40 + LANES.length * 26, L = 80, R = 16, T = 10;
    if (!items.length) return nothing(W, 60, "No record for this user");
    const times = items.map((i) => new Date(i.ts).getTime());
    const lo = Math.min(...times), hi = Math.max(...times);
    const span = Math.max(hi - lo, 60000);
    const x = (t) => L + ((t - lo) / span) * (W - L - R);
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "this user's records over time" });
    LANES.forEach((name, i) => {
      const y = T + i * 26 + 13;
      root.append(svg("line", { x1: L, y1: y, x2: W - R, y2: y, class: "axis" }));
      root.append(svg("text", { x: L - 8, y: y + 4, "text-anchor": "end" }, name));
    });
    items.forEach((item, i) => {
      const y = T + LANES.indexOf(lane(item)) * 26 + 13;
      const mark = svg("circle", { cx: x(times[i]), cy: y, r: 6, class: `mark ${markClass(item)}` });
      mark.append(svg("title", {}, `${localText(item.ts)} (${utcText(item.ts)}): ${describe(item)}`));
      root.append(mark);
    });
    const axis = T + LANES.length * 26 + 14;
    root.append(svg("text", { x: L, y: axis, "text-anchor": "start" }, localText(new Date(lo).toISOString())));
    root.append(svg("text", { x: W - R, y: axis, "text-anchor": "end" }, localText(new Date(hi).toISOString())));
    return root;
  }

  function tile(label, value, id) {
    return el("div", { class: "tile", id }, el("span", { class: "value", text: value }), el("span", { class: "label", text: label }));
  }

  function timelineItem(item) {
    const li = el("li", { class: `t-${lane(item)}`, "data-type": item.type, "data-id": item.id },
      el("span", { class: "mono when" }, when(item.ts)),
      el("span", { class: "what" }, item.type === "decision" ? badge(item.verdict) : badge(item.type, lane(item)), " ", describe(item)),
      el("span", { class: "hint" }, item.bot || ""));
    if (item.type === "decision") {
      li.classList.add("open");
      li.title = "Open this decision";
      li.addEventListener("click", () => { window.location.hash = `#/decision/${encodeURIComponent(item.id)}`; });
    }
    return li;
  }

  let timelineItems = [];

  async function showTimeline(user, more) {
    show("timeline-view");
    const card = $("#timeline");
    $("#timeline-error").textContent = "";
    if (!more) {
      timelineUser = user;
      timelineCursor = null;
      timelineItems = [];
      card.dataset.loaded = "";
      $("#timeline-user").textContent = user;
      $("#timeline-items").replaceChildren();
    }
    let data;
    try {
      data = await api("/v1/audit/timeline", { pseudonym: user, limit: 100, cursor: more ? timelineCursor : "" });
    } catch (err) {
      $("#timeline-error").textContent = err.message;
      return;
    }
    const s = data.summary;
    const verdicts = VERDICTS.filter((v) => s.verdicts[v]).map((v) => `${s.verdicts[v]} ${v}`).join(", ");
    $("#timeline-summary").replaceChildren(
      tile("records", s.records, "tile-records"),
      tile(`decisions${verdicts ? `: ${verdicts}` : ""}`, s.by_type.decision || 0, "tile-decisions"),
      tile(s.highest_risk ? `crises (highest: ${s.highest_risk})` : "crises", s.crises, "tile-crises"),
      tile("first seen", s.first ? localText(s.first) : "—"),
      tile("last seen", s.last ? localText(s.last) : "—"),
    );
    $("#timeline-consent").replaceChildren(s.consent.length
      ? el("ul", { class: "consent" }, ...s.consent.map((c) => el("li", {},
        badge(c.action === "opt_out" ? "opted out" : "opted in", c.action), " ",
        c.scope === "all" ? "of every bot" : `of ${c.bot}`, " since ", when(c.at))))
      : el("p", { class: "hint", text: "No opt-out or opt-in recorded." }));
    timelineItems = timelineItems.concat(data.items);
    for (const item of data.items) $("#timeline-items").append(timelineItem(item));
    $("#timeline-chart").replaceChildren(timelineChart(timelineItems));
    timelineCursor = data.next_cursor;
    $("#timeline-more").hidden = !timelineCursor;
    card.dataset.loaded = user;
  }

  // ---- reports --------------------------------------------------------------------------

  let reportsListed = false;

  async function listReports(selected) {
    const select = $("#report-select");
    if (!reportsListed) {
      let data;
      try {
        data = await api("/v1/audit/reports");
      } catch (err) {
        $("#report-error").textContent = err.message;
        return false;
      }
      select.replaceChildren(...data.reports.map((r) => el("option", { value: r.name, text: r.name, title: r.summary })));
      select.dataset.summaries = JSON.stringify(Object.fromEntries(data.reports.map((r) => [r.name, r.summary])));
      reportsListed = true;
    }
    if (selected) select.value = selected;
    $("#report-summary").textContent = JSON.parse(select.dataset.summaries || "{}")[select.value] || "";
    return true;
  }

  const isCounts = (v) => v && typeof v === "object" && !Array.isArray(v) &&
    Object.values(v).every((n) => typeof n === "number");
  const isRows = (v) => Array.isArray(v) && v.length > 0 && v.every((r) => r && typeof r === "object" && !Array.isArray(r));
  const title = (key) => key.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
  const TIMES = /(_at|^first|^last|^ts)$/;

  function rowsTable(rows) {
    const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
    const body = el("tbody");
    for (const r of rows.slice(0, 500)) {
      body.append(el("tr", {}, ...columns.map((c) => {
        const v = r[c];
        if (TIMES.test(c) && typeof v === "string") return el("td", { class: "mono" }, when(v));
        return el("td", { text: v === null || v === undefined ? "—" : typeof v === "object" ? JSON.stringify(v) : v });
      })));
    }
    const table = el("table", { class: "report-rows" }, el("thead", {}, el("tr", {}, ...columns.map((c) => el("th", { text: title(c) })))), body);
    return rows.length > 500 ? el("div", {}, table, el("p", { class: "hint", text: `${rows.length - 500} more rows in the export` })) : table;
  }

  // Any report: numbers as tiles, counts by name as bar charts (by month as columns), lists
  // of rows as tables, nested sections in turn. A new report needs no change here.
  function renderSection(data, path, out) {
    const tiles = el("div", { class: "tiles" });
    const charts = el("div", { class: "report-charts" });
    for (const [key, value] of Object.entries(data)) {
      if (["report", "tenant", "period"].includes(key) && !path) continue;
      if (typeof value === "number" || (value === null && /max|median|highest/.test(key))) {
        tiles.append(tile(title(key), value === null ? "—" : value, `report-${path}${key}`));
      }
    }
    if (tiles.childElementCount) out.append(tiles);
    for (const [key, value] of Object.entries(data)) {
      if (["report", "tenant", "period"].includes(key) && !path) continue;
      if (typeof value === "string") out.append(el("p", { class: "note", text: value }));
      else if (isCounts(value) && !/(^|_)by_/.test(key)) {
        const figures = el("div", { class: "tiles", id: `report-${path}${key}` });
        for (const [k, v] of Object.entries(value)) figures.append(tile(title(k), v));
        out.append(el("h3", { text: title(key) }), figures);
      } else if (isCounts(value)) {
        const entries = Object.entries(value);
        const monthly = /month|day/.test(key);
        const chart = monthly ? columnChart(entries, title(key)) : barChart(entries.sort((a, b) => b[1] - a[1]), title(key));
        if (!charts.parentNode) out.append(charts);
        charts.append(el("figure", { class: "report-chart", id: `report-${path}${key}` }, el("figcaption", { text: title(key) }), el("div", { class: "chart" }, chart)));
      } else if (isRows(value)) {
        out.append(el("h3", { text: title(key) }), rowsTable(value));
      } else if (Array.isArray(value)) {
        out.append(el("h3", { text: title(key) }), el("p", { class: "hint", text: "None." }));
      } else if (value && typeof value === "object" && Object.values(value).some((v) => typeof v !== "object" || v === null)
        && !Object.values(value).some((v) => v && typeof v === "object")) {
        out.append(el("h3", { text: title(key) }), facts(Object.entries(value).map(([k, v]) => [title(k), TIMES.test(k) && v ? when(v) : v])));
      } else if (value && typeof value === "object") {
        out.append(el("h3", { text: title(key) }));
        renderSection(value, `${path}${key}-`, out);
      }
    }
  }

  async function showReport(name) {
    show("reports-view");
    if (!(await listReports(name))) return;
    const card = $("#report");
    card.dataset.loaded = "";
    $("#report-error").textContent = "";
    const chosen = $("#report-select").value;
    if (!chosen) return;
    const year = $("#report-year").value.trim();
    const params = year ? { year } : { since: $("#report-since").value.trim(), until: $("#report-until").value.trim() };
    let data;
    try {
      data = await api(`/v1/audit/reports/${encodeURIComponent(chosen)}`, params);
    } catch (err) {
      $("#report-error").textContent = err.message;
      card.replaceChildren();
      return;
    }
    const about = data.about || data; // statute reports say tenant and period under "about"
    const p = about.period || {};
    const period = p.since || p.until ? `${p.since ? utcText(p.since) : "the start"} to ${p.until ? utcText(p.until) : "now"}` : "all time";
    const out = [el("header", {}, el("h2", { text: `Report: ${data.report}` }),
      el("span", { class: "hint", id: "report-period", text: `tenant ${about.tenant} · ${period} (periods and months are UTC, as in the report file)` }))];
    const body = el("div", { class: "report-body" });
    renderSection(data, "", body);
    card.replaceChildren(...out, body);
    card.dataset.loaded = data.report;
  }

  // ---- verification ---------------------------------------------------------------------

  async function verify() {
    const out = $("#verify-result");
    const button = $("#verify-button");
    button.disabled = true;
    out.className = "";
    out.textContent = "Verifying…";
    try {
      const v = await api("/v1/audit/verify");
      if (v.ok) {
        out.className = "ok";
        const from = v.checkpoint ? ` after the checkpoint through record ${v.checkpoint.through_seq}` : "";
        const head = v.head ? `, head #${v.head.seq} ${short(v.head.hash)}` : "";
        const mine = v.tenant ? " readable by this tenant" : "";
        out.textContent = `Chain verified: ${v.checked} records${mine}${from}${head}`;
      } else {
        out.className = "bad";
        const bad = v.first_bad || {};
        const which = bad.seq ? `record #${bad.seq}${bad.id ? ` (${bad.id})` : ""}`
          : bad.id ? `record ${bad.id}` : v.tenant ? "a record" : "a checkpoint or the head";
        out.textContent = `Chain broken at ${which}: ${bad.problem}`;
      }
    } catch (err) {
      out.className = "bad";
      out.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  }

  // ---- routing --------------------------------------------------------------------------

  let listLoaded = false;

  function route() {
    if (!sessionStorage.getItem(KEY) || !me) { show("login"); return; }
    const hash = window.location.hash;
    let match = hash.match(/^#\/decision\/(.+)$/);
    if (match) { showDecision(decodeURIComponent(match[1])); return; }
    match = hash.match(/^#\/user\/(.+)$/);
    if (match) { showTimeline(decodeURIComponent(match[1]), false); return; }
    match = hash.match(/^#\/reports(?:\/(.+))?$/);
    if (match) { showReport(match[1] ? decodeURIComponent(match[1]) : ""); return; }
    show("list-view");
    if (!listLoaded) { listLoaded = true; loadRecords(true); loadCharts(); }
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const node of document.querySelectorAll(".tz")) node.textContent = ZONE;
    $("#login-form").addEventListener("submit", (e) => {
      e.preventDefault();
      sessionStorage.setItem(KEY, $("#key-input").value.trim());
      sessionStorage.removeItem(TENANT);
      $("#key-input").value = "";
      signIn();
    });
    $("#sign-out").addEventListener("click", () => signOut(""));
    $("#tenant-select").addEventListener("change", pickTenant);
    $("#search-form").addEventListener("submit", (e) => { e.preventDefault(); search(); });
    $("#filters").addEventListener("submit", (e) => { e.preventDefault(); loadRecords(true); loadCharts(); });
    $("#filters").addEventListener("reset", (e) => { e.preventDefault(); clearFilters(); loadRecords(true); loadCharts(); });
    $("#more").addEventListener("click", () => loadRecords(false));
    $("#export-button").addEventListener("click", exportRecords);
    $("#timeline-more").addEventListener("click", () => showTimeline(timelineUser, true));
    $("#report-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const target = `#/reports/${encodeURIComponent($("#report-select").value)}`;
      if (window.location.hash === target) showReport($("#report-select").value);
      else window.location.hash = target;
    });
    $("#report-select").addEventListener("change", () => listReports());
    $("#verify-button").addEventListener("click", verify);
    window.addEventListener("hashchange", route);
    if (sessionStorage.getItem(KEY)) signIn(); else show("login");
  });
})();
