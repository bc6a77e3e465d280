// The wall (/): a TV read from across the room. Kiosk mode, no scrolling: the
// page scales itself so every queue tile and every agent fits on the screen.
//
// URL parameters: ?lang=zh-CN|en, ?queues=id,id (which tiles, in that order),
// ?teams=id,id (which teams), for a floor with one TV per area.

import {
  T, STATES, FloorStream, AlertStream, alertOrder, alertHeadline, collator, el, setText, icon,
  installIcons, fmtInt, fmtPct, fmtPct0, fmtDur, fmtClock, fmtDate, overrunLevel, limitFor, stateLabel,
  reasonLabel, wireLangToggle,
} from "./common.js";
import { ScriptStream, renderScripts } from "./incidents.js";

installIcons();
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const listParam = (k) => (params.get(k) || "").split(",").map((s) => s.trim()).filter(Boolean);
const onlyQueues = listParam("queues");
const onlyTeams = listParam("teams");

const cells = new Map(); // agent id → cell
const tiles = new Map(); // queue id → tile
const panels = new Map(); // team key → panel
const NO_TEAM = "\u0000none";
let layoutDirty = true;

const stream = new FloorStream({ onFrame, onStatus });
const alerts = new AlertStream({ onChange: () => { renderAlerts(); } });
// While an incident is open, its unified reply script in large type.
// Only a real change touches the page, and it asks for a fit only if something
// no longer fits: a forced re-fit of 2,000 agents is a long task, and a floor in
// trouble may see scripts come and go often.
let shownScripts = "[]";
const scripts = new ScriptStream((list) => {
  const key = JSON.stringify(list);
  if (key === shownScripts) return;
  shownScripts = key;
  renderScripts($("incident"), list);
  scheduleLayout();
});
wireLangToggle($("lang-toggle"), rerenderAll);

function model() { return stream.model; }

// ---------------------------------------------------------------------------
// Frames
// ---------------------------------------------------------------------------

function onFrame(m, f) {
  const now = stream.now();
  if (f.type === "snapshot") {
    for (const id of [...cells.keys()]) if (!m.agents.has(id)) removeCell(id);
    for (const a of m.agents.values()) upsertCell(a, now);
    layoutDirty = true;
    forceFit = true;
  } else {
    for (const a of f.agents) upsertCell(a, now);
    for (const id of f.gone.agents) removeCell(id);
    if (f.gone.agents.length || f.teams.length || f.gone.teams.length) layoutDirty = true;
  }
  if (f.type === "snapshot" || f.queues.length || f.gone.queues.length) renderQueues(now);
  renderHeader();
  renderStates(now);
  if (f.type === "snapshot" || f.teams.length) renderPanelHeads();
  if (layoutDirty) scheduleLayout();
}

function onStatus(s) {
  const c = $("conn");
  c.className = "conn conn-" + s;
  setText(c, s === "live" ? T.conn_live : s === "lost" ? T.conn_lost : T.conn_connecting);
  document.body.classList.toggle("is-lost", s === "lost");
  const lost = $("lost");
  lost.hidden = s !== "lost";
  setText(lost, T.conn_lost);
}

function rerenderAll() {
  const now = stream.now();
  onStatus(stream.status);
  for (const c of cells.values()) paintCell(c, now, true);
  for (const q of [...tiles.keys()]) { tiles.get(q).root.remove(); tiles.delete(q); }
  if (model().config) {
    renderQueues(now);
    renderHeader();
    renderStates(now);
    renderPanelHeads();
  }
  renderAlerts();
  renderScripts($("incident"), scripts.scripts);
  tick();
  scheduleLayout(true);
}

// ---------------------------------------------------------------------------
// Header and clock
// ---------------------------------------------------------------------------

function renderHeader() {
  const m = model();
  if (m.config) setText($("title"), m.config.title);
  const shift = m.shift && m.shift.name ? " · " + m.shift.name : "";
  setText($("subtitle"), T.wall_title + shift);
  const tz = m.config ? m.config.timezone : undefined;
  document.title = (m.config ? m.config.title : "floorwatch") + " · " + T.wall_title;
  setText($("clock"), fmtClock(stream.now(), tz));
  setText($("date"), fmtDate(stream.now(), tz));
}

// ---------------------------------------------------------------------------
// Queue tiles
// ---------------------------------------------------------------------------

function metric(cls, key) {
  const root = el("div", "m " + cls);
  const value = el("span", "v");
  const warn = icon("overrun");
  warn.classList.add("lvl-icon");
  const label = el("span", "k", key);
  root.append(value, warn, label);
  return { root, value, label };
}

function makeTile(id) {
  const root = el("article", "tile");
  root.dataset.queue = id;
  const name = el("h2", "qname");
  const waiting = metric("waiting", "");
  const longest = metric("longest", "");
  const rate = metric("rate", "");
  const sl = metric("sl", "");
  const big = el("div", "big");
  big.append(waiting.root, longest.root);
  const ratios = el("div", "ratios");
  ratios.append(rate.root, sl.root);
  const counts = el("div", "counts");
  const fine = el("p", "fine");
  root.append(name, big, ratios, counts, fine);
  return { root, name, waiting, longest, rate, sl, counts, fine, q: null };
}

function level(v, warn, crit, below) {
  if (v == null) return 0;
  if (below) return v < crit ? 2 : v < warn ? 1 : 0;
  return v >= crit ? 2 : v >= warn ? 1 : 0;
}

function setLevel(node, lvl) {
  node.classList.toggle("lvl-1", lvl === 1);
  node.classList.toggle("lvl-2", lvl === 2);
}

function shownQueues() {
  const all = [...model().queues.values()];
  if (onlyQueues.length) return onlyQueues.map((id) => model().queues.get(id)).filter(Boolean);
  return all.sort((a, b) => a.order - b.order);
}

function renderQueues(now) {
  const box = $("queues");
  const list = shownQueues();
  const keep = new Set(list.map((q) => q.id));
  for (const [id, t] of tiles) if (!keep.has(id)) { t.root.remove(); tiles.delete(id); layoutDirty = true; }
  list.forEach((q, i) => {
    let t = tiles.get(q.id);
    if (!t) { t = makeTile(q.id); tiles.set(q.id, t); layoutDirty = true; }
    t.q = q;
    if (box.children[i] !== t.root) box.insertBefore(t.root, box.children[i] || null);
    paintTile(t, now);
  });
  box.style.setProperty("--cols", String(Math.min(list.length, list.length > 8 ? Math.ceil(list.length / 2) : 4) || 1));
}

function paintTile(t, now) {
  const q = t.q, cfg = model().config;
  if (!q || !cfg) return;
  const th = cfg.thresholds;
  const w = q.windows[cfg.window] || {};
  const longest = q.oldest_since == null ? 0 : Math.max(0, (now - q.oldest_since) / 1000);
  setText(t.name, q.name);
  setText(t.waiting.value, fmtInt(q.waiting));
  setText(t.waiting.label, T.waiting);
  setText(t.longest.value, fmtDur(longest));
  setText(t.longest.label, T.longest);
  setText(t.rate.value, fmtPct(w.answer_rate));
  setText(t.rate.label, T.answer_rate);
  setText(t.sl.value, fmtPct(w.service_level));
  setText(t.sl.label, `${T.service_level} (${T.target(fmtPct0(q.sl_target), q.sl_threshold_secs)})`);
  setText(t.counts, `${T.offered} ${fmtInt(w.offered ?? 0)} · ${T.answered} ${fmtInt(w.answered ?? 0)} · ${T.abandoned} ${fmtInt(w.abandoned ?? 0)}`);
  const formula = (T.sl_formula[q.sl_abandons] || T.sl_formula.count)(q.sl_threshold_secs);
  setText(t.fine, `${T.window(cfg.window)} · ${formula} · ${T.ar_formula} · ${T.short_abandons(q.short_abandon_secs)}`);
  const lv = [
    level(q.waiting, th.waiting_warn, th.waiting_crit, false),
    level(longest, th.longest_wait_warn_secs, th.longest_wait_crit_secs, false),
    level(w.answer_rate, th.answer_rate_warn, th.answer_rate_crit, true),
    w.service_level == null ? 0 : level(w.service_level, q.sl_target, q.sl_target - th.service_level_warn_margin, true),
  ];
  [t.waiting, t.longest, t.rate, t.sl].forEach((mt, i) => setLevel(mt.root, lv[i]));
  setLevel(t.root, Math.max(...lv));
}

// ---------------------------------------------------------------------------
// State totals (also the legend: colour, icon and word for each state)
// ---------------------------------------------------------------------------

const stateChips = new Map();

function renderStates(now) {
  const box = $("states");
  const m = model();
  const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
  let over = 0;
  for (const a of m.agents.values()) {
    if (onlyTeams.length && !onlyTeams.includes(a.team)) continue;
    counts[a.state] = (counts[a.state] || 0) + 1;
    if (overrunLevel(a, m.config, now) > 0) over++;
  }
  const total = STATES.reduce((n, s) => n + counts[s], 0);
  const chips = [["total", null, T.logged_in, total], ...STATES.map((s) => [s, s, stateLabel(s), counts[s]]), ["overrun", "overrun", T.overrun, over]];
  for (const [key, ic, label, n] of chips) {
    let c = stateChips.get(key);
    if (!c) {
      c = { root: el("span", "chip st-" + key), label: el("span", "k"), n: el("b", "n") };
      if (ic) c.root.append(icon(ic));
      c.root.append(c.label, c.n);
      box.append(c.root);
      stateChips.set(key, c);
    }
    setText(c.label, label);
    setText(c.n, fmtInt(n));
  }
}

// ---------------------------------------------------------------------------
// Agents by team
// ---------------------------------------------------------------------------

function teamKey(a) { return a.team == null ? NO_TEAM : a.team; }

function panelFor(key) {
  let p = panels.get(key);
  if (!p) {
    const root = el("section", "team");
    const head = el("h3", "team-head");
    const name = el("span", "tname");
    const lead = el("span", "tlead");
    const counts = el("span", "tcounts");
    head.append(name, lead, counts);
    const box = el("div", "cells");
    root.append(head, box);
    p = { key, root, name, lead, counts, box, dirty: true };
    panels.set(key, p);
    layoutDirty = true;
  }
  return p;
}

function makeCell(a) {
  const root = el("div", "agent");
  root.dataset.agent = a.id;
  const ic = el("i", "mi");
  const name = el("span", "an");
  const time = el("span", "at");
  const reason = el("span", "ar");
  root.append(ic, name, time, reason);
  return { id: a.id, root, ic, name, time, reason, a, team: null, cls: "" };
}

function upsertCell(a, now) {
  if (onlyTeams.length && !onlyTeams.includes(a.team)) { removeCell(a.id); return; }
  let c = cells.get(a.id);
  if (!c) { c = makeCell(a); cells.set(a.id, c); }
  c.a = a;
  const key = teamKey(a);
  if (c.team !== key) {
    const p = panelFor(key);
    if (c.team != null) { const old = panels.get(c.team); if (old) old.dirty = true; }
    c.team = key;
    p.box.append(c.root);
    p.dirty = true;
    layoutDirty = true;
  }
  paintCell(c, now, true);
}

function removeCell(id) {
  const c = cells.get(id);
  if (!c) return;
  c.root.remove();
  cells.delete(id);
  const p = panels.get(c.team);
  if (p) p.dirty = true;
  layoutDirty = true;
}

function paintCell(c, now, full) {
  const a = c.a, cfg = model().config;
  const lvl = overrunLevel(a, cfg, now);
  const cls = `agent st-${STATES.includes(a.state) ? a.state : "unknown"}${lvl ? " ov ov" + lvl : ""}`;
  if (cls !== c.cls) { c.root.className = cls; c.cls = cls; }
  setText(c.time, fmtDur((now - a.since) / 1000));
  if (full) {
    setText(c.name, a.name || a.id);
    const limit = limitFor(a, cfg);
    let why = a.state === "not_ready" ? reasonLabel(a.reason) || stateLabel(a.state) : stateLabel(a.state);
    if (lvl && limit != null) why += ` · ${T.limit} ${fmtDur(limit)}`;
    setText(c.reason, why);
  }
}

function renderPanelHeads() {
  const m = model();
  for (const p of panels.values()) {
    const t = p.key === NO_TEAM ? null : m.teams.get(p.key);
    setText(p.name, p.key === NO_TEAM ? T.no_team : t ? t.name : p.key);
    setText(p.lead, t && t.lead ? `${T.lead} ${t.lead}` : "");
  }
}

function panelCounts(p) {
  const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
  for (const node of p.box.children) {
    const c = cells.get(node.dataset.agent);
    if (c) counts[c.a.state] = (counts[c.a.state] || 0) + 1;
  }
  const parts = STATES.filter((s) => counts[s] > 0).map((s) => `${stateLabel(s)} ${counts[s]}`);
  setText(p.counts, parts.join(" · "));
}

/// Orders panels (configured teams first, no team last) and the cells in each.
function arrangePanels() {
  const box = $("flow");
  const m = model();
  for (const [key, p] of panels) {
    if (p.box.children.length === 0) { p.root.remove(); panels.delete(key); }
  }
  const order = (key) => key === NO_TEAM ? Infinity : (m.teams.get(key)?.order ?? 1e9);
  const list = [...panels.values()].sort((x, y) => order(x.key) - order(y.key) || collator.compare(x.key, y.key));
  list.forEach((p, i) => {
    if (box.children[i] !== p.root) box.insertBefore(p.root, box.children[i] || null);
    if (p.dirty) {
      const sorted = [...p.box.children].sort((x, y) => collator.compare(x.dataset.agent, y.dataset.agent));
      sorted.forEach((node, j) => { if (p.box.children[j] !== node) p.box.insertBefore(node, p.box.children[j] || null); });
      p.dirty = false;
    }
  });
  renderPanelHeads();
}

// ---------------------------------------------------------------------------
// Alerts banner
// ---------------------------------------------------------------------------

let alertRows = 0;

function renderAlerts() {
  const box = $("alerts");
  const open = [...alerts.open.values()];
  const firing = open.filter((a) => a.state === "firing").sort(alertOrder);
  const acked = open.length - firing.length;
  box.replaceChildren();
  box.hidden = open.length === 0;
  if (open.length === 0) { if (alertRows !== 0) { alertRows = 0; scheduleLayout(); } return; }
  const MAX = 3;
  const now = stream.now();
  for (const a of firing.slice(0, MAX)) {
    const row = el("div", "alert sev-" + (a.severity === "critical" ? "critical" : "warning"));
    row.dataset.alert = a.id;
    row.append(icon("alert"), el("b", "sev", T.severity[a.severity] || a.severity), el("span", "head", alertHeadline(a, model())));
    row.append(el("span", "age", fmtDur((now - Date.parse(a.started_at)) / 1000)));
    row.append(el("span", "msg", a.message));
    box.append(row);
  }
  const rest = firing.length - Math.min(firing.length, MAX);
  const foot = [];
  if (rest > 0) foot.push(T.more(rest));
  if (acked > 0) foot.push(T.acknowledged_n(acked));
  if (foot.length) box.append(el("div", "alert-foot", foot.join(" · ")));
  const rows = Math.min(firing.length, MAX) + (foot.length ? 1 : 0);
  if (rows !== alertRows) { alertRows = rows; scheduleLayout(); }
}

function tickAlerts(now) {
  for (const row of $("alerts").querySelectorAll(".alert")) {
    const a = alerts.open.get(row.dataset.alert);
    const age = row.querySelector(".age");
    if (a && age) setText(age, fmtDur((now - Date.parse(a.started_at)) / 1000));
  }
}

// ---------------------------------------------------------------------------
// Fitting everything on one screen
// ---------------------------------------------------------------------------

const fits = (b) => b.scrollHeight <= b.clientHeight + 1 && b.scrollWidth <= b.clientWidth + 1;

/// The largest size in [lo, hi] (px) at which `apply(size)` makes `box` fit, or
/// null when even `lo` does not.
function fitSize(box, lo, hi, apply) {
  apply(hi);
  if (fits(box)) return hi;
  apply(lo);
  if (!fits(box)) return null;
  let ok = lo, bad = hi;
  while (bad - ok > 0.5) {
    const mid = (ok + bad) / 2;
    apply(mid);
    if (fits(box)) ok = mid; else bad = mid;
  }
  apply(ok);
  return ok;
}

let layoutPending = false;
let forceFit = true;
let fittedCount = 0;

/// Lays out again after membership changes (cheap: one measurement while it still
/// fits); `force` searches the best size again (resize, language, a snapshot).
function scheduleLayout(force) {
  layoutDirty = true;
  if (force === true) forceFit = true;
  if (layoutPending) return;
  layoutPending = true;
  requestAnimationFrame(() => { layoutPending = false; layout(); });
}

let density = null;

function layout() {
  layoutDirty = false;
  arrangePanels();
  const teams = $("teams");
  const flow = $("flow");
  // A fit is a few forced layouts of every cell: only when something no longer
  // fits, when asked, or when a tenth of the agents have left (room to grow).
  const n = cells.size;
  if (!forceFit && n >= fittedCount * 0.9 && fits($("queues"))) {
    if (flow.offsetHeight <= teams.clientHeight - 4) return;
    // A little more in the way (a line of alerts, a few agents more): a step or
    // two smaller, one layout each.
    if (density && shrinkFlow(teams, flow)) return;
  }
  forceFit = false;
  fittedCount = n;
  const vh = window.innerHeight;
  const q = $("queues");
  fitSize(q, 8, Math.max(10, vh / 50), (s) => q.style.setProperty("--qsize", s + "px"));
  if (n === 0) return;
  // Richest cells first, then smaller and plainer ones until everything fits.
  const densities = [["d-full", DENSITY_MIN["d-full"], Math.max(14, vh / 38)], ["d-compact", DENSITY_MIN["d-compact"], Math.max(16, vh / 40)], ["d-dot", DENSITY_MIN["d-dot"], Math.max(20, vh / 40)]];
  for (const [cls, lo, hi] of densities) {
    teams.className = "teams " + cls;
    density = cls;
    if (fitFlow(teams, flow, lo, hi) != null) return;
  }
}

let agentSize = 0;
const DENSITY_MIN = { "d-full": 12, "d-compact": 9, "d-dot": 3 };

function shrinkFlow(teams, flow) {
  const lo = DENSITY_MIN[density];
  let s = agentSize;
  for (let i = 0; i < 4 && s > lo; i++) {
    s = Math.max(lo, s * 0.96);
    teams.style.setProperty("--asize", s + "px");
    agentSize = s;
    if (flow.offsetHeight <= teams.clientHeight - 4) return true;
  }
  return false;
}

/// The largest agent size in [lo, hi] at which the flow fits its room. The
/// flow's height grows with the square of the size (more rows, each taller), so
/// each measurement gives the next guess: a handful of layouts, not a search.
function fitFlow(teams, flow, lo, hi) {
  const apply = (s) => { teams.style.setProperty("--asize", s + "px"); agentSize = s; };
  const room = () => teams.clientHeight - 4;
  let s = hi;
  apply(s);
  for (let i = 0; i < 5; i++) {
    const h = flow.offsetHeight;
    if (h <= room() && (s >= hi || h > room() * 0.94)) return s;
    const next = Math.min(hi, Math.max(lo, s * Math.sqrt(room() / h) * 0.985));
    if (Math.abs(next - s) < 0.2) break;
    s = next;
    apply(s);
  }
  // Rounding can leave it a row too tall: step down until it fits.
  while (flow.offsetHeight > room() && s > lo) { s = Math.max(lo, s * 0.96); apply(s); }
  return flow.offsetHeight <= room() ? s : null;
}

window.addEventListener("resize", () => scheduleLayout(true));

// ---------------------------------------------------------------------------
// The one-second tick: time in state, longest waits, overruns, the clock
// ---------------------------------------------------------------------------

function tick() {
  if (!model().head) return;
  const now = stream.now();
  for (const c of cells.values()) paintCell(c, now, false);
  for (const t of tiles.values()) paintTile(t, now);
  renderStates(now);
  for (const p of panels.values()) panelCounts(p);
  tickAlerts(now);
  renderHeader();
}

// Each tick lands just after a floor-second boundary, so counters move together.
function scheduleTick() {
  const ms = 1000 - (stream.now() % 1000) + 5;
  setTimeout(() => { tick(); scheduleTick(); }, ms);
}
scheduleTick();
