// guardrail audit console: plain JavaScript, no build step, no third-party code.
// It calls only this gateway's /v1/audit API, with the auditor key kept in sessionStorage.
"use strict";

(() => {
  const KEY = "guardrail.auditKey";
  const SVG = "http://www.w3.org/2000/svg";
  const VERDICTS = ["allow", "rewrite", "defer", "block"];
  const FILTERS = ["since", "until", "bot", "user", "verdict", "rule", "policy_version"];
  const $ = (sel) => document.querySelector(sel);

  let cursor = null; // next_cursor of the last page shown
  let shown = 0;

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

  function badge(verdict) {
    return el("span", { class: `badge ${verdict}`, text: verdict });
  }

  function when(iso) {
    if (!iso) return "";
    return iso.replace("T", " ").replace(/(\.\d+)?\+00:00$/, "");
  }

  function short(hash, n = 12) {
    return hash ? `${hash.slice(0, n)}…` : "";
  }

  // ---- API ------------------------------------------------------------------------------

  class ApiError extends Error {}

  async function api(path, params) {
    const url = new URL(path, window.location.origin);
    for (const [name, value] of Object.entries(params || {})) {
      if (value !== "" && value !== null && value !== undefined) url.searchParams.set(name, value);
    }
    const response = await fetch(url, {
      headers: { Authorization: `Bearer ${sessionStorage.getItem(KEY) || ""}` },
      cache: "no-store",
    });
    const body = await response.json().catch(() => ({}));
    if (response.status === 401) {
      signOut("The key was refused; sign in again.");
      throw new ApiError("unauthorized");
    }
    if (!response.ok) {
      const detail = Array.isArray(body.detail)
        ? body.detail.map((d) => `${d.field}: ${d.message}`).join("; ")
        : body.detail || response.statusText;
      throw new ApiError(detail);
    }
    return body;
  }

  // ---- sign in --------------------------------------------------------------------------

  function show(view) {
    for (const id of ["login", "list-view", "detail-view"]) $(`#${id}`).hidden = id !== view;
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY);
    $("#who").hidden = true;
    $("#login-error").textContent = message || "";
    show("login");
  }

  async function signIn() {
    try {
      const who = await api("/v1/audit/me");
      $("#who-name").textContent = `${who.name} · tenant ${who.tenant} · ${who.role}`;
      $("#who").hidden = false;
      route();
      return true;
    } catch (err) {
      if (!(err instanceof ApiError && err.message === "unauthorized")) {
        signOut(`This key may not read the audit log: ${err.message}`);
      }
      return false;
    }
  }

  // ---- decisions list -------------------------------------------------------------------

  function filters() {
    const form = new FormData($("#filters"));
    const out = {};
    for (const name of FILTERS) out[name] = (form.get(name) || "").toString().trim();
    return out;
  }

  function row(item) {
    const rules = el("td", { class: "rules" });
    for (const rule of item.rules || []) rules.append(el("span", { text: rule }));
    const tr = el(
      "tr",
      { "data-id": item.id, tabindex: 0, title: "Open this decision" },
      el("td", { class: "mono", text: when(item.ts) }),
      el("td", { text: item.bot }),
      el("td", { class: "mono", text: short(item.user, 10) }),
      el("td", { text: item.channel }),
      el("td", { text: item.kind }),
      el("td", {}, badge(item.verdict)),
      rules,
      el("td", { text: item.policy }),
    );
    const open = () => { window.location.hash = `#/decision/${encodeURIComponent(item.id)}`; };
    tr.addEventListener("click", open);
    tr.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); });
    return tr;
  }

  async function loadDecisions(reset) {
    const body = $("#decisions tbody");
    $("#list-error").textContent = "";
    if (reset) { cursor = null; shown = 0; }
    let page;
    try {
      page = await api("/v1/audit/decisions", { ...filters(), limit: 50, cursor: reset ? "" : cursor });
    } catch (err) {
      $("#list-error").textContent = err.message;
      return;
    }
    if (reset) body.replaceChildren();
    for (const item of page.items) body.append(row(item));
    shown += page.items.length;
    cursor = page.next_cursor;
    $("#more").hidden = !cursor;
    $("#empty").hidden = shown > 0;
    $("#decision-count").textContent = cursor ? `(${shown} shown, more below)` : `(${shown})`;
    $("#decisions").dataset.loaded = "true";
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
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "verdicts per day" });
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
        rect.append(svg("title", {}, `${d.day}: ${d[v]} ${v}`));
        root.append(rect);
      }
      if (i % every === 0) {
        root.append(svg("text", { x: x + bar / 2, y: H - B + 16, "text-anchor": "middle" }, d.day.slice(5)));
      }
    });
    return root;
  }

  function ruleChart(rules) {
    const W = 420, rowH = 22, L = 150, R = 40;
    const H = Math.max(60, rules.length * rowH + 8);
    if (!rules.length) return nothing(W, 60, "No rule fired in this period");
    const max = Math.max(...rules.map((r) => r.count), 1);
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "top rules" });
    rules.forEach((r, i) => {
      const y = 4 + i * rowH;
      const w = Math.max(2, (r.count / max) * (W - L - R));
      root.append(svg("text", { x: L - 6, y: y + 13, "text-anchor": "end" }, r.rule));
      const rect = svg("rect", { x: L, y: y + 2, width: w, height: rowH - 8, class: "bar-rule", rx: 2 });
      rect.append(svg("title", {}, `${r.rule}: ${r.count}`));
      root.append(rect);
      root.append(svg("text", { x: L + w + 5, y: y + 13, class: "value" }, r.count));
    });
    return root;
  }

  function crisisChart(months) {
    const W = 300, H = 180, L = 26, B = 26, T = 12;
    if (!months.length) {
      return nothing(W, 80, "No crisis referral (rule ids crisis.*)");
    }
    const max = Math.max(...months.map((m) => m.count), 1);
    const band = (W - L - 8) / months.length;
    const bar = Math.min(40, band * 0.7);
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "crisis referrals per month" });
    root.append(svg("line", { x1: L, y1: H - B, x2: W - 8, y2: H - B, class: "axis" }));
    months.forEach((m, i) => {
      const h = (m.count / max) * (H - B - T - 12);
      const x = L + i * band + (band - bar) / 2;
      const rect = svg("rect", { x, y: H - B - h, width: bar, height: h, class: "bar-crisis" });
      rect.append(svg("title", {}, `${m.month}: ${m.count}`));
      root.append(rect);
      root.append(svg("text", { x: x + bar / 2, y: H - B - h - 4, "text-anchor": "middle", class: "value" }, m.count));
      root.append(svg("text", { x: x + bar / 2, y: H - B + 15, "text-anchor": "middle" }, m.month));
    });
    return root;
  }

  async function loadCharts() {
    const f = filters();
    let data;
    try {
      data = await api("/v1/audit/stats", { since: f.since, until: f.until, bot: f.bot });
    } catch (err) {
      $("#list-error").textContent = err.message;
      return;
    }
    chartBox("chart-verdicts").replaceChildren(verdictChart(data.verdicts_by_day));
    chartBox("chart-rules").replaceChildren(ruleChart(data.top_rules));
    chartBox("chart-crisis").replaceChildren(crisisChart(data.crisis_by_month));
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
    let d;
    try {
      d = await api(`/v1/audit/decisions/${encodeURIComponent(id)}`);
    } catch (err) {
      card.replaceChildren(el("p", { class: "error", text: err.message }));
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
    card.replaceChildren(
      el("header", {}, el("h2", { text: "Decision" }), badge(d.verdict),
        el("span", { class: "mono hint", id: "detail-id", text: d.id })),
      el("h3", { text: "What" }),
      facts([
        ["Time (UTC)", when(d.ts), "mono"],
        ["Recorded (UTC)", when(d.recorded_at), "mono"],
        ["Bot", d.bot],
        ["User (pseudonym)", d.user, "mono"],
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
    if (!sessionStorage.getItem(KEY)) { show("login"); return; }
    const match = window.location.hash.match(/^#\/decision\/(.+)$/);
    if (match) { showDecision(decodeURIComponent(match[1])); return; }
    show("list-view");
    if (!listLoaded) { listLoaded = true; loadDecisions(true); loadCharts(); }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("#login-form").addEventListener("submit", (e) => {
      e.preventDefault();
      sessionStorage.setItem(KEY, $("#key-input").value.trim());
      $("#key-input").value = "";
      listLoaded = false;
      signIn();
    });
    $("#sign-out").addEventListener("click", () => signOut(""));
    $("#filters").addEventListener("submit", (e) => { e.preventDefault(); loadDecisions(true); loadCharts(); });
    $("#filters").addEventListener("reset", () => setTimeout(() => { loadDecisions(true); loadCharts(); }, 0));
    $("#more").addEventListener("click", () => loadDecisions(false));
    $("#verify-button").addEventListener("click", verify);
    window.addEventListener("hashchange", route);
    if (sessionStorage.getItem(KEY)) signIn(); else show("login");
  });
})();
