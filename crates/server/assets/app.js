// Sentinel dashboard: plain JavaScript over the authenticated JSON API. No framework, no build step.
// The access token lives in sessionStorage and is refreshed with the refresh token before it
// expires; any 401 that a refresh cannot cure sends the browser to the sign-in page.
"use strict";

(() => {
  const store = window.sessionStorage;
  const K = { access: "sentinel.access", refresh: "sentinel.refresh", expires: "sentinel.expires" };
  const page = document.body.dataset.page;
  const pageId = document.body.dataset.id ? Number(document.body.dataset.id) : null;
  let me = null;

  // ---------- DOM helpers ----------
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined || kid === false) continue;
      el.append(kid instanceof Node ? kid : String(kid));
    }
    return el;
  }
  const SVG = "http://www.w3.org/2000/svg";
  function s(tag, attrs, ...kids) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) el.setAttribute(k, v);
    for (const kid of kids.flat()) if (kid !== null && kid !== undefined) el.append(kid instanceof Node ? kid : String(kid));
    return el;
  }
  /** Like replaceChildren, skipping null/false (conditional children). */
  const put = (el, ...kids) => el.replaceChildren(...kids.flat().filter((k) => k !== null && k !== undefined && k !== false));
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const label = (v) => (v === null || v === undefined || v === "" ? "—" : String(v).replace(/_/g, " ").replace(/^llm\b/, "LLM").replace(/^./, (c) => c.toUpperCase()));
  const cost = (v) => "$" + (v >= 0.01 ? Number(v).toFixed(2) : String(Number(Number(v).toPrecision(2))));
  const micros = (v) => (v ? (v >= 1000 ? `${(v / 1000).toFixed(1)} ms` : `${Number(v).toFixed(0)} µs`) : "—");
  const badge = (v, kind) => h("span", { class: `badge ${kind || "st"}-${v}` }, label(v));
  const sev = (v) => badge(v, "sev");
  const num = (v) => (v === null || v === undefined ? "—" : Number(v).toLocaleString());
  function fmtTime(ts) {
    if (!ts) return "—";
    const d = new Date(ts);
    return d.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }
  function timeEl(ts) { return h("time", { class: "time", datetime: ts || "" }, fmtTime(ts)); }
  /** Time of day for today, a short date otherwise (the live feed's narrow column). */
  function feedTime(ts) {
    const d = new Date(ts);
    const today = d.toDateString() === new Date().toDateString();
    const text = today ? d.toLocaleTimeString() : d.toLocaleDateString(undefined, { month: "short", day: "numeric" }) + " " + d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
    return h("time", { class: "time", datetime: ts, title: fmtTime(ts) }, text);
  }
  function td(lbl, ...kids) { return h("td", { "data-label": lbl }, ...kids); }
  function empty(tbody, cols, text) {
    put(tbody, h("tr", {}, h("td", { colspan: cols, class: "empty" }, text)));
  }

  let flashTimer = null;
  function flash(text, isError) {
    const el = $("#flash");
    if (!el) return;
    el.textContent = text;
    el.className = isError ? "flash flash-error" : "flash";
    el.hidden = false;
    clearTimeout(flashTimer);
    flashTimer = setTimeout(() => { el.hidden = true; }, isError ? 7000 : 3500);
  }

  // ---------- Authentication ----------
  function toLogin() {
    store.removeItem(K.access);
    store.removeItem(K.refresh);
    store.removeItem(K.expires);
    if (page !== "login") {
      location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
    }
  }
  function saveTokens(t) {
    store.setItem(K.access, t.access_token);
    store.setItem(K.refresh, t.refresh_token);
    store.setItem(K.expires, String(Date.now() + (t.expires_in || 900) * 1000));
    scheduleRefresh();
  }
  let refreshing = null;
  function refresh() {
    if (refreshing) return refreshing;
    const rt = store.getItem(K.refresh);
    if (!rt) { toLogin(); return Promise.reject(new Error("signed out")); }
    refreshing = fetch("/api/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: rt }),
    }).then(async (res) => {
      if (!res.ok) { toLogin(); throw new Error("session expired"); }
      saveTokens(await res.json());
    }).finally(() => { refreshing = null; });
    return refreshing;
  }
  let refreshTimer = null;
  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    const exp = Number(store.getItem(K.expires) || 0);
    if (!exp) return;
    // One minute before expiry, or at once when less than that remains.
    refreshTimer = setTimeout(() => { refresh().catch(() => {}); }, Math.max(0, exp - Date.now() - 60000));
  }
  async function token() {
    if (!store.getItem(K.access)) { toLogin(); throw new Error("signed out"); }
    if (Number(store.getItem(K.expires) || 0) - Date.now() < 60000) await refresh();
    return store.getItem(K.access);
  }

  class ApiError extends Error {
    constructor(status, body) {
      super(describe(body) || `HTTP ${status}`);
      this.status = status;
      this.body = body;
    }
  }
  function describe(body) {
    if (!body) return "";
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) {
      return body.detail.map((d) => `${(d.loc || []).filter((p) => p !== "body").join(".")}: ${d.msg}`).join("; ");
    }
    return "";
  }

  /** Calls the JSON API with the bearer token; answers `{data, total}`. */
  async function api(method, path, body, retried) {
    const headers = { Authorization: "Bearer " + (await token()), Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (res.status === 401 && !retried) {
      await refresh();
      return api(method, path, body, true);
    }
    if (res.status === 401) { toLogin(); throw new ApiError(401, null); }
    let data = null;
    const text = await res.text();
    if (text) { try { data = JSON.parse(text); } catch (_) { data = null; } }
    if (!res.ok) throw new ApiError(res.status, data);
    const total = res.headers.get("x-total-count");
    return { data, total: total === null ? null : Number(total) };
  }
  const get = async (path) => (await api("GET", path)).data;
  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") q.set(k, v);
    const str = q.toString();
    return str ? "?" + str : "";
  }

  // ---------- Shared page furniture ----------
  async function initChrome() {
    const toggle = $(".nav-toggle");
    if (toggle) {
      toggle.addEventListener("click", () => {
        const open = $(".sidebar").classList.toggle("open");
        toggle.setAttribute("aria-expanded", String(open));
      });
    }
    const logout = $("#logout");
    if (logout) {
      logout.addEventListener("click", async () => {
        const rt = store.getItem(K.refresh);
        try {
          await fetch("/api/auth/logout", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ refresh_token: rt }) });
        } catch (_) { /* signed out locally anyway */ }
        store.clear();
        location.href = "/login";
      });
    }
    me = await get("/api/auth/me");
    // Viewers read; controls that change things are hidden from them (the API refuses anyway).
    document.body.dataset.role = me.role;
    $("#me-name").textContent = me.username;
    const role = $("#me-role");
    role.textContent = me.role;
    if (me.role === "admin") $$(".admin-only").forEach((el) => { el.hidden = false; });
  }

  /** Filters kept in the address bar so a filtered view can be linked and reloaded. */
  function bindFilters(form, load) {
    const q = new URLSearchParams(location.search);
    for (const el of form.elements) if (el.name && q.has(el.name)) el.value = q.get(el.name);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const p = new URLSearchParams();
      for (const el of form.elements) if (el.name && el.value) p.set(el.name, el.value);
      const str = p.toString();
      history.replaceState(null, "", str ? "?" + str : location.pathname);
      load(0);
    });
    form.addEventListener("reset", () => setTimeout(() => form.requestSubmit(), 0));
  }
  function formValues(form) {
    const out = {};
    for (const el of form.elements) {
      if (!el.name || !el.value) continue;
      if (el.type === "date") out[el.name] = el.value + (el.name === "until" ? "T23:59:59Z" : "T00:00:00Z");
      else out[el.name] = el.value;
    }
    return out;
  }
  function renderPager(nav, skip, limit, total, go) {
    if (!nav) return;
    put(nav);
    if (!total) return;
    const from = skip + 1;
    const to = Math.min(skip + limit, total);
    const prev = h("button", { type: "button", class: "btn btn-sm", disabled: skip === 0, onclick: () => go(Math.max(0, skip - limit)) }, "← Previous");
    const next = h("button", { type: "button", class: "btn btn-sm", disabled: to >= total, onclick: () => go(skip + limit) }, "Next →");
    nav.append(h("span", {}, `${from}–${to} of ${num(total)}`), h("div", {}, prev, next));
  }

  // ---------- Text with findings highlighted in place ----------
  /** `findings` carry char_start/char_end in Unicode scalar values, so index code points. */
  function highlighted(text, findings) {
    const chars = Array.from(text || "");
    const spans = findings
      .filter((f) => f.char_end > f.char_start && f.char_end <= chars.length)
      .sort((a, b) => a.char_start - b.char_start || b.char_end - a.char_end);
    const out = [];
    let at = 0;
    for (const f of spans) {
      if (f.char_start < at) continue; // overlapping: the earlier, longer span wins
      if (f.char_start > at) out.push(chars.slice(at, f.char_start).join(""));
      out.push(h("mark", { "data-entity": f.entity || f.detector, title: `${f.detector} · ${f.entity} · score ${Number(f.score).toFixed(2)}` }, chars.slice(f.char_start, f.char_end).join("")));
      at = f.char_end;
    }
    if (at < chars.length) out.push(chars.slice(at).join(""));
    return out;
  }
  function findingList(findings) {
    if (!findings.length) return h("p", { class: "muted small" }, "No findings.");
    return h("ul", { class: "finding-list" }, findings.map((f) => h("li", {},
      h("span", { class: "kind" }, f.target),
      h("strong", {}, f.entity || f.detector),
      h("span", { class: "muted" }, `${f.detector} · characters ${f.char_start}–${f.char_end} · score ${Number(f.score).toFixed(2)}`),
      f.explanation ? h("span", {}, f.explanation) : null)));
  }

  // ---------- Login ----------
  function initLogin() {
    const form = $("#login-form");
    const err = $("#login-error");
    if (store.getItem(K.access) && Number(store.getItem(K.expires) || 0) > Date.now()) {
      location.replace(nextUrl());
      return;
    }
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      err.hidden = true;
      const button = $("#login-submit");
      button.disabled = true;
      try {
        const res = await fetch("/api/auth/login", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ username: $("#username").value.trim(), password: $("#password").value }),
        });
        const body = await res.json().catch(() => null);
        if (!res.ok) throw new Error(describe(body) || `Sign-in failed (HTTP ${res.status})`);
        saveTokens(body);
        location.replace(nextUrl());
      } catch (ex) {
        err.textContent = ex.message;
        err.hidden = false;
        $("#password").select();
      } finally {
        button.disabled = false;
      }
    });
  }
  function nextUrl() {
    const next = new URLSearchParams(location.search).get("next") || "/";
    // Only same-site paths: never an open redirect.
    return next.startsWith("/") && !next.startsWith("//") ? next : "/";
  }

  // ---------- Overview ----------
  async function initOverview() {
    const days = $("#timeline-days");
    days.addEventListener("change", () => loadTimeline(Number(days.value)));
    $("#refresh").addEventListener("click", () => loadOverview(Number(days.value)));
    let lastSeries = null;
    window.addEventListener("resize", () => { if (lastSeries) drawTimeline(lastSeries); });
    async function loadTimeline(n) {
      const items = await get(`/api/dashboard/events/timeline?days=${n}`);
      lastSeries = fillDays(items, n);
      drawTimeline(lastSeries);
    }
    async function loadOverview(n) {
      const [stats, byCat, byStatus, perf, recent] = await Promise.all([
        get("/api/dashboard/stats"),
        get("/api/dashboard/violations/by-category"),
        get("/api/dashboard/policies/by-status"),
        get("/api/dashboard/performance-metrics"),
        get("/api/dashboard/recent-activity?limit=8"),
        loadTimeline(n),
      ]);
      for (const card of $$("[data-stat]")) {
        $(".stat-value", card).textContent = num(stats[card.dataset.stat]);
      }
      bars($("#by-category"), byCat.map((c) => [c.category, c.count, ""]), "No violations yet.");
      bars($("#by-status"), byStatus.map((c) => [c.status, c.count, "st-" + c.status]), "No policies yet.");
      renderPerformance(perf);
      renderRecent(recent);
    }
    await loadOverview(7);
    // New activity refreshes the figures (at most once a second); a slow poll covers the rest.
    let pending = null;
    const soon = () => {
      if (pending) return;
      pending = setTimeout(() => { pending = null; loadOverview(Number(days.value)).catch(() => {}); }, 1000);
    };
    liveSocket((msg) => { if (msg.type !== "lagged") soon(); }, () => {});
    setInterval(soon, 60000);
  }
  function fillDays(items, n) {
    const byDate = new Map(items.map((i) => [i.date, i]));
    const out = [];
    const today = new Date();
    for (let i = n - 1; i >= 0; i--) {
      const d = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - i));
      const key = d.toISOString().slice(0, 10);
      const item = byDate.get(key);
      out.push({ date: key, total: item ? item.total : 0, b: item ? item.severity_breakdown : { low: 0, medium: 0, high: 0, critical: 0 } });
    }
    return out;
  }
  /** A round axis maximum that splits into four round steps. */
  function niceMax(v) {
    const raw = Math.max(1, v / 4);
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 3, 4, 5, 6, 8, 10].map((m) => m * p).find((x) => x >= raw);
    return step * 4;
  }
  function drawTimeline(series) {
    const box = $("#timeline");
    const W = Math.max(280, box.clientWidth);
    const H = 240;
    const pad = { l: 36, r: 8, t: 10, b: 26 };
    const max = niceMax(Math.max(1, ...series.map((d) => d.total)));
    const iw = W - pad.l - pad.r;
    const ih = H - pad.t - pad.b;
    const step = iw / series.length;
    const bw = Math.max(3, Math.min(36, step * 0.62));
    const y = (v) => pad.t + ih - (v / max) * ih;
    const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H });
    for (let i = 0; i <= 4; i++) {
      const v = (max / 4) * i;
      svg.append(s("line", { class: i === 0 ? "axis" : "grid-line", x1: pad.l, x2: W - pad.r, y1: y(v), y2: y(v) }));
      svg.append(s("text", { x: pad.l - 6, y: y(v) + 4, "text-anchor": "end" }, num(Math.round(v))));
    }
    const every = Math.ceil(series.length / Math.max(1, Math.floor(iw / 56)));
    series.forEach((d, i) => {
      const x = pad.l + step * i + (step - bw) / 2;
      let acc = 0;
      for (const level of ["low", "medium", "high", "critical"]) {
        const v = d.b[level] || 0;
        if (!v) continue;
        const rect = s("rect", { class: "seg-" + level, x, width: bw, y: y(acc + v), height: Math.max(1, y(acc) - y(acc + v)), rx: 2 });
        rect.append(s("title", {}, `${d.date}: ${v} ${level}`));
        svg.append(rect);
        acc += v;
      }
      if (i % every === 0 || i === series.length - 1) {
        const [, m, dd] = d.date.split("-");
        svg.append(s("text", { x: pad.l + step * i + step / 2, y: H - 8, "text-anchor": "middle" }, `${Number(dd)}/${Number(m)}`));
      }
    });
    const total = series.reduce((a, d) => a + d.total, 0);
    box.setAttribute("aria-label", `Events per day by severity: ${total} events over ${series.length} days`);
    put(box, svg);
  }
  function bars(box, rows, emptyText) {
    if (!rows.length) { put(box, h("p", { class: "empty" }, emptyText)); return; }
    const max = Math.max(...rows.map((r) => r[1]), 1);
    put(box, ...rows.map(([name, count, cls]) => {
      const fill = h("span", { class: "bar-fill " + cls });
      fill.style.width = `${Math.max(2, (count / max) * 100)}%`;
      return h("div", { class: "bar-row" }, h("span", {}, label(name)), h("span", { class: "bar-track", "aria-hidden": "true" }, fill), h("span", { class: "bar-count" }, num(count)));
    }));
  }
  function renderPerformance(perf) {
    const box = $("#performance");
    const rows = perf.policy_performance || [];
    const table = h("table", { class: "table table-compact" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Mode"), h("th", { scope: "col", class: "num" }, "Policies"), h("th", { scope: "col", class: "num" }, "Latency"), h("th", { scope: "col", class: "num" }, "Cost"))),
      h("tbody", {}, rows.length ? rows.map((r) => h("tr", {},
        td("Mode", label(r.mode)), h("td", { class: "num", "data-label": "Policies" }, num(r.policy_count)),
        h("td", { class: "num", "data-label": "Latency" }, `${Number(r.avg_latency_ms).toFixed(2)} ms`),
        h("td", { class: "num", "data-label": "Cost / event" }, cost(r.avg_cost_per_event)))) : h("tr", {}, h("td", { colspan: 4, class: "empty" }, "No policies yet."))));
    put(box, table, h("p", { class: "muted small" }, `Average event duration: ${Number(perf.avg_event_duration_ms || 0).toFixed(1)} ms`));
  }
  function renderRecent(items) {
    const list = $("#recent");
    if (!items.length) { put(list, h("li", { class: "empty" }, "No activity yet.")); return; }
    put(list, ...items.map((a) => h("li", {},
      h("span", { class: a.type === "violation" ? "kind kind-violation" : "kind" }, a.type),
      h("a", { href: a.type === "event" ? `/events/${a.id}` : `/violations` }, a.title || `#${a.id}`),
      h("span", { class: "meta" }, fmtTime(a.timestamp), " · ", label(a.severity), " · ", label(a.status)))));
  }

  // ---------- Live feed ----------
  /**
   * Opens `/api/events/ws` with the access token (browsers cannot set headers on a WebSocket) and
   * keeps it open: reconnects with backoff, with a fresh token when it is about to expire.
   */
  function liveSocket(onMessage, onState) {
    let failures = 0;
    async function connect() {
      let t;
      try { t = await token(); } catch (_) { return; }
      const proto = location.protocol === "https:" ? "wss:" : "ws:";
      const ws = new WebSocket(`${proto}//${location.host}/api/events/ws?token=${encodeURIComponent(t)}`);
      ws.addEventListener("open", () => { failures = 0; onState(true); document.body.dataset.live = "open"; });
      ws.addEventListener("message", (ev) => {
        let msg;
        try { msg = JSON.parse(ev.data); } catch (_) { return; }
        onMessage(msg);
      });
      ws.addEventListener("close", async () => {
        document.body.dataset.live = "closed";
        failures++;
        onState(false);
        // A rejected token shows up as a failed upgrade: let the API decide whether to sign in again.
        if (failures >= 3) { try { await get("/api/auth/me"); } catch (_) { return; } }
        setTimeout(connect, Math.min(15000, 500 * 2 ** Math.min(failures, 5)));
      });
    }
    connect();
  }

  function initLive() {
    const feed = $("#feed");
    const status = $("#live-status");
    const pauseBtn = $("#live-pause");
    let paused = false;
    let buffered = [];
    const counts = { events: 0, violations: 0 };
    const shown = () => new Set($$(".live-filter").filter((c) => c.checked).map((c) => c.value));
    $$(".live-filter").forEach((c) => c.addEventListener("change", applyFilter));
    function applyFilter() {
      const on = shown();
      for (const li of feed.children) li.hidden = !on.has(li.dataset.kind);
    }
    pauseBtn.addEventListener("click", () => {
      paused = !paused;
      pauseBtn.setAttribute("aria-pressed", String(paused));
      pauseBtn.textContent = paused ? `Resume${buffered.length ? ` (${buffered.length})` : ""}` : "Pause";
      if (!paused) { buffered.forEach(add); buffered = []; }
    });
    $("#live-clear").addEventListener("click", () => { put(feed); $("#feed-empty").hidden = false; });
    function setStatus(text, on) { status.textContent = text; status.className = "conn " + (on ? "conn-on" : "conn-off"); }
    function item(msg) {
      const ts = new Date().toISOString();
      switch (msg.type) {
        case "new_event": {
          const e = msg.event;
          counts.events++;
          return { kind: "event", id: `event-${e.id}`, ts: e.trigger_date || ts, tag: "Event", title: h("a", { href: `/events/${e.id}` }, e.title), right: [sev(e.severity), badge(e.status)] };
        }
        case "event_updated": {
          const e = msg.event;
          return { kind: "event", ts, tag: "Event", title: h("a", { href: `/events/${e.id}` }, `Event #${e.id} is now ${label(e.status).toLowerCase()}`), right: [badge(e.status)] };
        }
        case "new_violation": {
          const v = msg.violation;
          counts.violations++;
          return { kind: "violation", id: `violation-${v.id}`, ts: v.created_at || ts, tag: "Violation", title: h("a", { href: `/events/${v.event_id}` }, v.title || label(v.violation_type)), right: [sev(v.severity), badge(v.status), h("a", { class: "btn btn-sm", href: "/violations?status=detected" }, "Triage")] };
        }
        case "violation_updated": {
          const v = msg.violation;
          return { kind: "violation", ts, tag: "Violation", title: `Violation #${v.id} is now ${label(v.status).toLowerCase()}`, right: [badge(v.status)] };
        }
        case "policy_changed": {
          const p = msg.policy;
          return { kind: "policy", ts, tag: "Policy", title: h("a", { href: `/policies/${p.id}` }, `Policy #${p.id}: ${label(p.change).toLowerCase()}`), right: [p.status ? badge(p.status) : null] };
        }
        case "lagged":
          return { kind: "event", ts, tag: "Notice", title: `Missed ${msg.missed} messages while the connection was slow.`, right: [] };
        default:
          return null;
      }
    }
    function add(msg) {
      const it = item(msg);
      if (!it) return;
      $("#count-events").textContent = num(counts.events);
      $("#count-violations").textContent = num(counts.violations);
      const tagClass = it.kind === "violation" ? "kind kind-violation" : it.kind === "policy" ? "kind kind-policy" : "kind";
      const li = h("li", { "data-kind": it.kind, id: it.id || null, class: "feed-" + msg.type },
        feedTime(it.ts), h("span", {}, h("span", { class: tagClass }, it.tag)), h("span", { class: "feed-title" }, it.title), h("span", { class: "row-actions" }, it.right));
      li.hidden = !shown().has(it.kind);
      feed.prepend(li);
      while (feed.children.length > 300) feed.lastElementChild.remove();
      $("#feed-empty").hidden = true;
    }
    liveSocket((msg) => {
      if (paused) {
        buffered.push(msg);
        pauseBtn.textContent = `Resume (${buffered.length})`;
      } else {
        add(msg);
      }
    }, (open) => setStatus(open ? "Live" : "Reconnecting…", open));
    // The latest activity, as context until live messages arrive.
    get("/api/dashboard/recent-activity?limit=10").then((items) => {
      for (const a of items) {
        const kind = a.type === "violation" ? "violation" : "event";
        const li = h("li", { "data-kind": kind, class: "feed-history" },
          feedTime(a.timestamp), h("span", {}, h("span", { class: kind === "violation" ? "kind kind-violation" : "kind" }, a.type)),
          h("span", { class: "feed-title" }, h("a", { href: a.type === "event" ? `/events/${a.id}` : "/violations" }, a.title || `#${a.id}`)),
          h("span", { class: "row-actions" }, sev(a.severity), badge(a.status)));
        li.hidden = !shown().has(kind);
        feed.append(li);
      }
      if (items.length) $("#feed-empty").hidden = true;
    }).catch(() => {});
  }

  // ---------- Events ----------
  function initEvents() {
    const form = $("#filters");
    const tbody = $("#events-table tbody");
    const limit = 25;
    async function load(skip) {
      const { data, total } = await api("GET", "/api/events/" + query({ ...formValues(form), skip, limit }));
      if (!data.length) empty(tbody, 6, "No events match these filters.");
      else put(tbody, ...data.map((e) => h("tr", {},
        td("Time", timeEl(e.trigger_date)),
        h("td", { class: "title", "data-label": "Event" }, h("span", { class: "cell-stack" },
          h("a", { href: `/events/${e.id}` }, e.title),
          h("span", { class: "muted small" }, [e.source, e.model_name].filter(Boolean).join(" · ") || "No source"))),
        h("td", { class: "nowrap", "data-label": "Type" }, label(e.event_type)),
        td("Severity", sev(e.severity)),
        td("Decision", e.decision ? badge(e.decision) : "—"),
        td("Status", badge(e.status)))));
      renderPager($(".pager"), skip, limit, total, load);
    }
    bindFilters(form, load);
    return load(0);
  }

  // What the gateway recorded of a proxied call (docs/GATEWAY.md), when the event is one.
  function gatewayFacts(m, fact) {
    const card = $("#event-gateway");
    if (!m || m.gateway !== true) { card.hidden = true; return; }
    const ms = (v) => (typeof v === "number" ? `${v.toFixed(v < 10 ? 2 : 0)} ms` : "—");
    const texts = m.texts ? Object.entries(m.texts).map(([k, n]) => `${n} ${label(k).toLowerCase()}`).join(", ") : "—";
    put($("#event-gateway-facts"),
      fact("API", `${m.api || "—"} · ${m.operation || "—"}`), fact("Upstream", m.upstream || "—"),
      fact("Streamed", m.stream ? "yes" : "no"), fact("Upstream status", m.upstream_status ?? "—"),
      fact("Upstream latency", ms(m.upstream_latency_ms)), fact("Time to first token", ms(m.time_to_first_token_ms)),
      fact("Sentinel added", ms(m.sentinel_added_ms)),
      fact("Cost", typeof m.cost_usd === "number" ? `$${m.cost_usd.toFixed(6)}` : "—"),
      fact("Texts read", texts),
      fact("Scanned", m.scanned === false ? `no: ${(m.unscanned || []).join(", ")}` : "every part"),
      fact("Redacted", `${num(m.redacted_in || 0)} in / ${num(m.redacted_out || 0)} out`),
      fact("Pseudonyms restored", num(m.restored_out || 0)),
      m.blocked_at ? fact("Blocked", `${m.blocked_at}${m.delivered_chars != null && m.blocked_at === "response" ? `, after ${num(m.delivered_chars)} characters` : ""}`) : null,
      m.environment ? fact("Environment", m.environment) : null,
      m.error ? fact("Error", m.error) : null,
      m.client_disconnected ? fact("Client", "disconnected before the end") : null);
    card.hidden = false;
  }

  async function initEvent() {
    const id = pageId;
    let event;
    try {
      event = await get(`/api/events/${id}`);
    } catch (ex) {
      $("#page-title").textContent = "Event not found";
      put($("#event-facts"), h("p", { class: "empty" }, ex.message));
      return;
    }
    const violations = await get(`/api/events/${id}/violations`);
    $("#page-title").textContent = event.title;
    document.title = `${event.title} · Sentinel`;
    const fact = (k, v) => h("div", {}, h("dt", {}, k), h("dd", {}, v));
    put($("#event-facts"), 
      fact("Event ID", h("code", {}, event.event_id)), fact("Type", label(event.event_type)), fact("Severity", sev(event.severity)),
      fact("Status", badge(event.status)), fact("Decision", event.decision ? badge(event.decision) : "—"), fact("Source", event.source || "—"),
      fact("Model", event.model_name || "—"), fact("Triggered", timeEl(event.trigger_date)),
      fact("Tokens", event.request_tokens || event.response_tokens ? `${num(event.request_tokens)} in / ${num(event.response_tokens)} out` : "—"),
      fact("Duration", event.duration_ms ? `${Number(event.duration_ms).toFixed(0)} ms` : "—"),
      fact("Acknowledged", event.acknowledged_date ? timeEl(event.acknowledged_date) : "—"),
      event.description ? fact("Description", event.description) : null);
    gatewayFacts(event.metadata, fact);
    let prompt = event.prompt;
    let completion = event.completion;
    if ((!prompt || !completion) && event.event_data) {
      try {
        const data = JSON.parse(event.event_data);
        if (!prompt && typeof data.prompt === "string") prompt = data.prompt;
        if (!completion && typeof data.completion === "string") completion = data.completion;
      } catch (_) { /* not JSON */ }
    }
    const findings = violations.flatMap((v) => v.findings || []);
    const fill = (el, text, target) => {
      if (!text) { put(el, h("span", { class: "muted" }, "Not recorded.")); return; }
      put(el, ...highlighted(text, findings.filter((f) => f.target === target)));
    };
    fill($("#event-prompt"), prompt, "prompt");
    fill($("#event-completion"), completion, "completion");
    const box = $("#event-violations");
    if (!violations.length) put(box, h("p", { class: "empty" }, "No policy was breached by this event."));
    else put(box, ...violations.map((v) => h("article", { class: "violation-block" },
      h("header", {}, h("strong", {}, v.title || label(v.violation_type)), sev(v.severity), badge(v.status),
        h("span", { class: "muted small" }, `${label(v.violation_type)} · confidence ${(v.confidence_score * 100).toFixed(0)}%`),
        v.policy_id ? h("a", { class: "small", href: `/policies/${v.policy_id}` }, "Policy →") : null),
      v.description ? h("p", { class: "small" }, v.description) : null,
      findingList(v.findings || []))));
    const update = async (status) => {
      try {
        await api("PUT", `/api/events/${id}`, { status, acknowledged_by: me ? me.id : null });
        flash(`Event ${label(status).toLowerCase()}.`);
        initEvent();
      } catch (ex) { flash(ex.message, true); }
    };
    $("#event-ack").onclick = () => update("acknowledged");
    $("#event-resolve").onclick = () => update("resolved");
  }

  // ---------- Violations triage ----------
  const TRIAGE = [
    ["acknowledged", "Acknowledge", "M5 12l5 5L20 7"],
    ["investigating", "Investigate", "M11 18a7 7 0 1 0 0-14 7 7 0 0 0 0 14zM16 16l5 5"],
    ["resolved", "Resolve", "M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM8 12l3 3 5-6"],
    ["false_positive", "False positive", "M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM5.6 5.6l12.8 12.8"],
  ];
  const svgIcon = (d) => s("svg", { viewBox: "0 0 24 24", "aria-hidden": "true", class: "icon" }, s("path", { d }));
  function initViolations() {
    const form = $("#filters");
    const tbody = $("#violations-table tbody");
    const all = $("#select-all");
    const bulk = $("#bulk");
    const limit = 25;
    let skip = 0;
    // The selection outlives a reload of the list (a row action, a filter, a page change): ids
    // still on the page stay checked; ids that left it, or were just updated, are dropped, and
    // ids whose update failed stay selected for another try.
    const picked = new Set();
    const selected = () => [...picked];
    const pick = (id, on) => { if (on) picked.add(id); else picked.delete(id); };
    function syncBulk() {
      const n = picked.size;
      bulk.hidden = n === 0;
      $("#bulk-count").textContent = String(n);
      const boxes = $$("input.pick", tbody);
      all.checked = boxes.length > 0 && n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
    }
    async function setStatus(ids, status) {
      const body = status === "acknowledged" ? { status, acknowledged_by: me ? me.id : null } : { status };
      const results = await Promise.allSettled(ids.map((id) => api("PUT", `/api/violations/${id}`, body)));
      const failed = results.filter((r) => r.status === "rejected");
      if (failed.length) flash(`${failed.length} of ${ids.length} could not be updated: ${failed[0].reason.message}`, true);
      else flash(`${ids.length} violation${ids.length > 1 ? "s" : ""} marked ${label(status).toLowerCase()}.`);
      ids.forEach((id, i) => { if (results[i].status === "fulfilled") picked.delete(id); });
      await load(skip);
    }
    async function load(from) {
      skip = from;
      const { data, total } = await api("GET", "/api/violations/" + query({ ...formValues(form), skip, limit }));
      const shown = new Set(data.map((v) => v.id));
      [...picked].filter((id) => !shown.has(id)).forEach((id) => picked.delete(id));
      if (!data.length) empty(tbody, 6, "No violations match these filters.");
      else put(tbody, ...data.map((v) => h("tr", { "data-id": v.id },
        h("td", { "data-label": "Select" }, h("input", { type: "checkbox", class: "pick", value: v.id, checked: picked.has(v.id), "aria-label": `Select violation ${v.id}`, onchange: (e) => { pick(v.id, e.target.checked); syncBulk(); } })),
        td("Detected", timeEl(v.created_at)),
        h("td", { class: "title", "data-label": "Violation" }, h("span", { class: "cell-stack" },
          v.event_id ? h("a", { href: `/events/${v.event_id}` }, v.title || label(v.violation_type)) : (v.title || label(v.violation_type)),
          h("span", { class: "muted small" }, `${label(v.violation_type)} · ${(v.confidence_score * 100).toFixed(0)}% confidence`))),
        td("Severity", sev(v.severity)),
        td("Status", badge(v.status)),
        h("td", { class: "analyst-only", "data-label": "Triage" }, h("span", { class: "row-actions icon-actions" }, TRIAGE.map(([st, text, icon]) =>
          h("button", { type: "button", class: "btn btn-icon", "data-action": st, disabled: st === v.status, title: text, "aria-label": `${text}: violation ${v.id}`, onclick: () => setStatus([v.id], st) }, svgIcon(icon))))))));
      renderPager($(".pager"), skip, limit, total, load);
      syncBulk();
    }
    all.addEventListener("change", () => { $$("input.pick", tbody).forEach((c) => { c.checked = all.checked; pick(Number(c.value), all.checked); }); syncBulk(); });
    $$("[data-bulk]", bulk).forEach((b) => b.addEventListener("click", () => setStatus(selected(), b.dataset.bulk)));
    bindFilters(form, load);
    return load(0);
  }

  // ---------- Policies ----------
  function initPolicies() {
    const form = $("#filters");
    const tbody = $("#policies-table tbody");
    const limit = 50;
    async function setStatus(p, status) {
      try {
        await api("PUT", `/api/policies/${p.id}`, { status });
        flash(`${p.name} ${status === "open" ? "enabled" : "paused"}.`);
      } catch (ex) { flash(ex.message, true); }
      load(0);
    }
    async function promote(id, name) {
      try {
        await api("POST", `/api/policies/${id}/promote`);
        flash(`${name} promoted: it is enforced now.`);
      } catch (ex) { flash(ex.message, true); }
      load(0);
    }
    const promoteButton = (id, name) => h("button", { type: "button", class: "btn btn-sm btn-success analyst-only", title: "Enforce this shadow policy", onclick: () => promote(id, name) }, "Promote");
    // Backtests: a panel of the latest jobs, with a progress bar, refreshed while one runs.
    let backtestTimer = null;
    async function backtest(id, name) {
      try {
        await api("POST", "/api/policies/backtest", { policy_id: id, since: "7d" });
        flash(`Backtest of ${name} over the last 7 days started.`);
      } catch (ex) { flash(ex.message, true); }
      loadBacktests();
    }
    async function cancelBacktest(id) {
      try { await api("POST", `/api/policies/backtests/${id}/cancel`); } catch (ex) { flash(ex.message, true); }
      loadBacktests();
    }
    const backtestButton = (id, name) => h("button", { type: "button", class: "btn btn-sm analyst-only", title: "Replay this policy over the last 7 days of stored traffic", onclick: () => backtest(id, name) }, "Backtest 7 days");
    async function loadBacktests() {
      clearTimeout(backtestTimer);
      const { data } = await api("GET", "/api/policies/backtests" + query({ limit: 5 }));
      const card = $("#backtest-card");
      card.hidden = !data.length;
      put($("#backtest-table tbody"), ...data.map((b) => {
        const r = b.result;
        const name = (b.request.candidate || []).map((c) => c.name).join(", ");
        const running = b.status === "queued" || b.status === "running";
        return h("tr", { "data-id": b.id },
          h("td", { class: "title", "data-label": "Candidate" }, h("span", { class: "cell-stack" }, h("span", {}, name || `#${b.id}`), h("span", { class: "muted small" }, `${fmtTime(b.request.since)} – ${fmtTime(b.request.until)}`))),
          td("Status", badge(b.status)),
          td("Progress", h("progress", { max: "1", value: String(b.progress), title: `${Math.round(b.progress * 100)}%` })),
          h("td", { class: "num", "data-label": "Flagged / scanned" }, r ? `${num(r.events_flagged)} / ${num(r.events_scanned)}` : `${num(b.flagged)} / ${num(b.scanned)}`),
          h("td", { class: "num", "data-label": "Newly / no longer flagged" }, r ? `${num(r.versus_enforced.newly_flagged)} / ${num(r.versus_enforced.no_longer_flagged)}` : "–"),
          h("td", { class: "num", "data-label": "Not replayable" }, r ? num(r.not_replayable) : "–"),
          td("Actions", h("span", { class: "row-actions" }, running ? h("button", { type: "button", class: "btn btn-sm analyst-only", onclick: () => cancelBacktest(b.id) }, "Cancel") : null)));
      }));
      if (data.some((b) => b.status === "queued" || b.status === "running")) backtestTimer = setTimeout(() => loadBacktests().catch(() => {}), 1000);
    }
    async function loadShadow() {
      const rows = await get("/api/dashboard/shadow");
      const card = $("#shadow-card");
      card.hidden = !rows.length;
      put($("#shadow-table tbody"), ...rows.map((r) => h("tr", { "data-id": r.policy_id },
        h("td", { class: "title", "data-label": "Policy" }, h("a", { href: `/policies/${r.policy_id}` }, r.name), " ", badge(r.status)),
        h("td", { class: "num", "data-label": "Would notify" }, num(r.would_notify)),
        h("td", { class: "num", "data-label": "Would redact" }, num(r.would_redact)),
        h("td", { class: "num", "data-label": "Would block" }, num(r.would_block)),
        td("Actions", h("span", { class: "row-actions" }, backtestButton(r.policy_id, r.name), promoteButton(r.policy_id, r.name))))));
    }
    async function load(skip) {
      loadShadow().catch((ex) => flash(ex.message, true));
      loadBacktests().catch((ex) => flash(ex.message, true));
      const { data, total } = await api("GET", "/api/policies/" + query({ ...formValues(form), skip, limit }));
      if (!data.length) empty(tbody, 6, "No policies yet. Create one or start from a template.");
      else put(tbody, ...data.map((p) => h("tr", { "data-id": p.id },
        h("td", { class: "title", "data-label": "Policy" }, h("span", { class: "cell-stack" },
          h("span", {}, h("a", { href: `/policies/${p.id}` }, p.name), p.enforcement === "shadow" ? h("span", { class: "badge st-shadow", title: "Evaluated and recorded, never acting" }, "shadow") : null, p.definition_errors.length ? h("span", { class: "badge st-detected", title: p.definition_errors[0].message }, "errors") : null),
          h("span", { class: "muted small" }, `${label(p.category)} · ${label(p.performance_mode)} mode`))),
        td("Severity", sev(p.severity)),
        td("Action", label(p.intervention_type)),
        h("td", { class: "num", "data-label": "Hits / evaluations" }, `${num(p.metrics.hits)} / ${num(p.metrics.evaluations)}`),
        td("Status", badge(p.status)),
        td("Actions", h("span", { class: "row-actions icon-actions" },
          p.status === "open"
            ? h("button", { type: "button", class: "btn btn-sm analyst-only", onclick: () => setStatus(p, "acknowledged") }, "Pause")
            : p.status !== "closed" ? h("button", { type: "button", class: "btn btn-sm btn-success analyst-only", disabled: p.definition_errors.length > 0, onclick: () => setStatus(p, "open") }, "Enable") : null,
          p.enforcement === "shadow" && p.status !== "closed" ? promoteButton(p.id, p.name) : null,
          h("a", { class: "btn btn-sm btn-ghost", href: `/policies/${p.id}` }, "Edit"))))));
      renderPager($(".pager"), skip, limit, total, load);
    }
    const deleted = new URLSearchParams(location.search).get("deleted");
    if (deleted) {
      flash(`${deleted} deleted.`);
      history.replaceState(null, "", "/policies");
    }
    bindFilters(form, load);
    return load(0);
  }

  async function initPolicy() {
    let policy = null;
    const form = $("#policy-form");
    const def = $("#p-definition");
    const gutter = $("#p-gutter");
    const validation = $("#p-validation");
    const formError = $("#p-form-error");
    let errorLines = new Set();
    function drawGutter() {
      const lines = def.value.split("\n").length;
      put(gutter, ...Array.from({ length: Math.max(lines, 1) }, (_, i) => h("div", { class: errorLines.has(i + 1) ? "err" : null }, String(i + 1))));
      gutter.scrollTop = def.scrollTop;
    }
    def.addEventListener("scroll", () => { gutter.scrollTop = def.scrollTop; });
    let seq = 0;
    let timer = null;
    async function validate() {
      const mine = ++seq;
      if (!def.value.trim()) { put(validation, h("span", { class: "muted" }, "Write a definition, e.g. request.prompt has sentinelai.pii(email)")); errorLines = new Set(); drawGutter(); return; }
      try {
        const { data } = await api("POST", "/api/policies/validate", { definition: def.value });
        if (mine !== seq) return;
        errorLines = new Set(data.errors.map((e) => e.line));
        drawGutter();
        if (data.valid) {
          validation.dataset.state = "valid";
          put(validation, h("span", { class: "ok" }, "✓ Valid definition"),
            data.detectors.length ? h("div", { class: "detectors" }, h("span", { class: "muted small" }, "Detectors:"), data.detectors.map((d) => h("span", { class: "badge" }, d))) : null);
        } else {
          validation.dataset.state = "invalid";
          put(validation, h("ul", {}, data.errors.map((e) => h("li", { class: "def-error" },
            h("span", { class: "pos" }, `Line ${e.line}, column ${e.column}`), e.message, e.hint ? h("span", { class: "muted" }, ` — ${e.hint}`) : null))));
        }
      } catch (ex) {
        if (mine === seq) put(validation, h("span", { class: "muted" }, `Could not validate: ${ex.message}`));
      }
    }
    def.addEventListener("input", () => { drawGutter(); clearTimeout(timer); timer = setTimeout(validate, 250); });

    function fill(p) {
      policy = p;
      $("#p-name").value = p.name;
      $("#p-category").value = p.category;
      $("#p-severity").value = p.severity;
      $("#p-mode").value = p.performance_mode;
      $("#p-intervention").value = p.intervention_type;
      $("#p-enforcement").value = p.enforcement || "enforce";
      $("#p-config").value = p.intervention_config || "";
      def.value = p.definition;
      $("#page-title").textContent = p.name;
      document.title = `${p.name} · Sentinel`;
      const st = $("#policy-status");
      st.className = `badge st-${p.status}`;
      st.textContent = label(p.status);
      $("#policy-enable").hidden = p.status === "open" || p.status === "closed";
      $("#policy-pause").hidden = p.status !== "open";
      $("#policy-delete").hidden = false;
      $("#test-run").disabled = false;
      $("#test-hint").textContent = "Runs the engine on the text against this policy, whatever its status.";
      const m = p.metrics || {};
      const fact = (k, v) => h("div", {}, h("dt", {}, k), h("dd", {}, v));
      put($("#policy-metrics"), 
        fact("Est. latency", `${Number(p.estimated_latency_ms).toFixed(2)} ms`), fact("Est. cost / event", cost(p.estimated_cost_per_event)),
        fact("Evaluations", num(m.evaluations)), fact("Hits", num(m.hits)),
        fact("p50", micros(m.p50_evaluation_us)), fact("p95", micros(m.p95_evaluation_us)));
      drawGutter();
      validate();
    }
    function body() {
      const config = $("#p-config").value.trim();
      return {
        name: $("#p-name").value.trim(), category: $("#p-category").value, severity: $("#p-severity").value,
        performance_mode: $("#p-mode").value, intervention_type: $("#p-intervention").value,
        enforcement: $("#p-enforcement").value, intervention_config: config || null, definition: def.value,
      };
    }
    function showError(ex) {
      formError.textContent = ex.message;
      formError.hidden = false;
    }
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      formError.hidden = true;
      if (!$("#p-name").value.trim()) { showError(new Error("A name is required.")); $("#p-name").focus(); return; }
      try {
        if (policy) {
          const { data } = await api("PUT", `/api/policies/${policy.id}`, body());
          fill(data);
          flash("Policy saved.");
        } else {
          const { data } = await api("POST", "/api/policies/", body());
          history.replaceState(null, "", `/policies/${data.id}`);
          fill(data);
          flash("Policy created as a draft.");
        }
      } catch (ex) { showError(ex); }
    });
    async function setStatus(status) {
      formError.hidden = true;
      try {
        const { data } = await api("PUT", `/api/policies/${policy.id}`, { ...body(), status });
        fill(data);
        flash(status === "open" ? "Policy enabled: it is now enforced." : "Policy paused.");
      } catch (ex) { showError(ex); }
    }
    $("#policy-enable").addEventListener("click", () => setStatus("open"));
    $("#policy-pause").addEventListener("click", () => setStatus("acknowledged"));
    $("#policy-delete").addEventListener("click", async () => {
      if (!confirm(`Delete ${policy.name}? It stops being enforced at once; its violations are kept.`)) return;
      formError.hidden = true;
      try {
        await api("DELETE", `/api/policies/${policy.id}`);
        location.assign("/policies?deleted=" + encodeURIComponent(policy.name));
      } catch (ex) { showError(ex); }
    });

    $("#test-run").addEventListener("click", async () => {
      const out = $("#test-result");
      const prompt = $("#t-prompt").value;
      const completion = $("#t-completion").value;
      try {
        const { data } = await api("POST", `/api/policies/${policy.id}/test`, completion ? { prompt, completion } : { prompt });
        const f = data.findings || [];
        put(out, 
          h("div", { class: "result-head" }, badge(data.decision), h("strong", {}, data.test_passed ? "No violation" : "Violation detected"),
            h("span", { class: "muted small" }, `confidence ${(data.confidence_score * 100).toFixed(0)}% · ${Number(data.evaluation_time_ms).toFixed(2)} ms`)),
          data.errors && data.errors.length ? h("div", { class: "alert alert-error" }, data.details) : null,
          h("pre", { class: "text-block" }, highlighted(prompt, f.filter((x) => x.target === "prompt"))),
          completion ? h("pre", { class: "text-block" }, highlighted(completion, f.filter((x) => x.target === "completion"))) : null,
          findingList(f),
          data.redacted ? h("div", {}, h("label", {}, "Redacted prompt"), h("pre", { class: "text-block", id: "test-redacted" }, data.redacted)) : null,
          data.redacted_completion ? h("div", {}, h("label", {}, "Redacted completion"), h("pre", { class: "text-block" }, data.redacted_completion)) : null);
      } catch (ex) { put(out, h("div", { class: "alert alert-error" }, ex.message)); }
    });

    if (pageId) {
      try { fill(await get(`/api/policies/${pageId}`)); } catch (ex) { showError(ex); }
    } else {
      $("#test-run").disabled = true;
      drawGutter();
      validate();
    }
  }

  // ---------- Templates ----------
  async function initTemplates() {
    const grid = $("#template-grid");
    const items = await get("/api/policies/templates/");
    if (!items.length) { put(grid, h("p", { class: "empty" }, "No templates.")); return; }
    put(grid, ...items.map((t) => h("article", { class: "card tpl" },
      h("div", { class: "card-head" }, h("h2", {}, t.name), badge(t.category, "kind")),
      h("p", {}, t.description || ""),
      h("pre", {}, t.template_code),
      h("div", { class: "tags" }, sev(t.default_severity), h("span", { class: "badge" }, label(t.default_performance_mode)), h("span", { class: "badge" }, label(t.default_intervention_type)),
        (t.tags || "").split(",").map((x) => x.trim()).filter(Boolean).map((x) => h("span", { class: "badge" }, "#" + x))),
      (t.owasp_llm || []).length ? h("div", { class: "tags owasp", title: "OWASP Top 10 for LLM Applications, 2025 edition" },
        h("span", { class: "muted" }, "OWASP LLM 2025:"), ...t.owasp_llm.map((x) => h("span", { class: "badge badge-owasp" }, x))) : null,
      h("footer", {}, h("span", {}),
        h("button", { type: "button", class: "btn btn-primary btn-sm analyst-only", onclick: async (e) => {
          e.target.disabled = true;
          try {
            // The new policy starts in shadow mode: it records what it would do until promoted.
            const { data } = await api("POST", `/api/policies/templates/${t.id}/instantiate`, {});
            location.href = `/policies/${data.id}`;
          } catch (ex) { flash(ex.message, true); e.target.disabled = false; }
        } }, "Use template")))));
  }

  // ---------- Users ----------
  function adminOnly() {
    if (me && me.role === "admin") return true;
    $("main").append(h("div", { class: "alert alert-info" }, "Only administrators can see this page."));
    $$("main .card, main .grid").forEach((el) => { el.hidden = true; });
    return false;
  }
  async function initUsers() {
    if (!adminOnly()) return;
    const tbody = $("#users-table tbody");
    // The roles, as the server rendered them from their one definition into the new-user form.
    const roles = Array.from($("#u-role").options, (o) => o.value);
    async function load() {
      const users = await get("/api/users/?limit=1000");
      put(tbody, ...users.map((u) => {
        const role = h("select", { "aria-label": `Role of ${u.username}`, disabled: u.id === me.id }, roles.map((r) => h("option", { value: r, selected: r === u.role }, r)));
        role.addEventListener("change", () => update(u, { role: role.value }));
        return h("tr", {},
          td("User", h("strong", {}, u.username), u.full_name ? h("div", { class: "muted small" }, u.full_name) : null),
          td("Email", u.email), td("Role", role),
          td("Status", u.is_active ? h("span", { class: "badge st-open" }, "Active") : h("span", { class: "badge st-closed" }, "Disabled")),
          td("Created", timeEl(u.created_at)),
          td("Actions", u.id === me.id ? h("span", { class: "muted small" }, "You") : h("span", { class: "row-actions" },
            h("button", { type: "button", class: "btn btn-sm", onclick: () => update(u, { is_active: !u.is_active }) }, u.is_active ? "Disable" : "Enable"),
            h("button", { type: "button", class: "btn btn-sm btn-danger", onclick: async () => {
              if (!confirm(`Delete ${u.username}?`)) return;
              try { await api("DELETE", `/api/users/${u.id}`); flash(`${u.username} deleted.`); } catch (ex) { flash(ex.message, true); }
              load();
            } }, "Delete"))));
      }));
    }
    async function update(u, patch) {
      try { await api("PUT", `/api/users/${u.id}`, patch); flash(`${u.username} updated.`); } catch (ex) { flash(ex.message, true); }
      load();
    }
    $("#user-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const err = $("#u-error");
      err.hidden = true;
      const f = e.target;
      try {
        await api("POST", "/api/users/", { username: f.username.value.trim(), email: f.email.value.trim(), full_name: f.full_name.value.trim() || null, role: f.role.value, password: f.password.value });
        flash(`${f.username.value} added.`);
        f.reset();
        load();
      } catch (ex) { err.textContent = ex.message; err.hidden = false; }
    });
    return load();
  }

  // ---------- API keys ----------
  async function initKeys() {
    if (!adminOnly()) return;
    const tbody = $("#keys-table tbody");
    async function load() {
      const keys = await get("/api/keys/?limit=1000");
      if (!keys.length) { empty(tbody, 7, "No API keys yet."); return; }
      put(tbody, ...keys.map((k) => {
        const revoked = Boolean(k.revoked_at);
        const expired = k.expires_at && new Date(k.expires_at) < new Date();
        return h("tr", {},
          td("Name", h("strong", {}, k.name)), td("Prefix", h("code", {}, k.prefix)),
          td("Scopes", h("span", { class: "row-actions" }, k.scopes.map((x) => h("span", { class: "badge" }, x)))),
          td("Created", timeEl(k.created_at)), td("Last used", k.last_used_at ? timeEl(k.last_used_at) : "Never"),
          td("Status", revoked ? h("span", { class: "badge st-closed" }, "Revoked") : expired ? h("span", { class: "badge st-acknowledged" }, "Expired") : h("span", { class: "badge st-open" }, "Active")),
          td("Actions", revoked ? "" : h("button", { type: "button", class: "btn btn-sm btn-danger", onclick: async () => {
            if (!confirm(`Revoke ${k.name}? Clients using it stop working at once.`)) return;
            try { await api("DELETE", `/api/keys/${k.id}`); flash(`${k.name} revoked.`); } catch (ex) { flash(ex.message, true); }
            load();
          } }, "Revoke")));
      }));
    }
    $("#key-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const err = $("#k-error");
      err.hidden = true;
      const f = e.target;
      const scopes = $$("input[name=scope]:checked", f).map((c) => c.value);
      try {
        const { data } = await api("POST", "/api/keys/", { name: f.elements.namedItem("name").value.trim(), scopes, expires_at: f.expires_at.value ? f.expires_at.value + "T23:59:59Z" : null });
        $("#new-key-value").textContent = data.key;
        $("#new-key").hidden = false;
        f.reset();
        load();
      } catch (ex) { err.textContent = ex.message; err.hidden = false; }
    });
    return load();
  }

  // ---------- Webhooks ----------
  async function initWebhooks() {
    if (!adminOnly()) return;
    const tbody = $("#webhooks-table tbody");
    const form = $("#webhook-form");
    const field = (name) => form.elements.namedItem(name);
    const panel = $("#deliveries");
    const deliveriesBody = $("#deliveries-table tbody");
    const limit = 20;
    let hooks = [];
    let editing = null; // the endpoint the form changes; null: the form adds one
    let shown = null; // the endpoint whose deliveries are shown
    let skip = 0;
    let pollTimer = null;
    const policies = await get("/api/policies/?limit=1000");
    const policyName = new Map(policies.map((p) => [p.id, p.name]));
    put(field("policy_ids"), ...policies.map((p) => h("option", { value: p.id }, p.name)));
    const title = (w) => w.description || w.url;

    function sends(w) {
      const parts = [w.message_types.length ? w.message_types.map(label).join(", ") : "All messages"];
      if (w.min_severity && w.min_severity !== "low") parts.push(`Violations ${w.min_severity} and above`);
      if (w.policy_ids.length) parts.push("Policies: " + w.policy_ids.map((id) => policyName.get(id) || `#${id}`).join(", "));
      if (w.apps.length) parts.push("Apps: " + w.apps.join(", "));
      return h("div", { class: "cell-stack small" }, parts.map((p) => h("span", {}, p)));
    }
    function state(w) {
      const rotating = w.previous_secret_expires_at && new Date(w.previous_secret_expires_at) > new Date();
      return [
        w.enabled ? h("span", { class: "badge st-open" }, "Enabled") : h("span", { class: "badge st-closed" }, "Disabled"),
        !w.enabled && w.disabled_reason ? h("div", { class: "small muted", "data-reason": "" }, w.disabled_reason) : null,
        rotating ? h("div", { class: "small muted" }, "The previous secret signs too until ", timeEl(w.previous_secret_expires_at)) : null,
      ];
    }
    function row(w) {
      const button = (action, text, onclick, cls) => h("button", { type: "button", class: `btn btn-sm${cls ? " " + cls : ""}`, "data-action": action, onclick }, text);
      return h("tr", { "data-id": w.id },
        td("Endpoint", h("div", { class: "cell-stack" }, h("strong", {}, title(w)), w.description ? h("code", { class: "small" }, w.url) : null)),
        td("Format", label(w.format)), td("Sends", sends(w)), td("Status", state(w)), td("Created", timeEl(w.created_at)),
        td("Actions", h("span", { class: "row-actions" },
          button("deliveries", "Deliveries", () => showDeliveries(w, 0).catch((ex) => flash(ex.message, true))),
          button("edit", "Edit", () => startEdit(w)),
          w.enabled
            ? button("disable", "Disable", () => act(w, "disabled", () => api("POST", `/api/webhooks/${w.id}/disable`)))
            : button("enable", "Enable", () => act(w, "enabled", () => api("POST", `/api/webhooks/${w.id}/enable`))),
          button("rotate", "Rotate secret", () => {
            if (!confirm(`Rotate the signing secret of ${title(w)}? The current secret keeps signing beside the new one for the overlap, so the receiver can switch.`)) return;
            act(w, "new secret", async () => showSecret((await api("POST", `/api/webhooks/${w.id}/rotate-secret`)).data));
          }),
          button("delete", "Delete", () => {
            if (!confirm(`Delete ${title(w)} and its delivery log?`)) return;
            act(w, "deleted", async () => {
              await api("DELETE", `/api/webhooks/${w.id}`);
              if (shown && shown.id === w.id) closeDeliveries();
              if (editing && editing.id === w.id) stopEdit();
            });
          }, "btn-danger"))));
    }
    async function load() {
      hooks = await get("/api/webhooks/?limit=1000");
      if (!hooks.length) empty(tbody, 6, "No endpoints yet.");
      else put(tbody, ...hooks.map(row));
      if (shown) {
        shown = hooks.find((w) => w.id === shown.id) || shown;
        $("#deliveries-title").textContent = `Deliveries to ${title(shown)}`;
      }
    }
    async function act(w, done, run) {
      try { await run(); flash(`${title(w)}: ${done}.`); } catch (ex) { flash(ex.message, true); }
      await load();
    }

    // The secret, shown once: after a create or a rotation, never again (the API keeps it).
    function showSecret(created) {
      $("#new-secret-value").textContent = created.secret;
      $("#new-secret-for").textContent = `(for ${created.url})`;
      $("#copy-state").textContent = "";
      $("#new-secret").hidden = false;
    }
    $("#copy-secret").addEventListener("click", async () => {
      const code = $("#new-secret-value");
      try {
        // A browser that neither grants nor refuses within a second counts as a refusal.
        await Promise.race([navigator.clipboard.writeText(code.textContent), new Promise((_, no) => setTimeout(() => no(new Error("no answer")), 1000))]);
        $("#copy-state").textContent = "Copied to the clipboard.";
      } catch (_) {
        // No clipboard access (an insecure origin, a refusal): select it for Ctrl+C instead.
        const range = document.createRange();
        range.selectNodeContents(code);
        getSelection().removeAllRanges();
        getSelection().addRange(range);
        $("#copy-state").textContent = "Selected: press Ctrl+C (⌘C) to copy.";
      }
    });

    // The form adds an endpoint, or changes the one being edited.
    function startEdit(w) {
      editing = w;
      field("url").value = w.url;
      field("description").value = w.description || "";
      field("format").value = w.format;
      field("min_severity").value = w.min_severity || "";
      for (const c of $$("input[name=message_type]", form)) c.checked = w.message_types.includes(c.value);
      for (const o of field("policy_ids").options) o.selected = w.policy_ids.includes(Number(o.value));
      field("apps").value = w.apps.join(", ");
      field("enabled").checked = w.enabled;
      $("#w-heading").textContent = `Edit ${title(w)}`;
      $("#w-submit").textContent = "Save changes";
      $("#w-cancel").hidden = false;
      $("#w-error").hidden = true;
      form.scrollIntoView({ block: "start" });
      field("url").focus();
    }
    function stopEdit() {
      editing = null;
      form.reset();
      $("#w-heading").textContent = "Add an endpoint";
      $("#w-submit").textContent = "Add endpoint";
      $("#w-cancel").hidden = true;
      $("#w-error").hidden = true;
    }
    $("#w-cancel").addEventListener("click", stopEdit);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const err = $("#w-error");
      err.hidden = true;
      const body = {
        url: field("url").value.trim(),
        description: field("description").value.trim(),
        format: field("format").value,
        message_types: $$("input[name=message_type]:checked", form).map((c) => c.value),
        // On a change `null` keeps the floor; "low" is no floor at all.
        min_severity: field("min_severity").value || (editing ? "low" : null),
        policy_ids: Array.from(field("policy_ids").selectedOptions, (o) => Number(o.value)),
        apps: field("apps").value.split(",").map((a) => a.trim()).filter(Boolean),
        enabled: field("enabled").checked,
      };
      try {
        if (editing) {
          await api("PUT", `/api/webhooks/${editing.id}`, body);
          flash(`${body.description || body.url} saved.`);
          stopEdit();
        } else {
          const { data } = await api("POST", "/api/webhooks/", { ...body, description: body.description || null });
          showSecret(data);
          form.reset();
        }
        await load();
      } catch (ex) { err.textContent = ex.message; err.hidden = false; }
    });

    // The delivery log of one endpoint, with redelivery and a test event.
    function deliveryRow(d) {
      const latency = d.latency_ms === null || d.latency_ms === undefined ? "—" : `${Number(d.latency_ms).toFixed(d.latency_ms < 10 ? 1 : 0)} ms`;
      const answer = d.response_excerpt ? (d.response_excerpt.length > 80 ? d.response_excerpt.slice(0, 80) + "…" : d.response_excerpt) : null;
      return h("tr", { "data-id": d.id, "data-status": d.status },
        td("Queued", timeEl(d.created_at)),
        td("Message", h("div", { class: "cell-stack" }, h("code", {}, `msg_${d.message_id}`), h("span", { class: "small muted" }, label(d.message_type)))),
        td("Status", badge(d.status), d.status === "failed" && d.next_attempt_at ? h("div", { class: "small muted" }, "Next try ", timeEl(d.next_attempt_at)) : null),
        td("Attempts", num(d.attempts)), td("HTTP", d.last_status_code === null || d.last_status_code === undefined ? "—" : String(d.last_status_code)), td("Latency", latency),
        td("Answer", answer || d.last_error ? h("div", { class: "cell-stack small" },
          answer ? h("code", { title: d.response_excerpt }, answer) : null,
          d.last_error ? h("span", { class: "muted" }, d.last_error) : null) : "—"),
        td("Actions", h("button", { type: "button", class: "btn btn-sm", "data-action": "redeliver", onclick: async () => {
          try {
            const { data } = await api("POST", `/api/webhooks/${shown.id}/deliveries/${d.id}/redeliver`);
            flash(`msg_${d.message_id} queued again (delivery #${data.id}).`);
          } catch (ex) { flash(ex.message, true); }
          skip = 0;
          await loadDeliveries();
        } }, "Redeliver")));
    }
    async function loadDeliveries() {
      clearTimeout(pollTimer);
      if (!shown) return;
      const at = shown.id;
      const { data, total } = await api("GET", `/api/webhooks/${at}/deliveries` + query({ skip, limit }));
      if (!shown || shown.id !== at) return;
      if (!data.length) empty(deliveriesBody, 8, "No deliveries yet. Send a test event to try the endpoint.");
      else put(deliveriesBody, ...data.map(deliveryRow));
      renderPager($("#deliveries .pager"), skip, limit, total || 0, (s) => { skip = s; loadDeliveries().catch((ex) => flash(ex.message, true)); });
      // Look again shortly while a delivery is on its way (or retried within the minute).
      const soon = Date.now() + 60000;
      if (data.some((d) => d.status === "pending" || (d.status === "failed" && new Date(d.next_attempt_at) < soon))) {
        pollTimer = setTimeout(() => loadDeliveries().catch(() => {}), 1000);
      }
    }
    async function showDeliveries(w, at) {
      shown = w;
      skip = at;
      history.replaceState(null, "", `?endpoint=${w.id}`);
      $("#deliveries-title").textContent = `Deliveries to ${title(w)}`;
      panel.hidden = false;
      await loadDeliveries();
      panel.scrollIntoView({ block: "nearest" });
    }
    function closeDeliveries() {
      clearTimeout(pollTimer);
      shown = null;
      panel.hidden = true;
      history.replaceState(null, "", location.pathname);
    }
    $("#deliveries-close").addEventListener("click", closeDeliveries);
    $("#deliveries-refresh").addEventListener("click", () => loadDeliveries().catch((ex) => flash(ex.message, true)));
    $("#send-test").addEventListener("click", async () => {
      if (!shown) return;
      try {
        await api("POST", `/api/webhooks/${shown.id}/test`);
        flash(shown.enabled ? "Test event queued." : "Test event queued: it is sent once the endpoint is enabled.");
      } catch (ex) { flash(ex.message, true); }
      skip = 0;
      await loadDeliveries();
    });

    await load();
    const wanted = Number(new URLSearchParams(location.search).get("endpoint"));
    const first = hooks.find((w) => w.id === wanted);
    if (first) await showDeliveries(first, 0);
  }

  // ---------- Audit log ----------
  function initAudit() {
    if (!adminOnly()) return;
    const form = $("#filters");
    const tbody = $("#audit-table tbody");
    const limit = 50;
    async function load(skip) {
      const { data, total } = await api("GET", "/api/audit/" + query({ ...formValues(form), skip, limit }));
      if (!data.length) empty(tbody, 6, "No audit entries match.");
      else put(tbody, ...data.map((a) => h("tr", {},
        td("Time", timeEl(a.created_at)), td("Actor", h("code", {}, a.actor)), td("Action", h("strong", {}, a.action)),
        td("Target", `${a.target_type}${a.target_id ? " #" + a.target_id : ""}`), td("From", a.client_addr || "—"),
        td("Change", a.before || a.after ? h("details", {}, h("summary", {}, "Before / after"),
          a.before ? h("pre", {}, "before: " + JSON.stringify(a.before, null, 2)) : null,
          a.after ? h("pre", {}, "after: " + JSON.stringify(a.after, null, 2)) : null) : "—"))));
      renderPager($(".pager"), skip, limit, total, load);
    }
    $("#audit-verify").addEventListener("click", async () => {
      const box = $("#verify-result");
      try {
        const v = await get("/api/audit/verify");
        put(box, v.intact
          ? h("div", { class: "alert alert-success", id: "verify-ok" }, h("strong", {}, "Chain intact. "), `${num(v.entries)} entries verified; head #${v.head_id} `, h("code", {}, v.head_hash.slice(0, 16) + "…"))
          : h("div", { class: "alert alert-error", id: "verify-bad" }, h("strong", {}, "Chain broken. "), `First bad entry: #${v.first_bad_id}. ${v.reason || ""}`));
      } catch (ex) { put(box, h("div", { class: "alert alert-error" }, ex.message)); }
    });
    bindFilters(form, load);
    return load(0);
  }

  // ---------- Reports ----------
  /** The period of a report form: dates (UTC midnight) to RFC 3339; empty means the server's default. */
  function periodParams(form) {
    const at = (v) => (v ? `${v}T00:00:00Z` : null);
    return { since: at(form.elements.since.value), until: at(form.elements.until.value) };
  }
  /** Downloads an authenticated API answer as a file (a plain link would carry no token). */
  async function download(path, fallbackName) {
    const res = await fetch(path, { headers: { Authorization: "Bearer " + (await token()) } });
    if (!res.ok) {
      let body = null;
      try { body = await res.json(); } catch (_) { body = null; }
      throw new ApiError(res.status, body);
    }
    const blob = await res.blob();
    const disposition = res.headers.get("content-disposition") || "";
    const name = (disposition.match(/filename="([^"]+)"/) || [])[1] || fallbackName;
    const url = URL.createObjectURL(blob);
    const a = h("a", { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }
  const pct = (v) => (v === null || v === undefined ? "—" : `${v > 0 ? "+" : ""}${Number(v).toFixed(1)}%`);
  const rate = (v) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`);
  function seconds(v) {
    if (v === null || v === undefined) return "—";
    const s = Math.round(v);
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
    return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
  }
  function rows(tbody, items, cols, emptyText) {
    if (!items.length) { empty(tbody, cols.length, emptyText); return; }
    put(tbody, ...items.map((it) => h("tr", {}, cols.map(([lbl, f]) => td(lbl, f(it))))));
  }
  function figure(root, key, value) {
    const el = $(`[data-figure="${key}"] .stat-value`, root);
    if (el) el.textContent = value;
  }

  async function initReport() {
    const form = $("#filters");
    const params = new URLSearchParams(location.search);
    for (const k of ["framework", "since", "until"]) {
      const v = params.get(k);
      if (v && form.elements[k]) form.elements[k].value = k === "framework" ? v : v.slice(0, 10);
    }
    const q = () => query({ framework: form.elements.framework.value, ...periodParams(form) });
    for (const b of $$("[data-download]")) {
      b.addEventListener("click", () => {
        const kind = b.dataset.download;
        download(b.dataset.href, `compliance.${kind}`).catch((ex) => flash(ex.message || String(ex), true));
      });
    }
    form.addEventListener("submit", (e) => { e.preventDefault(); load().catch((ex) => flash(ex.message, true)); });
    form.addEventListener("reset", () => setTimeout(() => load().catch((ex) => flash(ex.message, true)), 0));
    async function load() {
      const qs = q();
      history.replaceState(null, "", "/reports" + qs);
      const paths = { pdf: `/api/reports/compliance.pdf${qs}`, csv: `/api/reports/compliance.csv${qs}`, json: `/api/reports/compliance${qs}` };
      for (const b of $$("[data-download]")) b.dataset.href = paths[b.dataset.download];
      const r = await get(paths.json);
      render(r);
    }
    function render(r) {
      $("#report-heading").textContent = `${r.framework.name}, edition ${r.framework.edition}: ${fmtTime(r.period.since)} to ${fmtTime(r.period.until)} (compared with the ${Math.round((new Date(r.period.until) - new Date(r.period.since)) / 86400000)} days before)`;
      const root = $("#report-stats");
      figure(root, "covered", `${r.coverage.covered} of ${r.coverage.controls.length}`);
      figure(root, "incidents", num(r.incidents.total));
      figure(root, "change", pct(r.incidents.change_pct));
      figure(root, "events", num(r.incidents.events));
      figure(root, "shadow", num(r.incidents.shadow_hits));
      figure(root, "integrity", r.integrity.intact ? "Intact" : "BROKEN");
      put($("#retention-warning"), r.retention.warning ? h("div", { class: "alert alert-error", role: "alert" }, r.retention.warning) : null);
      const pol = (list) => (list.length ? list.map((p) => p.name).join(", ") : "—");
      rows($("#coverage-table tbody"), r.coverage.controls, [
        ["Control", (c) => h("strong", {}, c.id)],
        ["Title", (c) => c.title],
        ["Status", (c) => badge(c.status === "covered" ? "covered" : c.status === "gap" ? "gap" : "shadow_only", "cov")],
        ["Enforced policies", (c) => pol(c.enforced_policies)],
        ["Shadow policies", (c) => pol(c.shadow_policies)],
        ["Evidence", (c) => [c.evidence.map((e) => `${e.kind} ${e.passed ? "✓" : "✗"}`).join(", "), c.note ? h("div", { class: "small muted" }, c.note) : null]],
      ], "No controls.");
      const trendBars = (box, list) => bars(box, list.map((t) => [t.key, t.count, ""]), "No incidents in the period.");
      trendBars($("#incidents-by-category"), r.incidents.by_category);
      trendBars($("#incidents-by-severity"), r.incidents.by_severity);
      const trendCols = (first) => [[first, (t) => t.key], ["This period", (t) => num(t.count)], ["Previous", (t) => num(t.previous)], ["Change", (t) => pct(t.change_pct)]];
      rows($("#incidents-by-app tbody"), r.incidents.by_app, trendCols("Application"), "None.");
      rows($("#incidents-by-model tbody"), r.incidents.by_model, trendCols("Model"), "None.");
      const t = r.triage;
      const fact = (k, v) => h("div", {}, h("dt", {}, k), h("dd", {}, v));
      put($("#triage-summary"),
        fact("Violations", num(t.violations)), fact("Open", num(t.open)), fact("Acknowledged", num(t.acknowledged)),
        fact("Resolved", num(t.resolved)), fact("False positives", num(t.false_positives)),
        fact("Time to acknowledge (median / p90)", `${seconds(t.time_to_acknowledge.median_seconds)} / ${seconds(t.time_to_acknowledge.p90_seconds)}`),
        fact("Time to resolve (median / p90)", `${seconds(t.time_to_resolve.median_seconds)} / ${seconds(t.time_to_resolve.p90_seconds)}`));
      const fpCols = (first) => [[first, (f) => f.name], ["Violations", (f) => num(f.violations)], ["Closed", (f) => num(f.triaged)], ["False positives", (f) => num(f.false_positives)], ["Rate", (f) => rate(f.false_positive_rate)]];
      rows($("#fp-by-policy tbody"), t.by_policy, fpCols("Policy"), "None.");
      rows($("#fp-by-detector tbody"), t.by_detector, fpCols("Detector"), "None.");
      const o = r.oversight;
      $("#oversight-summary").textContent = `${num(o.actions)} triage changes in the audit trail; ${num(o.violations_with_reviewer)} of ${num(o.violations)} violations name who acknowledged them.`;
      rows($("#oversight-table tbody"), o.reviewers, [
        ["Reviewer", (a) => a.actor], ["Changes", (a) => num(a.actions)], ["Violations", (a) => num(a.violations)], ["Events", (a) => num(a.events)],
        ["Acknowledged", (a) => num(a.acknowledged)], ["Resolved", (a) => num(a.resolved)], ["False positives", (a) => num(a.false_positives)],
        ["Median response", (a) => seconds(a.median_response_seconds)],
      ], "No triage in the period.");
      const ret = r.retention;
      put($("#retention"),
        fact("Setting", ret.retention_days === null ? "unset (kept)" : `${ret.retention_days} days`),
        fact("Required", `${ret.required_days} days`),
        fact("Compliant", ret.compliant ? "Yes" : "No"),
        fact("Oldest event", ret.oldest_event ? timeEl(ret.oldest_event) : "—"));
      const i = r.integrity;
      put($("#integrity"),
        fact("Chain", i.intact ? "Intact" : `Broken at entry ${i.first_bad_id}: ${i.reason || ""}`),
        fact("Entries", num(i.entries)), fact("Head entry", String(i.head_id)),
        fact("Head hash", h("code", { id: "head-hash" }, i.head_hash)));
    }
    await load();
  }

  async function initUsage() {
    const form = $("#filters");
    const group = $("#usage-group");
    let last = null;
    $("[data-download=usage-csv]").addEventListener("click", (e) => {
      download(e.currentTarget.dataset.href, "usage.csv").catch((ex) => flash(ex.message || String(ex), true));
    });
    form.addEventListener("submit", (e) => { e.preventDefault(); load().catch((ex) => flash(ex.message, true)); });
    form.addEventListener("reset", () => setTimeout(() => load().catch((ex) => flash(ex.message, true)), 0));
    group.addEventListener("change", () => { if (last) table(last[group.value]); updateCsv(); });
    window.addEventListener("resize", () => { if (last) drawDays(last.day.rows); });
    function updateCsv() {
      $("[data-download=usage-csv]").dataset.href = `/api/reports/usage${query({ ...periodParams(form), group_by: group.value, format: "csv" })}`;
    }
    async function load() {
      const p = periodParams(form);
      const [app, model, user, day] = await Promise.all(["app", "model", "user", "day"].map((g) => get(`/api/reports/usage${query({ ...p, group_by: g })}`)));
      last = { app, model, user, day };
      const t = app.total;
      const root = $("#usage-stats");
      figure(root, "events", num(t.events));
      figure(root, "tokens", num(t.request_tokens + t.response_tokens));
      figure(root, "cost", cost(t.cost_usd));
      figure(root, "guard", cost(t.guard_cost_usd));
      figure(root, "guard-per-event", cost(app.guard_cost_per_event_usd));
      figure(root, "avoided", cost(t.cost_avoided_usd));
      for (const g of ["app", "model", "user"]) {
        const box = $(`#usage-${g}`);
        const list = last[g].rows;
        if (!list.length) { put(box, h("p", { class: "empty" }, "No events in the period.")); continue; }
        const max = Math.max(...list.map((r) => r.cost_usd), 1e-9);
        put(box, ...list.slice(0, 12).map((r) => {
          const fill = h("span", { class: "bar-fill" });
          fill.style.width = `${Math.max(2, (r.cost_usd / max) * 100)}%`;
          return h("div", { class: "bar-row", title: `${num(r.request_tokens + r.response_tokens)} tokens` }, h("span", {}, r.key), h("span", { class: "bar-track", "aria-hidden": "true" }, fill), h("span", { class: "bar-count" }, cost(r.cost_usd)));
        }));
      }
      drawDays(day.rows);
      table(last[group.value]);
      updateCsv();
    }
    function table(report) {
      rows($("#usage-table tbody"), report.rows.concat([{ ...report.total, key: "Total" }]), [
        ["Key", (r) => r.key], ["Events", (r) => num(r.events)], ["Request tokens", (r) => num(r.request_tokens)],
        ["Response tokens", (r) => num(r.response_tokens)], ["Cost", (r) => cost(r.cost_usd)], ["Unpriced", (r) => num(r.unpriced_events)],
        ["Blocked", (r) => num(r.blocked)], ["Cost avoided", (r) => cost(r.cost_avoided_usd)], ["Guard cost", (r) => cost(r.guard_cost_usd)],
      ], "No events in the period.");
    }
    function drawDays(days) {
      const box = $("#usage-days");
      if (!days.length) { put(box, h("p", { class: "empty" }, "No events in the period.")); return; }
      const W = Math.max(280, box.clientWidth);
      const H = 220;
      const pad = { l: 56, r: 8, t: 10, b: 26 };
      const max = niceMax(Math.max(...days.map((d) => Math.max(d.cost_usd, d.cost_avoided_usd)), 1e-6) * 1e6) / 1e6;
      const iw = W - pad.l - pad.r;
      const ih = H - pad.t - pad.b;
      const step = iw / days.length;
      const bw = Math.max(2, Math.min(18, step * 0.38));
      const y = (v) => pad.t + ih - (v / max) * ih;
      const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H });
      for (let i = 0; i <= 4; i++) {
        const v = (max / 4) * i;
        svg.append(s("line", { class: i === 0 ? "axis" : "grid-line", x1: pad.l, x2: W - pad.r, y1: y(v), y2: y(v) }));
        svg.append(s("text", { x: pad.l - 6, y: y(v) + 4, "text-anchor": "end" }, cost(v)));
      }
      const every = Math.ceil(days.length / Math.max(1, Math.floor(iw / 56)));
      days.forEach((d, i) => {
        const x = pad.l + step * i + step / 2;
        for (const [v, cls, dx, what] of [[d.cost_usd, "seg-low", -bw, "model cost"], [d.cost_avoided_usd, "seg-high", 0, "cost avoided"]]) {
          if (!v) continue;
          const rect = s("rect", { class: cls, x: x + dx, width: bw, y: y(v), height: Math.max(1, y(0) - y(v)), rx: 2 });
          rect.append(s("title", {}, `${d.key}: ${cost(v)} ${what}, ${num(d.request_tokens + d.response_tokens)} tokens`));
          svg.append(rect);
        }
        if (i % every === 0 || i === days.length - 1) {
          const [, m, dd] = d.key.split("-");
          svg.append(s("text", { x, y: H - 8, "text-anchor": "middle" }, `${Number(dd)}/${Number(m)}`));
        }
      });
      box.setAttribute("aria-label", `Cost per day over ${days.length} days`);
      put(box, svg);
    }
    await load();
  }

  // ---------- Boot ----------
  const PAGES = {
    overview: initOverview, live: initLive, events: initEvents, event: initEvent, violations: initViolations,
    policies: initPolicies, policy: initPolicy, templates: initTemplates, users: initUsers, keys: initKeys, webhooks: initWebhooks, audit: initAudit,
    report: initReport, usage: initUsage,
  };
  async function boot() {
    if (page === "login") { initLogin(); return; }
    if (!store.getItem(K.access)) { toLogin(); return; }
    scheduleRefresh();
    try {
      await initChrome();
      if (PAGES[page]) await PAGES[page]();
      document.body.dataset.ready = "true";
    } catch (ex) {
      if (ex instanceof ApiError && ex.status === 401) return;
      flash(ex.message || String(ex), true);
      document.body.dataset.ready = "error";
    }
  }
  boot();
})();
