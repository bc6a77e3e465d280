// The wall (/): a TV read from across the room. Kiosk mode, no scrolling: every
// region has a budget of the screen (header, alerts, script, tiles, state line)
// and the agents take what is left, at a density computed from that room and
// their number — never measured by trial, so a layout is one read of the room.
//
// URL parameters: ?lang=zh-CN|en, ?queues=id,id (which tiles, in that order),
// ?teams=id,id (which teams), for a floor with one TV per area; ?agents=cells or
// ?agents=summary overrides `wallboard.agent_cells_max` for this screen;
// ?view=seats lays the agents out as they sit (the seat plan of the shift on
// `[floor_plan]`'s rows, empty seats shown), for a lead walking the floor.

import {
  T, lang, STATES, FloorStream, AlertStream, alertOrder, collator, el, setText, icon,
  installIcons, fmtInt, fmtPct, fmtPct0, fmtDur, fmtClock, fmtDate, fmtTime, overrunLevel, limitFor, stateLabel,
  reasonLabel, wireLangToggle, alertText, displayName as sharedDisplayName,
} from "./common.js";
import { ScriptStream } from "./incidents.js";

installIcons();
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const listParam = (k) => (params.get(k) || "").split(",").map((s) => s.trim()).filter(Boolean);
const onlyQueues = listParam("queues");
const onlyTeams = listParam("teams");
const agentsParam = params.get("agents");
const seatsView = params.get("view") === "seats";

// The wall's own words (the shared ones are in common.js's T).
const WALL = {
  "zh-CN": {
    script: "统一应答口径",
    mins: (m) => `${m} 分钟`,
    shift_totals: "本班次",
    asa: "平均应答",
    aht: "平均处理（今日）",
    abandon: "放弃率",
    staffed: (n, r) => `处理中 ${n} · 全场空闲 ${r}`,
    trend: "近 60 分钟呼入",
    rule: (w) => `告警按${w}`,
    at: (t) => `${t} 时`,
    now: "现",
    page: (n, p, total) => `另有 ${n} 条 · ${p}/${total}`,
    agents: (n) => `${n} 名坐席`,
    attention_none: "无超时",
    attention_more: (n) => `另有 ${n} 人超时`,
    limit: "上限",
    more_scripts: (n) => `另有 ${n} 条口径（见班组长控制台）`,
    row: (r) => `${r} 排`,
    unseated: "未排座",
    empty_seat: "空座",
    not_signed_in: "未签入",
  },
  en: {
    script: "Unified reply",
    mins: (m) => `${m} min`,
    shift_totals: "This shift",
    asa: "ASA",
    aht: "AHT (today)",
    abandon: "Abandoned",
    staffed: (n, r) => `${n} on its calls · ${r} ready (floor)`,
    trend: "Offered, last 60 min",
    rule: (w) => `alerts over ${w}`,
    at: (t) => `at ${t}`,
    now: "now",
    page: (n, p, total) => `${n} more · ${p}/${total}`,
    agents: (n) => `${n} ${String(n) === "1" ? "agent" : "agents"}`,
    attention_none: "no overruns",
    attention_more: (n) => `${n} more over their limit`,
    limit: "limit",
    more_scripts: (n) => `${n} more scripts (on the team-lead console)`,
    row: (r) => `Row ${r}`,
    unseated: "No seat",
    empty_seat: "empty",
    not_signed_in: "not signed in",
  },
};
const W = () => WALL[lang] || WALL.en;

/// A window label ("15m", "90s", "shift") as the page says it ("15 分钟").
function windowName(w) {
  if (!w) return "";
  if (w === "shift") return W().shift_totals;
  if (w.endsWith("m")) return W().mins(w.slice(0, -1));
  return T.window(w);
}

const cells = new Map(); // agent id → cell
const tiles = new Map(); // queue id → tile
const panels = new Map(); // team key → panel
const NO_TEAM = "\u0000none";

const stream = new FloorStream({ onFrame, onStatus });
const alerts = new AlertStream({ onChange: () => { alertsDirty = true; schedule(); } });
let scriptList = [];
let scriptKey = "[]";
const scripts = new ScriptStream((list) => {
  const key = JSON.stringify(list);
  if (key === scriptKey) return;
  scriptKey = key;
  scriptList = list;
  scriptsDirty = true;
  alertsDirty = true; // the incident's alert goes first
  layoutDirty = true;
  schedule();
});
wireLangToggle($("lang-toggle"), rerenderAll);

function model() { return stream.model; }

// ---------------------------------------------------------------------------
// Display names: the config's name in the page language, else the floor's name,
// else the id.
// ---------------------------------------------------------------------------

function displayName(kind, id, fallback) { return sharedDisplayName(model(), kind, id, fallback); }
const queueName = (id) => { const q = model().queues.get(id); return displayName("queues", id, q && q.name); };
const teamName = (id) => { const t = model().teams.get(id); return displayName("teams", id, t && t.name); };
const componentName = (id) => displayName("components", id, id);

// ---------------------------------------------------------------------------
// Frames: the model is updated at once; the page is written once per animation
// frame, and only what changed.
// ---------------------------------------------------------------------------

const dirtyCells = new Set();
let queuesDirty = false;
let alertsDirty = false;
let scriptsDirty = false;
let layoutDirty = true;
let headsDirty = true;
let tickDue = false;
let framePending = false;

function schedule() {
  if (framePending) return;
  framePending = true;
  requestAnimationFrame(frame);
}

function onFrame(m, f) {
  if (f.type === "snapshot") {
    for (const id of [...cells.keys()]) if (!m.agents.has(id) && !id.startsWith(SEAT)) removeCell(id);
    for (const a of m.agents.values()) upsertCell(a);
    if (seatsView) syncSeats();
    layoutDirty = true;
    headsDirty = true;
    queuesDirty = true;
  } else {
    // A seat changes hands only when an agent signs in or out, not with every
    // state change the delta carries.
    const joined = seatsView && f.agents.some((a) => !cells.has(a.id));
    for (const a of f.agents) upsertCell(a);
    for (const id of f.gone.agents) removeCell(id);
    if (joined || (seatsView && f.gone.agents.length)) syncSeats();
    if (f.teams.length || f.gone.teams.length) { layoutDirty = true; headsDirty = true; }
    if (f.queues.length || f.gone.queues.length) queuesDirty = true;
  }
  schedule();
}

function frame() {
  framePending = false;
  // Reads first, while the layout is still the one last drawn (free to read);
  // every write below comes after, so a frame lays the page out once.
  const tilesOverflow = tiles.size > 0 && !queuesFit();
  const now = stream.now();
  if (tickDue) {
    tickDue = false;
    for (const c of cells.values()) paintCell(c, now, false);
    queuesDirty = true;
    tickAlerts();
    renderHeader(now);
    renderStates(now);
    if (mode === "d-sum") for (const p of panels.values()) p.sumDirty = true;
  }
  if (dirtyCells.size) {
    for (const c of dirtyCells) paintCell(c, now, true);
    dirtyCells.clear();
    renderStates(now);
    renderHeader(now);
  }
  if (mode === "d-sum") for (const p of panels.values()) if (p.sumDirty) paintSummary(p, now);
  if (queuesDirty) { queuesDirty = false; renderQueues(now); }
  // Team deltas come with every update (their counts move); only a changed
  // name asks for a new layout, which is the one costly step.
  if (headsDirty) { headsDirty = false; if (renderPanelHeads()) layoutDirty = true; }
  if (scriptsDirty) { scriptsDirty = false; renderScripts(); layoutDirty = true; }
  if (alertsDirty) { alertsDirty = false; renderAlerts(now); }
  if (layoutDirty) { layoutDirty = false; layout(); if (tilesOverflow) schedule(); }
  else if (tilesOverflow) shrinkQueues();
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
  fontFamily = null;
  widthCache.clear();
  onStatus(stream.status);
  for (const c of cells.values()) { c.text = null; dirtyCells.add(c); }
  for (const q of [...tiles.keys()]) { tiles.get(q).root.remove(); tiles.delete(q); }
  for (const c of stateChips.values()) c.root.remove();
  stateChips.clear();
  queuesDirty = alertsDirty = scriptsDirty = headsDirty = layoutDirty = tickDue = true;
  schedule();
}

// ---------------------------------------------------------------------------
// Header and clock
// ---------------------------------------------------------------------------

function renderHeader(now) {
  const m = model();
  if (m.config) setText($("title"), m.config.title);
  const shift = m.shift && m.shift.name ? " · " + m.shift.name : "";
  setText($("subtitle"), T.wall_title + shift);
  const tz = m.config ? m.config.timezone : undefined;
  const title = (m.config ? m.config.title : "floorwatch") + " · " + T.wall_title;
  if (document.title !== title) document.title = title;
  setText($("clock"), fmtClock(now, tz));
  setText($("date"), fmtDate(now, tz));
}

// ---------------------------------------------------------------------------
// Queue tiles: every figure names its window; the alert rules' window beside
// the tile's where they differ.
// ---------------------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";

function metric(cls) {
  const root = el("div", "m " + cls);
  const value = el("span", "v");
  const warn = icon("overrun");
  warn.classList.add("lvl-icon");
  const label = el("span", "k");
  root.append(value, warn, label);
  return { root, value, label };
}

function makeTile(id) {
  const root = el("article", "tile");
  root.dataset.queue = id;
  const head = el("div", "qhead");
  const name = el("h2", "qname");
  const win = el("span", "qwin");
  head.append(name, win);
  const waiting = metric("waiting");
  const longest = metric("longest");
  const rate = metric("rate");
  const sl = metric("sl");
  const big = el("div", "big");
  big.append(waiting.root, longest.root);
  const ratios = el("div", "ratios");
  ratios.append(rate.root, sl.root);
  const figs = el("p", "figs");
  const counts = el("p", "counts");
  const shift = el("p", "shift");
  const spark = document.createElementNS(SVG, "svg");
  spark.setAttribute("class", "spark");
  spark.setAttribute("viewBox", "0 0 60 10");
  spark.setAttribute("preserveAspectRatio", "none");
  const line = document.createElementNS(SVG, "polyline");
  spark.appendChild(line);
  const trend = el("p", "trend");
  const fine = el("p", "fine");
  root.append(head, big, ratios, figs, counts, shift, spark, trend, fine);
  return { root, name, win, waiting, longest, rate, sl, figs, counts, shift, line, trend, fine, q: null, trendKey: "" };
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
}

function paintTile(t, now) {
  const q = t.q, cfg = model().config;
  if (!q || !cfg) return;
  const th = cfg.thresholds;
  const w = q.windows[cfg.window] || {};
  const rw = cfg.rule_window && cfg.rule_window !== cfg.window ? q.windows[cfg.rule_window] : null;
  const longest = q.oldest_since == null ? 0 : Math.max(0, (now - q.oldest_since) / 1000);
  setText(t.name, queueName(q.id));
  setText(t.win, windowName(cfg.window));
  setText(t.waiting.value, fmtInt(q.waiting));
  setText(t.waiting.label, T.waiting);
  setText(t.longest.value, fmtDur(longest));
  setText(t.longest.label, T.longest);
  setText(t.rate.value, fmtPct(w.answer_rate));
  const ruleRate = rw ? ` · ${windowName(cfg.rule_window)} ${fmtPct(rw.answer_rate)}` : "";
  setText(t.rate.label, T.answer_rate + ruleRate);
  setText(t.sl.value, fmtPct(w.service_level));
  const ruleSl = rw ? ` · ${windowName(cfg.rule_window)} ${fmtPct(rw.service_level)}` : "";
  setText(t.sl.label, `${T.service_level} (${T.target(fmtPct0(q.sl_target), q.sl_threshold_secs)})${ruleSl}`);
  const head = model().head || {};
  setText(t.figs, `${W().asa} ${fmtDur(w.asa_secs)} · ${W().abandon} ${fmtPct(w.abandon_rate)} · ${W().aht} ${fmtDur(head.aht_secs)}`);
  setText(t.counts, `${T.offered} ${fmtInt(w.offered ?? 0)} · ${T.answered} ${fmtInt(w.answered ?? 0)} · ${T.abandoned} ${fmtInt(w.abandoned ?? 0)} · ${W().staffed(fmtInt(q.staffed ?? 0), fmtInt(q.available ?? 0))}`);
  const s = q.windows.shift || {};
  setText(t.shift, `${W().shift_totals}: ${T.offered} ${fmtInt(s.offered ?? 0)} · ${T.answered} ${fmtInt(s.answered ?? 0)} · ${T.abandoned} ${fmtInt(s.abandoned ?? 0)} · ${T.answer_rate} ${fmtPct(s.answer_rate)}`);
  const trend = q.trend || [];
  const key = trend.join(",");
  if (key !== t.trendKey) {
    t.trendKey = key;
    const max = Math.max(1, ...trend);
    const pts = trend.map((v, i) => `${i + 0.5},${(9.5 - (v / max) * 9).toFixed(2)}`).join(" ");
    t.line.setAttribute("points", pts);
  }
  setText(t.trend, `${W().trend} · ${fmtInt(trend.reduce((a, b) => a + b, 0))}`);
  const formula = (T.sl_formula[q.sl_abandons] || T.sl_formula.count)(q.sl_threshold_secs);
  const rule = rw ? ` · ${W().rule(windowName(cfg.rule_window))}` : "";
  setText(t.fine, `${formula} · ${T.short_abandons(q.short_abandon_secs)}${rule}`);
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
  for (const c of cells.values()) {
    counts[c.a.state] = (counts[c.a.state] || 0) + 1;
    if (c.lvl > 0) over++;
  }
  void now;
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
  void m;
}

// ---------------------------------------------------------------------------
// Agents by team
// ---------------------------------------------------------------------------

function teamKey(a) {
  if (seatsView) {
    const at = a.empty ? a : seatOf.get(a.id);
    return at ? ROW + at.row : NO_TEAM;
  }
  return a.team == null ? NO_TEAM : a.team;
}

// ---------------------------------------------------------------------------
// The seats view: panels are the floor plan's rows, in its order, and cells its
// seats in theirs — a seated agent's cell, or an empty seat. The plan of the
// shift (`GET /api/seatmap`) is read at start and every half minute: it changes
// when the duty supervisor edits the roster, while states come from the feed.
// ---------------------------------------------------------------------------

const ROW = "\u0001row:";
const SEAT = "\u0001seat:";
const seatOf = new Map(); // agent id → { row, seat, index }
let rowOrder = new Map(); // row name → its place on the plan

let plan = []; // every seat of the plan: { row, seat, index, agent, name }

async function loadSeats() {
  let v;
  try {
    const r = await fetch("/api/seatmap");
    if (!r.ok) return;
    v = await r.json();
  } catch (_) { return; }
  seatOf.clear();
  rowOrder = new Map();
  plan = [];
  for (const [i, row] of (v.rows || []).entries()) {
    rowOrder.set(String(row.row), i);
    for (const s of row.seats || []) {
      const at = { row: String(row.row), seat: String(s.seat), index: plan.length };
      plan.push({ ...at, agent: s.agent ? String(s.agent) : null, name: s.name || null });
      if (s.agent) seatOf.set(String(s.agent), at);
    }
  }
  syncSeats();
  // Every agent to the row of their seat now.
  for (const c of cells.values()) if (!c.a.empty) upsertCell(c.a);
  layoutDirty = true;
  headsDirty = true;
  schedule();
}

/// A seat whose agent is not on the floor — nobody's, or a rostered agent not
/// signed in — is a cell of its own; it leaves when its agent signs in.
function syncSeats() {
  const want = new Map();
  for (const p of plan) {
    if (p.agent && model().agents.has(p.agent)) continue;
    want.set(SEAT + p.seat, p);
  }
  for (const id of [...cells.keys()]) if (id.startsWith(SEAT) && !want.has(id)) removeCell(id);
  for (const [id, p] of want) {
    const c = cells.get(id);
    if (c && c.a.agent === p.agent) continue;
    upsertCell({ id, empty: true, off: !!p.agent, agent: p.agent, name: p.name || p.agent || p.seat, row: p.row, seat: p.seat, index: p.index });
  }
}
if (seatsView) { loadSeats(); setInterval(loadSeats, 30000); }

function panelFor(key) {
  let p = panels.get(key);
  if (!p) {
    const root = el("section", "team");
    const head = el("h3", "team-head");
    const name = el("span", "tname");
    const lead = el("span", "tlead");
    head.append(name, lead);
    root.dataset.team = key === NO_TEAM ? "" : key;
    const sum = el("div", "tsum");
    const att = el("ol", "tatt");
    const box = el("div", "cells");
    root.append(head, sum, att);
    if (mode !== "d-sum") root.append(box);
    p = { key, root, head, name, lead, sum, att, box, dirty: true, span: 1, sumChips: null, sumDirty: true, attRows: 0, lineEm: 10 };
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
  return { id: a.id, root, ic, name, time, reason, a, team: null, cls: "", lvl: 0, text: null };
}

function upsertCell(a) {
  if (onlyTeams.length && !onlyTeams.includes(a.team)) { removeCell(a.id); return; }
  let c = cells.get(a.id);
  if (!c) { c = makeCell(a); cells.set(a.id, c); layoutDirty = true; }
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
  dirtyCells.add(c);
  const p = panels.get(key);
  if (p) p.sumDirty = true;
}

function removeCell(id) {
  const c = cells.get(id);
  if (!c) return;
  c.root.remove();
  cells.delete(id);
  dirtyCells.delete(c);
  const p = panels.get(c.team);
  if (p) { p.dirty = true; p.sumDirty = true; }
  layoutDirty = true;
}

let mode = "d-full";
let nameLimitEm = 12;

function paintCell(c, now, full) {
  const a = c.a, cfg = model().config;
  if (a.empty) {
    // A seat without its agent on the floor: dim, nothing that ticks; the
    // rostered agent's name if there is one, else the seat's label.
    const cls = a.off ? "agent seat-empty seat-off" : "agent seat-empty";
    if (c.cls !== cls) { c.root.className = cls; c.cls = cls; }
    if (mode === "d-dot" || mode === "d-sum" || !(full || c.text === null)) return;
    setText(c.name, fitText(a.name, nameLimitEm));
    setText(c.time, "");
    setText(c.reason, fitText(`${a.seat} · ${a.off ? W().not_signed_in : W().empty_seat}`, nameLimitEm + 3.4));
    c.text = a.name;
    return;
  }
  const lvl = overrunLevel(a, cfg, now);
  c.lvl = lvl;
  // A summary shows no cells (they are out of the document): nothing to paint.
  if (mode === "d-sum") { if (full) c.text = null; return; }
  const cls = `agent st-${STATES.includes(a.state) ? a.state : "unknown"}${lvl ? " ov ov" + lvl : ""}`;
  if (cls !== c.cls) { c.root.className = cls; c.cls = cls; }
  // Dots show no text: nothing to write 2,000 times a second.
  if (mode === "d-dot") { if (full) c.text = null; return; }
  setText(c.time, fmtDur((now - a.since) / 1000));
  if (full || c.text === null) {
    const name = a.name || a.id;
    const shown = fitText(name, nameLimitEm);
    setText(c.name, shown);
    if (shown !== name) c.root.title = name; else if (c.root.title) c.root.title = "";
    const limit = limitFor(a, cfg);
    let why = a.state === "not_ready" ? reasonLabel(a.reason) || stateLabel(a.state) : stateLabel(a.state);
    if (lvl && limit != null) why += ` · ${W().limit} ${fmtDur(limit)}`;
    const seat = seatsView && seatOf.get(a.id);
    if (seat) why = `${seat.seat} · ${why}`;
    setText(c.reason, fitText(why, nameLimitEm + 3.4));
    c.text = name;
  }
}

// Text widths in em of the page font, measured once per string on a canvas
// (no layout), so the grid's cell width follows the longest name.
const measureCtx = document.createElement("canvas").getContext("2d");
const widthCache = new Map();
// The page's font, read once (and again after a language switch): reading it
// per miss would ask for the page's style each time, and after the cache is
// cleared that is thousands of style reads in one task.
let fontFamily = null;
function emWidth(text, bold) {
  const k = (bold ? "b" : "n") + text;
  let w = widthCache.get(k);
  if (w === undefined) {
    if (fontFamily === null) fontFamily = getComputedStyle(document.body).fontFamily;
    measureCtx.font = `${bold ? 700 : 400} 100px ${fontFamily}`;
    w = measureCtx.measureText(text).width / 100;
    if (widthCache.size > 20000) widthCache.clear();
    widthCache.set(k, w);
  }
  return w;
}

/// `text` cut to `em` wide with an ellipsis, or whole when it fits: the cell is
/// sized for the longest name up to a cap, and only a name past the cap is cut.
function fitText(text, em) {
  if (emWidth(text, true) <= em) return text;
  let lo = 0, hi = text.length;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (emWidth(text.slice(0, mid) + "…", true) <= em) lo = mid; else hi = mid;
  }
  return text.slice(0, lo) + "…";
}

/// Writes the team heads; true when any text changed.
function renderPanelHeads() {
  const m = model();
  let changed = false;
  for (const p of panels.values()) {
    const t = p.key === NO_TEAM || seatsView ? null : m.teams.get(p.key);
    const name = seatsView
      ? (p.key === NO_TEAM ? W().unseated : W().row(p.key.slice(ROW.length)))
      : p.key === NO_TEAM ? T.no_team : teamName(p.key);
    const lead = t && t.lead ? `${T.lead} ${t.lead}` : "";
    if (p.name.textContent !== name || p.lead.textContent !== lead) changed = true;
    setText(p.name, name);
    setText(p.lead, lead);
  }
  return changed;
}

/// A team as one summary tile (the biggest floors): its counts by state, then
/// the agents a lead should go to now — over their not-ready or ACW limit,
/// critical first, longest first — as many as the tile has rows for, and how
/// many more.
function paintSummary(p, now) {
  p.sumDirty = false;
  const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
  let n = 0;
  const over = [];
  for (const node of p.box.children) {
    const c = cells.get(node.dataset.agent);
    if (!c || c.a.empty) continue;
    counts[c.a.state] = (counts[c.a.state] || 0) + 1;
    n++;
    if (c.lvl > 0) over.push(c);
  }
  if (!p.sumChips) {
    p.sumChips = new Map();
    p.total = el("span", "ttotal");
    p.head.append(p.total);
    for (const s of [...STATES, "overrun"]) {
      const chip = el("span", "chip st-" + s);
      chip.append(icon(s), el("b", "n"));
      p.sum.append(chip);
      p.sumChips.set(s, chip);
    }
  }
  setText(p.total, W().agents(fmtInt(n)));
  for (const s of STATES) setText(p.sumChips.get(s).lastChild, fmtInt(counts[s]));
  setText(p.sumChips.get("overrun").lastChild, fmtInt(over.length));
  over.sort((x, y) => y.lvl - x.lvl || x.a.since - y.a.since || collator.compare(x.id, y.id));
  const rows = Math.max(1, p.attRows);
  const shown = over.length > rows ? over.slice(0, rows - 1) : over;
  const lines = [];
  for (const c of shown) {
    const a = c.a;
    const why = a.state === "not_ready" ? reasonLabel(a.reason) || stateLabel(a.state) : stateLabel(a.state);
    const time = fmtDur((now - a.since) / 1000);
    // The name takes what the reason and the time leave of the row (in em of the
    // row's type), cut with an ellipsis past that.
    // Times are measured as their shape ("0:00"): one cache entry per shape,
    // not one per second.
    const room = p.lineEm - emWidth(why, false) - emWidth(time.replace(/\d/g, "0"), false) - 1.2;
    lines.push([`st-${a.state} ov${c.lvl}`, fitText(a.name || a.id, Math.max(2, room)), why, time, a.id]);
  }
  if (over.length > shown.length) lines.push(["more", W().attention_more(fmtInt(over.length - shown.length)), "", ""]);
  if (lines.length === 0) lines.push(["none", W().attention_none, "", ""]);
  const items = p.att.children;
  while (items.length > lines.length) p.att.lastChild.remove();
  lines.forEach(([cls, name, why, time, id], i) => {
    let li = items[i];
    if (!li) {
      li = el("li");
      li.append(el("span", "aname"), el("span", "awhy"), el("span", "atime"));
      p.att.append(li);
    }
    if (li.className !== cls) li.className = cls;
    if ((li.dataset.agent || "") !== (id || "")) li.dataset.agent = id || "";
    setText(li.children[0], name);
    setText(li.children[1], why);
    setText(li.children[2], time);
  });
}

/// Orders panels (configured teams first, no team last) and the cells in each.
function arrangePanels() {
  const box = $("flow");
  const m = model();
  for (const [key, p] of panels) {
    if (p.box.children.length === 0) { p.root.remove(); panels.delete(key); }
  }
  const order = (key) => key === NO_TEAM ? Infinity
    : seatsView ? (rowOrder.get(key.slice(ROW.length)) ?? 1e9) : (m.teams.get(key)?.order ?? 1e9);
  // In the seats view a row's cells go in the plan's order of its seats.
  const seatIndex = (node) => {
    const id = node.dataset.agent;
    const c = cells.get(id);
    return (c && c.a.empty ? c.a.index : seatOf.get(id)?.index) ?? Infinity;
  };
  const byCell = seatsView
    ? (x, y) => seatIndex(x) - seatIndex(y) || collator.compare(x.dataset.agent, y.dataset.agent)
    : (x, y) => collator.compare(x.dataset.agent, y.dataset.agent);
  const list = [...panels.values()].sort((x, y) => order(x.key) - order(y.key) || collator.compare(x.key, y.key));
  list.forEach((p, i) => {
    if (box.children[i] !== p.root) box.insertBefore(p.root, box.children[i] || null);
    if (p.dirty) {
      const sorted = [...p.box.children].sort(byCell);
      sorted.forEach((node, j) => { if (p.box.children[j] !== node) p.box.insertBefore(node, p.box.children[j] || null); });
      p.dirty = false;
    }
  });
  return list;
}

// ---------------------------------------------------------------------------
// Alerts: the incident's alert first, then critical before warning; one queue's
// alerts on one line, one kind's agent overruns on one line; lines that do not
// fit the budget rotate at a steady pace, with a count.
// ---------------------------------------------------------------------------

const ROTATE_MS = 6000;
let rotation = 0;
setInterval(() => { rotation++; alertsDirty = true; schedule(); }, ROTATE_MS);

/// Whether alert `a` is the one the incident on screen was opened for.
function isIncidentAlert(a) {
  const s = a.subject || {};
  return scriptList.some((x) => x.kind === a.kind && ((x.queue && x.queue === s.queue) || (x.component && x.component === s.component) || (!x.queue && !x.component)));
}

function kindName(kind) {
  const names = model().config && model().config.kinds && model().config.kinds[kind];
  return (names && names[lang]) || kind;
}

/// Lines of alerts: [{key, alerts (best first), incident, severity}].
function alertLines(firing) {
  const groups = new Map();
  for (const a of firing) {
    const s = a.subject || {};
    const key = s.queue ? "q:" + s.queue : s.agent ? "k:" + a.kind : "a:" + a.id;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(a);
  }
  const lines = [...groups.entries()].map(([key, list]) => {
    list.sort(alertOrder);
    return { key, alerts: list, incident: list.some(isIncidentAlert), critical: list.some((a) => a.severity === "critical") };
  });
  lines.sort((x, y) => (y.incident - x.incident) || (y.critical - x.critical) || alertOrder(x.alerts[0], y.alerts[0]));
  return lines;
}

/// The message in the page's language, with the ids it names said by their
/// display names and its time of writing ("at 14:05"): the figure in it is the
/// one the alert fired with.
function messageOf(a) {
  const text = alertText(a, model());
  const tz = model().config ? model().config.timezone : undefined;
  return `${W().at(fmtTime(Date.parse(a.updated_at || a.started_at), tz))}: ${text}`;
}

/// The live figure an alert is about: `{ text, win }` (`win` the window it
/// counts over, for the line to name once), or null.
function liveFigure(a, now) {
  const s = a.subject || {};
  const cfg = model().config;
  if (s.queue) {
    const q = model().queues.get(s.queue);
    if (!q || !cfg) return null;
    const rw = q.windows[cfg.rule_window] || {};
    const win = windowName(cfg.rule_window);
    switch (a.kind) {
      case "answer_rate_low": return { text: `${T.answer_rate} ${fmtPct(rw.answer_rate)}`, win };
      case "service_level_low": return { text: `${T.service_level} ${fmtPct(rw.service_level)}`, win };
      case "longest_wait_high": return { text: `${T.longest} ${fmtDur(q.oldest_since == null ? 0 : (now - q.oldest_since) / 1000)}` };
      case "traffic_surge": return { text: `${T.offered} ${fmtInt(rw.offered ?? 0)}`, win };
      default: return null;
    }
  }
  if (s.agent) {
    const ag = model().agents.get(s.agent);
    if (!ag) return null;
    const limit = limitFor(ag, cfg);
    return { text: `${ag.name || ag.id} ${fmtDur((now - ag.since) / 1000)}${limit != null ? ` (${W().limit} ${fmtDur(limit)})` : ""}` };
  }
  return null;
}

/// A line's live figures: a queue's as "now A · B (3 min) · C", the window
/// named once after the figures it applies to; agents' as they are.
function liveLine(line, now) {
  const figs = (line.key.startsWith("k:") ? line.alerts.slice(0, 4) : line.alerts).map((x) => liveFigure(x, now)).filter(Boolean);
  if (figs.length === 0) return "";
  if (line.key.startsWith("k:")) return figs.map((f) => f.text).join(" · ");
  const windowed = figs.filter((f) => f.win), plain = figs.filter((f) => !f.win);
  const parts = [];
  if (windowed.length) parts.push(`${windowed.map((f) => f.text).join(" · ")} (${windowed[0].win})`);
  for (const f of plain) parts.push(f.text);
  return `${W().now} ${parts.join(" · ")}`;
}

function subjectName(a) {
  const s = a.subject || {};
  if (s.queue) return queueName(s.queue);
  // A team's own alert (a patrol overdue) names the team as its component too.
  if (s.component && s.component !== s.team) return componentName(s.component);
  if (s.source) return s.source;
  if (s.team) return teamName(s.team);
  return "";
}

let alertRows = -1;
// The rows on screen, reused from one second to the next: a redraw writes only
// the words that changed (most seconds, an age and a live figure), so the alert
// region costs no new nodes and no layout beyond those words.
const alertEls = [];
let alertFoot = null;

function alertRow() {
  const r = { root: el("div", "alert"), sev: el("b", "sev"), head: el("span", "head"), age: el("span", "age"), live: el("span", "live"), msg: el("span", "msg"), cls: "", id: "" };
  r.root.append(icon("alert"), r.sev, r.head, r.age, r.live, r.msg);
  return r;
}

function setHidden(node, hidden) { if (node.hidden !== hidden) node.hidden = hidden; }

function renderAlerts(now) {
  const box = $("alerts");
  const open = [...alerts.open.values()];
  const firing = open.filter((a) => a.state === "firing");
  const acked = open.length - firing.length;
  setHidden(box, open.length === 0);
  const lines = alertLines(firing);
  // The budget: two lines on a small screen, three from 1000 px high.
  const max = window.innerHeight >= 1000 ? 3 : 2;
  let shown = lines;
  let foot = "";
  if (lines.length > max) {
    // The first line stays (the incident's, or the worst); the others take turns.
    const rest = lines.slice(1);
    const per = max - 1;
    const pages = Math.ceil(rest.length / per);
    const page = rotation % pages;
    shown = [lines[0], ...rest.slice(page * per, page * per + per)];
    foot = W().page(lines.length - shown.length, page + 1, pages);
  }
  if (!alertFoot) { alertFoot = el("div", "alert-foot"); box.append(alertFoot); }
  shown.forEach((line, i) => {
    const a = line.alerts[0];
    let r = alertEls[i];
    if (!r) { r = alertRow(); alertEls.push(r); }
    if (r.root.parentNode !== box) box.insertBefore(r.root, alertFoot);
    const cls = `alert sev-${line.critical ? "critical" : "warning"}${line.incident ? " incident-alert" : ""}`;
    if (r.cls !== cls) { r.root.className = cls; r.cls = cls; }
    if (r.id !== a.id) { r.root.dataset.alert = a.id; r.id = a.id; }
    const head = line.key.startsWith("k:")
      ? `${kindName(a.kind)} · ${W().agents(line.alerts.length)}`
      : [subjectName(a), ...new Set(line.alerts.map((x) => kindName(x.kind)))].filter(Boolean).join(" · ");
    setText(r.sev, T.severity[a.severity] || a.severity);
    setText(r.head, head);
    setText(r.age, fmtDur((now - Date.parse(a.started_at)) / 1000));
    const live = liveLine(line, now);
    setText(r.live, live);
    setHidden(r.live, !live);
    // One alert's line also gives its message as fired (with the time); a line
    // of several has their live figures, and their messages would not fit.
    const single = line.alerts.length === 1;
    setText(r.msg, single ? messageOf(a) : "");
    setHidden(r.msg, !single);
  });
  // Rows no longer needed leave the page (a hidden row would still count).
  while (alertEls.length > shown.length) alertEls.pop().root.remove();
  const extra = [];
  if (foot) extra.push(foot);
  if (acked > 0) extra.push(T.acknowledged_n(acked));
  setText(alertFoot, extra.join(" · "));
  setHidden(alertFoot, extra.length === 0);
  const rows = shown.length + (extra.length ? 1 : 0);
  if (rows !== alertRows) { alertRows = rows; layoutDirty = true; }
}

function tickAlerts() {
  // Ages and live figures move with the floor: the lines are patched once a
  // second (only the words that changed are written).
  if (alerts.open.size) alertsDirty = true;
}

// ---------------------------------------------------------------------------
// The unified reply script, in the page's language, headed by display names.
// ---------------------------------------------------------------------------

function renderScripts() {
  const section = $("incident");
  section.replaceChildren();
  section.hidden = scriptList.length === 0;
  // Two scripts in full at most (the newest first): a floor with many open
  // incidents still keeps its agents on screen; the rest are counted.
  const list = [...scriptList].sort((a, b) => Date.parse(b.published_at) - Date.parse(a.published_at));
  for (const s of list.slice(0, 2)) {
    const block = el("div", "script");
    block.dataset.incident = s.incident;
    const about = s.queue ? queueName(s.queue) : s.component ? componentName(s.component) : "";
    const what = s.kind && s.kind !== "manual" ? kindName(s.kind) : s.title;
    block.append(el("div", "script-title", [W().script, what, about, "v" + s.version].filter(Boolean).join(" · ")));
    block.append(el("div", "script-text", lang === "zh-CN" ? s.zh : s.en));
    section.append(block);
  }
  if (list.length > 2) section.append(el("div", "script-more", W().more_scripts(list.length - 2)));
}

// ---------------------------------------------------------------------------
// Layout: the agents' room is what the other regions leave; cell size and
// columns are computed from it and the count (pure arithmetic, no trial
// layouts), from rich cells down to dots and, past that, teams as summaries.
// ---------------------------------------------------------------------------

/// The largest size in [lo, hi] for which `ok(size)` holds, or null.
function largest(lo, hi, ok) {
  if (ok(hi)) return hi;
  if (!ok(lo)) return null;
  for (let i = 0; i < 18; i++) {
    const mid = (lo + hi) / 2;
    if (ok(mid)) lo = mid; else hi = mid;
  }
  return lo;
}

let queuesShape = "";
let queuesSize = 0;

function fitQueues(vw, vh) {
  const q = $("queues");
  const n = Math.max(1, tiles.size);
  const cols = Math.min(n, vw / vh > 1.5 ? 4 : 3);
  const rows = Math.ceil(n / cols);
  // During an incident (its script on screen) the alerts and the script take
  // their room from the tiles, not from the agents: the agents keep their names
  // when it matters most. Known before the layout, so there is no trial.
  const share = scriptList.length > 0 ? 0.3 : 0.4;
  // The same tiles on the same screen keep the size they settled on.
  const shape = `${n} ${cols} ${vw} ${vh} ${lang} ${share}`;
  if (shape === queuesShape) return;
  queuesShape = shape;
  q.style.setProperty("--cols", String(cols));
  // A tile is about 26 em wide and 17 em tall at its own font size; its region
  // has at most `share` of the screen.
  queuesSize = Math.max(7, Math.min((vh * share) / rows / 19, (vw - 20) / cols / 27, vh / 55));
  q.style.setProperty("--qsize", queuesSize.toFixed(2) + "px");
  // The next frame reads whether the estimate fits.
  schedule();
}

/// A safety net for text longer than the estimate: a step smaller, and the next
/// frame looks again. Measured at the start of a frame (the layout last drawn),
/// never between writes, so it forces no layout.
function shrinkQueues() {
  if (queuesSize <= 6) return;
  queuesSize *= 0.92;
  $("queues").style.setProperty("--qsize", queuesSize.toFixed(2) + "px");
  schedule();
}

const fits = (b) => b.scrollHeight <= b.clientHeight + 1 && b.scrollWidth <= b.clientWidth + 1;
function queuesFit() {
  if (!fits($("queues"))) return false;
  for (const t of tiles.values()) if (!fits(t.root)) return false;
  return true;
}

// The agents' room (#teams' content box), as a ResizeObserver last reported it:
// the other regions change its size, and the observer hears of it after the
// browser's own layout, so the grid is never computed from a forced one. A new
// size lays the agents out again before that frame is drawn.
let room = null;
new ResizeObserver((entries) => {
  const r = entries[entries.length - 1].contentRect;
  const next = { w: r.width - 2, h: r.height - 2 };
  if (room && room.w === next.w && room.h === next.h) return;
  room = next;
  fitAgents(panelList);
}).observe($("teams"));

let panelList = [];

function layout() {
  panelList = arrangePanels();
  renderPanelHeads();
  fitQueues(window.innerWidth, window.innerHeight);
  fitAgents(panelList);
}

/// Writes a style property only when it changes (an unchanged write would still
/// have the browser look at the styles again).
const written = new WeakMap();
function setVar(node, key, value) {
  let m = written.get(node);
  if (!m) { m = new Map(); written.set(node, m); }
  if (m.get(key) === value) return;
  m.set(key, value);
  node.style.setProperty(key, value);
}

function fitAgents(list) {
  const vh = window.innerHeight;
  const flow = $("flow");
  const n = cells.size;
  if (n === 0 || !room) return;
  const rw = room.w, rh = room.h;
  if (rw <= 0 || rh <= 0) return;
  const cfgMax = model().config?.agent_cells_max;
  const cellsMax = agentsParam === "cells" ? Infinity : agentsParam === "summary" ? 0 : cfgMax ?? 1000;
  let longest = 3;
  for (const c of cells.values()) longest = Math.max(longest, emWidth(c.a.name || c.a.id, true));
  if (seatsView && plan.length) {
    // The reason line leads with the seat ("R1-2 · Talking"): room for the
    // longest seat and word (the line is 3.4 em longer than the name's).
    let seat = 0;
    for (const p of plan) seat = Math.max(seat, emWidth(p.seat + " · ", true));
    let word = Math.max(emWidth(W().not_signed_in, true), emWidth(W().empty_seat, true));
    for (const st of STATES) word = Math.max(word, emWidth(stateLabel(st), true));
    longest = Math.max(longest, seat + word - 3.4);
  }
  const heads = list.map((p) => emWidth(p.name.textContent + "  " + p.lead.textContent, true) + 1.2);
  // Readable from 5 m: 18 px names at 1080p, scaled with the screen.
  const fMin = Math.max(11, vh / 60), fMax = Math.max(fMin, vh / 30);
  const try_ = (cwEm, chEm, gapEm, headScale) => (f) => {
    const cw = cwEm * f, ch = chEm * f, gap = gapEm * f;
    const cols = Math.floor((rw + gap) / (cw + gap));
    if (cols < 1) return false;
    let items = n;
    for (const h of heads) {
      const span = Math.min(cols, Math.max(1, Math.ceil((h * f * headScale + 0.3 * f) / (cw + gap))));
      items += span + span - 1; // the head, and the holes a span can leave at a row's end
    }
    return Math.ceil(items / cols) * (ch + gap) - gap <= rh;
  };
  // A small floor has room for whole long names; a big one caps them.
  const cap = n <= 200 ? 30 : 16;
  const fullEm = Math.min(cap, Math.max(7, longest + 1.6)) + 3.2;
  const compactEm = Math.min(13, Math.max(5, longest)) + 4.4;
  const candidates = [
    ["d-full", fullEm, 2.75, 0.25, 1, fMin, fMax, Math.min(cap, longest + 0.2)],
    ["d-compact", compactEm, 1.6, 0.2, 1, fMin, fMax, Math.min(13, longest + 0.2)],
    ["d-dot", 1, 1, 0.18, 1.4, Math.max(9, vh / 90), Math.max(12, vh / 22), 0],
  ];
  for (const [cls, cwEm, chEm, gapEm, headScale, lo, hi, limit] of n <= cellsMax ? candidates : []) {
    const f = largest(lo, hi, try_(cwEm, chEm, gapEm, headScale));
    if (f == null) continue;
    const cw = cwEm * f, gap = gapEm * f;
    const cols = Math.floor((rw + gap) / (cw + gap));
    setMode(cls, limit);
    setVar(flow, "--f", f.toFixed(2) + "px");
    setVar(flow, "--cols", String(cols));
    setVar(flow, "--cw", cw.toFixed(2) + "px");
    setVar(flow, "--ch", (chEm * f).toFixed(2) + "px");
    setVar(flow, "--gap", gap.toFixed(2) + "px");
    // A dot's team name is set a little smaller than its run of dots is wide.
    setVar(flow, "--hf", (cls === "d-dot" ? Math.min(f * 0.85, fMin) : f).toFixed(2) + "px");
    list.forEach((p, i) => {
      const span = Math.min(cols, Math.max(1, Math.ceil((heads[i] * f * headScale + 0.3 * f) / (cw + gap))));
      if (p.span !== span) { p.span = span; p.head.style.gridColumn = `span ${span}`; }
    });
    return;
  }
  // Too many to show one by one (or more than `agent_cells_max`): each team as
  // a summary tile. The columns are those that give the largest type, a tile
  // being about 14 em wide and at least 7.5 em tall (head, two rows of counts
  // and two agents who need a lead); what is left below the counts lists agents.
  setMode("d-sum", 0);
  const t = Math.max(1, list.length), GAP = 8;
  let best = null;
  for (let cols = 1; cols <= t; cols++) {
    const rows = Math.ceil(t / cols);
    const tw = (rw - GAP * (cols - 1)) / cols, th = (rh - GAP * (rows - 1)) / rows;
    const f = Math.min(fMax, th / 7.5, tw / 14);
    if (!best || f > best.f + 0.01) best = { cols, f, th, tw };
  }
  const f = Math.max(8, best.f);
  setVar(flow, "--f", f.toFixed(2) + "px");
  setVar(flow, "--cols", String(best.cols));
  setVar(flow, "--ch", best.th.toFixed(2) + "px");
  setVar(flow, "--gap", GAP + "px");
  // Rows for agents: the tile less its padding (.6 em), head (1.3 em) and two
  // rows of counts (2 × 1.35 em at .9), each agent's row 1.3 em at .9.
  const rows = Math.max(1, Math.floor((best.th / f - 0.6 - 1.3 - 2.6 - 0.3) / (1.3 * 0.9)));
  const now = stream.now();
  // A row's width in em of its type (.9 of the tile's), less the tile's padding.
  const lineEm = (best.tw / f - 1) / 0.9;
  for (const p of list) { p.attRows = rows; p.lineEm = lineEm; paintSummary(p, now); }
}

function setMode(cls, limit) {
  const teams = $("teams");
  const changed = cls !== mode || limit !== nameLimitEm;
  mode = cls;
  nameLimitEm = limit;
  if (teams.className !== "teams " + cls) teams.className = "teams " + cls;
  // A summary keeps its cells out of the document, so the browser has nothing
  // to restyle or paint when 2,000 agents change state; they come back with
  // their state when the wall has room for them again.
  for (const p of panels.values()) {
    if (cls === "d-sum" && p.box.parentNode) p.box.remove();
    else if (cls !== "d-sum" && !p.box.parentNode) p.root.append(p.box);
  }
  if (changed) for (const c of cells.values()) { c.text = null; dirtyCells.add(c); }
  if (dirtyCells.size) schedule();
}

window.addEventListener("resize", () => { layoutDirty = true; alertsDirty = true; schedule(); });

// ---------------------------------------------------------------------------
// The one-second tick: time in state, longest waits, overruns, the clock
// ---------------------------------------------------------------------------

// Each tick lands just after a floor-second boundary, so counters move together.
function scheduleTick() {
  const ms = 1000 - (stream.now() % 1000) + 5;
  setTimeout(() => { if (model().head) { tickDue = true; schedule(); } scheduleTick(); }, ms);
}
scheduleTick();
