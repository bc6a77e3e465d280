// Shared by the wall (/) and the team-lead console (/lead): languages, number and
// time formats, state icons, the live floor stream and the alert stream.
//
// Safety rule for this whole front-end: anything that came from outside (names,
// reasons, queue and team names, alert messages) goes on the page through
// textContent or a DOM property, never through an HTML parser or string. The
// page's Content-Security-Policy forbids inline script as a second line.

// ---------------------------------------------------------------------------
// Languages
// ---------------------------------------------------------------------------

export const LANGS = ["zh-CN", "en"];

const TEXT = {
  "zh-CN": {
    other_lang: "English",
    wall_title: "实时现场",
    lead_title: "班组长控制台",
    conn_live: "实时",
    conn_connecting: "正在连接…",
    conn_lost: "连接中断，正在重连…",
    state: { ready: "空闲", ringing: "振铃", talking: "通话", hold: "保持", acw: "话后处理", not_ready: "示忙" },
    reason: { break: "小休", lunch: "用餐", training: "培训", meeting: "会议", system: "系统" },
    waiting: "排队",
    longest: "最长等待",
    offered: "呼入",
    answered: "接通",
    abandoned: "放弃",
    answer_rate: "接通率",
    service_level: "服务水平",
    target: (pct, secs) => `目标 ${pct} / ${secs} 秒`,
    window: (w) => w === "shift" ? "本班次" : (w.endsWith("m") ? `近 ${w.slice(0, -1)} 分钟` : `近 ${w.slice(0, -1)} 秒`),
    sl_formula: {
      count: (t) => `服务水平 = ${t} 秒内接通 ÷ (接通 + 放弃)`,
      ignore: (t) => `服务水平 = ${t} 秒内接通 ÷ 接通`,
      exclude_within_threshold: (t) => `服务水平 = ${t} 秒内接通 ÷ (接通 + ${t} 秒后放弃)`,
      met_within_threshold: (t) => `服务水平 = (${t} 秒内接通 + ${t} 秒内放弃) ÷ (接通 + 放弃)`,
    },
    ar_formula: "接通率 = 接通 ÷ (接通 + 放弃 − 短放弃)",
    short_abandons: (s) => `${s} 秒内放弃为短放弃，不计入`,
    logged_in: "在线",
    no_team: "未分组",
    lead: "班组长",
    over: "超时",
    overrun: "超时",
    limit: "上限",
    severity: { critical: "严重", warning: "警告", info: "提示" },
    firing: "告警",
    acknowledged_n: (n) => `已确认 ${n}`,
    more: (n) => `另有 ${n} 条`,
    faults: "故障",
    source_silent: (id) => `数据源 ${id} 无数据`,
    updated: "更新于",
    team: "班组",
    pick_team: "选择班组",
    attention: "需要关注",
    agent: "坐席",
    state_col: "状态",
    time_col: "持续",
    handled: "今日接听",
    team_alerts: "本组告警",
    floor_alerts: "全场告警",
    none: "暂无",
    ack: "确认",
    acked: (by, at) => `已由 ${by} 于 ${at} 确认`,
    ack_title: "确认告警",
    by: "确认人",
    note: "备注（可选）",
    token: "管理令牌",
    cancel: "取消",
    need_token: "需要管理令牌：请向管理员索取 FLOORWATCH_ADMIN_TOKEN。",
    bad_token: "管理令牌不正确。",
    not_loopback: "服务器未配置管理令牌，只能在本机确认告警。",
    already_resolved: "该告警已恢复，无需确认。",
    ack_failed: "确认失败，请重试。",
    enable_alerts: "开启提醒",
    alerts_on: "提醒已开启",
    notify_unavailable: "浏览器通知需 HTTPS 或本机访问，现仅有声音和闪烁提醒",
    new_alert: "新告警",
    agents_n: (n) => `${n} 名坐席`,
    unknown_team: (id, known) => `没有班组“${id}”。现有班组：${known}。请在上方选择。`,
  },
  en: {
    other_lang: "中文",
    wall_title: "Live floor",
    lead_title: "Team-lead console",
    conn_live: "Live",
    conn_connecting: "Connecting…",
    conn_lost: "Disconnected — reconnecting…",
    state: { ready: "Ready", ringing: "Ringing", talking: "Talking", hold: "On hold", acw: "After-call work", not_ready: "Not ready" },
    reason: { break: "Break", lunch: "Lunch", training: "Training", meeting: "Meeting", system: "System" },
    waiting: "Waiting",
    longest: "Longest wait",
    offered: "Offered",
    answered: "Answered",
    abandoned: "Abandoned",
    answer_rate: "Answer rate",
    service_level: "Service level",
    target: (pct, secs) => `target ${pct} in ${secs} s`,
    window: (w) => w === "shift" ? "this shift" : (w.endsWith("m") ? `last ${w.slice(0, -1)} min` : `last ${w.slice(0, -1)} s`),
    sl_formula: {
      count: (t) => `SL = answered within ${t} s ÷ (answered + abandoned)`,
      ignore: (t) => `SL = answered within ${t} s ÷ answered`,
      exclude_within_threshold: (t) => `SL = answered within ${t} s ÷ (answered + abandoned after ${t} s)`,
      met_within_threshold: (t) => `SL = (answered + abandoned within ${t} s) ÷ (answered + abandoned)`,
    },
    ar_formula: "Answer rate = answered ÷ (answered + abandoned − short abandons)",
    short_abandons: (s) => `abandons under ${s} s are short and left out`,
    logged_in: "Logged in",
    no_team: "No team",
    lead: "Lead",
    over: "over",
    overrun: "Overrun",
    limit: "limit",
    severity: { critical: "Critical", warning: "Warning", info: "Info" },
    firing: "Alerts",
    acknowledged_n: (n) => `${n} acknowledged`,
    more: (n) => `${n} more`,
    faults: "Fault",
    source_silent: (id) => `Source ${id} silent`,
    updated: "Updated",
    team: "Team",
    pick_team: "Pick a team",
    attention: "Needs attention",
    agent: "Agent",
    state_col: "State",
    time_col: "Time",
    handled: "Handled today",
    team_alerts: "Team alerts",
    floor_alerts: "Floor-wide alerts",
    none: "None",
    ack: "Acknowledge",
    acked: (by, at) => `Acknowledged by ${by} at ${at}`,
    ack_title: "Acknowledge alert",
    by: "Your name",
    note: "Note (optional)",
    token: "Admin token",
    cancel: "Cancel",
    need_token: "An admin token is needed: ask your administrator for FLOORWATCH_ADMIN_TOKEN.",
    bad_token: "The admin token is not right.",
    not_loopback: "No admin token is configured: alerts can be acknowledged on the server machine only.",
    already_resolved: "This alert has already resolved.",
    ack_failed: "Acknowledgement failed; please try again.",
    enable_alerts: "Enable alerts",
    alerts_on: "Alerts on",
    notify_unavailable: "Browser notifications need HTTPS or localhost; sound and flashing only",
    new_alert: "New alert",
    agents_n: (n) => `${n} agents`,
    unknown_team: (id, known) => `There is no team "${id}". Teams on this floor: ${known}. Pick one above.`,
  },
};

/// The page language: `?lang=`, then the toggle's last choice, then the browser's.
export function pickLang() {
  const asked = new URLSearchParams(location.search).get("lang");
  const norm = (l) => {
    if (!l) return null;
    const low = l.toLowerCase();
    if (low.startsWith("zh")) return "zh-CN";
    if (low.startsWith("en")) return "en";
    return null;
  };
  return norm(asked) || norm(localStorage.getItem("floorwatch.lang")) ||
    (navigator.languages || [navigator.language]).map(norm).find(Boolean) || "en";
}

export let lang = pickLang();
export let T = TEXT[lang];
document.documentElement.lang = lang;

/// Switches language (the toggle): remembered, and written into the URL so a
/// reload or a bookmark keeps it.
export function setLang(l) {
  lang = LANGS.includes(l) ? l : "en";
  T = TEXT[lang];
  localStorage.setItem("floorwatch.lang", lang);
  const url = new URL(location.href);
  url.searchParams.set("lang", lang);
  history.replaceState(null, "", url);
  document.documentElement.lang = lang;
}

export function stateLabel(s) { return T.state[s] || s; }
export function reasonLabel(r) { return r == null ? "" : (T.reason[r] || r); }

// ---------------------------------------------------------------------------
// Formats (numbers and dates in the page language's format)
// ---------------------------------------------------------------------------

const fmtCache = new Map();
function fmt(key, make) {
  const k = lang + "|" + key;
  let f = fmtCache.get(k);
  if (!f) { f = make(); fmtCache.set(k, f); }
  return f;
}

export function fmtInt(n) {
  return n == null ? "–" : fmt("int", () => new Intl.NumberFormat(lang)).format(n);
}

export function fmtPct(r) {
  if (r == null || !isFinite(r)) return "–";
  return fmt("pct", () => new Intl.NumberFormat(lang, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 })).format(r);
}

export function fmtPct0(r) {
  return fmt("pct0", () => new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 0 })).format(r);
}

/// Seconds as m:ss, or h:mm:ss from an hour.
export function fmtDur(secs) {
  if (secs == null || !isFinite(secs)) return "–";
  const s = Math.max(0, Math.floor(secs));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const two = (x) => String(x).padStart(2, "0");
  return h > 0 ? `${h}:${two(m)}:${two(r)}` : `${m}:${two(r)}`;
}

function dtf(key, opts, tz) {
  return fmt(key + "|" + tz, () => {
    try {
      return new Intl.DateTimeFormat(lang, { ...opts, timeZone: tz });
    } catch {
      return new Intl.DateTimeFormat(lang, opts);
    }
  });
}

export function fmtClock(ms, tz) {
  return dtf("clock", { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }, tz).format(ms);
}

export function fmtDate(ms, tz) {
  return dtf("date", { year: "numeric", month: "long", day: "numeric", weekday: "long" }, tz).format(ms);
}

export function fmtTime(ms, tz) {
  return dtf("time", { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }, tz).format(ms);
}

// ---------------------------------------------------------------------------
// DOM helpers
// ---------------------------------------------------------------------------

/// An element with a class and text content (never HTML).
export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

/// Sets text only when it differs: most ticks change nothing, and an untouched
/// node costs no layout.
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

const SVG = "http://www.w3.org/2000/svg";

// Icon shapes after Material Icons (Apache-2.0), one per state, so a state reads
// by shape as well as by colour.
const ICONS = {
  ready: "M9 16.2 4.8 12l-1.4 1.4L9 19 21 7l-1.4-1.4z",
  ringing: "M12 22c1.1 0 2-.9 2-2h-4c0 1.1.9 2 2 2zm6-6v-5c0-3.07-1.63-5.64-4.5-6.32V4c0-.83-.67-1.5-1.5-1.5S10.5 3.17 10.5 4v.68C7.64 5.36 6 7.92 6 11v5l-2 2v1h16v-1l-2-2z",
  talking: "M6.62 10.79a15.05 15.05 0 0 0 6.59 6.59l2.2-2.2c.27-.27.67-.36 1.02-.24 1.12.37 2.33.57 3.57.57.55 0 1 .45 1 1V20c0 .55-.45 1-1 1C10.61 21 3 13.39 3 4c0-.55.45-1 1-1h3.5c.55 0 1 .45 1 1 0 1.25.2 2.45.57 3.57.11.35.03.74-.25 1.02l-2.2 2.2z",
  hold: "M6 19h4V5H6v14zm8-14v14h4V5h-4z",
  acw: "M3 17.25V21h3.75L17.81 9.94l-3.75-3.75L3 17.25zM20.71 7.04a1 1 0 0 0 0-1.41l-2.34-2.34a1 1 0 0 0-1.41 0l-1.83 1.83 3.75 3.75 1.83-1.83z",
  not_ready: "M12 2C6.48 2 2 6.48 2 12s4.48 10 10 10 10-4.48 10-10S17.52 2 12 2zm5 11H7v-2h10v2z",
  overrun: "M1 21h22L12 2 1 21zm12-3h-2v-2h2v2zm0-4h-2v-4h2v4z",
  alert: "M12 2C6.48 2 2 6.48 2 12s4.48 10 10 10 10-4.48 10-10S17.52 2 12 2zm1 15h-2v-2h2v2zm0-4h-2V7h2v6z",
};

export const STATES = ["ready", "ringing", "talking", "hold", "acw", "not_ready"];

/// Puts the icon shapes into the page once; icons then refer to them.
export function installIcons() {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", "sprite");
  for (const [name, d] of Object.entries(ICONS)) {
    const sym = document.createElementNS(SVG, "symbol");
    sym.setAttribute("id", "i-" + name);
    sym.setAttribute("viewBox", "0 0 24 24");
    const p = document.createElementNS(SVG, "path");
    p.setAttribute("d", d);
    sym.appendChild(p);
    svg.appendChild(sym);
  }
  document.body.prepend(svg);
}

/// An icon element; `setIcon` changes its shape.
export function icon(name) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "ic");
  svg.setAttribute("aria-hidden", "true");
  const use = document.createElementNS(SVG, "use");
  use.setAttribute("href", "#i-" + (ICONS[name] ? name : "alert"));
  svg.appendChild(use);
  return svg;
}

export function setIcon(svg, name) {
  const ref = "#i-" + (ICONS[name] ? name : "alert");
  const use = svg.firstChild;
  if (use.getAttribute("href") !== ref) use.setAttribute("href", ref);
}

/// Natural order for ids and names: team-2 before team-10.
export const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

// ---------------------------------------------------------------------------
// Overruns, computed in the browser as time passes: an agent turns red the second
// its limit passes, with the limits the alert rules use.
// ---------------------------------------------------------------------------

/// The limit for the agent's current state, seconds, or null if it has none.
export function limitFor(a, cfg) {
  const L = cfg && cfg.limits;
  if (!L) return null;
  if (a.state === "acw") {
    const byTeam = a.team != null ? L.acw_secs_by_team[a.team] : undefined;
    const byQueue = a.queue != null ? L.acw_secs_by_queue[a.queue] : undefined;
    return byTeam ?? byQueue ?? L.acw_secs;
  }
  if (a.state === "not_ready") {
    const byReason = a.reason != null ? L.busy_secs_by_reason[a.reason] : undefined;
    return byReason ?? L.busy_default_secs;
  }
  return null;
}

/// 0 within the limit (or none), 1 over it, 2 over the critical multiple.
export function overrunLevel(a, cfg, nowMs) {
  const limit = limitFor(a, cfg);
  if (limit == null) return 0;
  const secs = (nowMs - a.since) / 1000;
  if (secs < limit) return 0;
  return secs >= limit * (cfg.limits.critical_factor || 2) ? 2 : 1;
}

// ---------------------------------------------------------------------------
// The live floor: WS /ws/floor
// ---------------------------------------------------------------------------

/// Keeps the latest floor picture from /ws/floor and reconnects by itself.
///
/// `onFrame(model, frame)` runs after each frame is applied; `onStatus(status)`
/// with "connecting", "live" or "lost".
export class FloorStream {
  constructor({ onFrame, onStatus }) {
    this.onFrame = onFrame;
    this.onStatus = onStatus;
    this.model = { config: null, head: null, shift: null, faults: [], sources: [], queues: new Map(), teams: new Map(), agents: new Map() };
    this.seq = 0;
    this.receivedAt = 0;
    this.backoff = 500;
    this.status = null;
    this.connect();
    // The server sends at least one frame a second (the engine's tick); a quiet
    // socket means a dead link that TCP has not noticed yet.
    setInterval(() => {
      if (this.ws && this.ws.readyState === WebSocket.OPEN && performance.now() - this.receivedAt > 5000) {
        this.ws.close();
      }
    }, 1000);
  }

  setStatus(s) {
    if (this.status !== s) {
      this.status = s;
      this.onStatus(s);
    }
  }

  connect() {
    this.setStatus(this.status === "lost" ? "lost" : "connecting");
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/floor");
    this.ws = ws;
    this.receivedAt = performance.now();
    ws.onmessage = (ev) => this.handle(ev.data);
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.setStatus("lost");
      const wait = this.backoff * (0.75 + Math.random() / 2);
      this.backoff = Math.min(this.backoff * 2, 5000);
      setTimeout(() => this.connect(), wait);
    };
  }

  handle(data) {
    let f;
    try { f = JSON.parse(data); } catch { return; }
    this.receivedAt = performance.now();
    const m = this.model;
    if (f.type === "snapshot") {
      m.config = f.config;
      m.queues = new Map(f.queues.map((q) => [q.id, q]));
      m.teams = new Map(f.teams.map((t) => [t.id, t]));
      m.agents = new Map(f.agents.map((a) => [a.id, a]));
    } else if (f.type === "delta") {
      if (f.seq !== this.seq + 1) {
        // Never sent by the server; a fresh connection puts it right.
        this.ws.close();
        return;
      }
      for (const [kind, map] of [["queues", m.queues], ["teams", m.teams], ["agents", m.agents]]) {
        for (const x of f[kind]) map.set(x.id, x);
        for (const id of f.gone[kind]) map.delete(id);
      }
    } else {
      return;
    }
    this.seq = f.seq;
    m.head = f.head;
    if (f.shift !== undefined) m.shift = f.shift;
    if (f.faults !== undefined) m.faults = f.faults;
    if (f.sources !== undefined) m.sources = f.sources;
    this.headAt = performance.now();
    this.backoff = 500;
    this.setStatus("live");
    this.onFrame(m, f);
  }

  /// Floor time now: the last snapshot's time plus what has passed since, so
  /// counters tick between frames.
  now() {
    if (!this.model.head) return Date.now();
    return this.model.head.taken_at + (performance.now() - this.headAt);
  }
}

// ---------------------------------------------------------------------------
// Alerts: WS /ws/alerts
// ---------------------------------------------------------------------------

/// Open alerts (firing or acknowledged) by id. `onChange(alerts, alert, isNew)`
/// runs for each pushed alert; `isNew` is true once per alert id that starts
/// firing while the page is open (not for those already open when it loaded).
export class AlertStream {
  constructor({ onChange }) {
    this.onChange = onChange;
    this.open = new Map();
    this.seen = new Set();
    this.ready = false;
    this.backoff = 500;
    this.connect();
  }

  connect() {
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/alerts");
    this.ws = ws;
    ws.onopen = () => {
      // The server resends every open alert on connect; what it does not resend
      // resolved while we were away.
      this.open.clear();
      this.backoff = 500;
      // Alerts open at the first connect are not news; after that, every new id is.
      setTimeout(() => { this.ready = true; }, 1500);
      this.onChange(this.open, null, false);
    };
    ws.onmessage = (ev) => {
      let a;
      try { a = JSON.parse(ev.data); } catch { return; }
      if (typeof a !== "object" || a == null || typeof a.id !== "string") return;
      const isNew = this.ready && !this.seen.has(a.id) && a.state === "firing";
      this.seen.add(a.id);
      if (a.state === "resolved") this.open.delete(a.id); else this.open.set(a.id, a);
      this.onChange(this.open, a, isNew);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      const wait = this.backoff * (0.75 + Math.random() / 2);
      this.backoff = Math.min(this.backoff * 2, 5000);
      setTimeout(() => this.connect(), wait);
    };
  }

  /// Records an alert as the acknowledgement answer returned it.
  update(a) {
    if (a.state === "resolved") this.open.delete(a.id); else this.open.set(a.id, a);
    this.onChange(this.open, a, false);
  }
}

/// Alerts in the order a person should read them: critical first, then firing
/// before acknowledged, then the oldest first.
export function alertOrder(a, b) {
  const sev = (x) => (x.severity === "critical" ? 0 : x.severity === "warning" ? 1 : 2);
  const st = (x) => (x.state === "firing" ? 0 : 1);
  return sev(a) - sev(b) || st(a) - st(b) || (Date.parse(a.started_at) - Date.parse(b.started_at));
}

/// A one-line headline in the page language: the kind and what it is about,
/// with names looked up on the floor ("ACW overrun · 王芳 (A7)").
/// A queue's, team's or component's display name (`kind`: "queues", "teams",
/// "components") in the page's language, from the config's names, else the
/// other language's, else `fallback` (the floor's name), else the id.
export function displayName(model, kind, id, fallback) {
  const cfg = model && model.config;
  const n = cfg && cfg.names && cfg.names[kind] && cfg.names[kind][id];
  if (n) return n[lang] || n[lang === "en" ? "zh-CN" : "en"] || fallback || id;
  return fallback || id;
}

/// An alert's message in the page's language (its `messages`), the ids in it
/// replaced by display names, as every page shows it.
export function alertText(a, model) {
  const msgs = a.messages || {};
  let text = msgs[lang] || a.message || "";
  const s = a.subject || {};
  // An id is replaced where it stands whole: "team-1" not inside "team-10".
  const swap = (id, name) => {
    if (!id || !name || name === id) return;
    const escaped = id.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const at = new RegExp("(?<![A-Za-z0-9_.:-])" + escaped + "(?![A-Za-z0-9_.:-])", "g");
    text = text.replace(at, () => name);
  };
  if (s.queue) swap(s.queue, displayName(model, "queues", s.queue, model && model.queues.get(s.queue)?.name));
  if (s.team) swap(s.team, displayName(model, "teams", s.team, model && model.teams.get(s.team)?.name));
  if (s.component && s.component !== s.team) swap(s.component, displayName(model, "components", s.component));
  if (s.agent) { const ag = model && model.agents.get(s.agent); if (ag && ag.name) swap(s.agent, `${ag.name} (${s.agent})`); }
  return text;
}

export function alertHeadline(a, model) {
  const s = a.subject || {};
  const names = model && model.config && model.config.kinds && model.config.kinds[a.kind];
  const parts = [(names && names[lang]) || a.kind];
  if (s.agent) {
    const ag = model && model.agents.get(s.agent);
    parts.push(ag && ag.name ? `${ag.name} (${s.agent})` : s.agent);
  } else if (s.queue) {
    const q = model && model.queues.get(s.queue);
    parts.push(displayName(model, "queues", s.queue, q && q.name));
  } else if (s.component && s.component !== s.team) {
    parts.push(displayName(model, "components", s.component));
  } else if (s.source) {
    parts.push(s.source);
  }
  if (s.team && !s.agent) {
    const t = model && model.teams.get(s.team);
    parts.push(displayName(model, "teams", s.team, t && t.name));
  }
  return parts.join(" · ");
}

/// Whether an alert concerns a team: its subject names the team, or an agent of it.
export function alertForTeam(a, teamId, model) {
  const s = a.subject || {};
  if (s.team === teamId) return true;
  const ag = s.agent && model.agents.get(s.agent);
  return !!(ag && ag.team === teamId);
}

/// The language toggle button: shows the other language's name.
export function wireLangToggle(button, rerender) {
  const label = () => { button.textContent = T.other_lang; };
  label();
  button.addEventListener("click", () => {
    setLang(lang === "zh-CN" ? "en" : "zh-CN");
    label();
    rerender();
  });
}
