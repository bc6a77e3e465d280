// The team-lead console (/lead): a tablet carried on the floor. Pick a team; its
// agents are listed by who needs you first; its alerts can be acknowledged; a new
// alert for the team sounds, flashes and (where the browser allows) notifies.
//
// URL parameters: ?team=ID, ?lang=zh-CN|en.

import {
  T, STATES, FloorStream, AlertStream, alertOrder, alertHeadline, alertForTeam, collator, el, setText, icon,
  installIcons, fmtInt, fmtDur, fmtClock, fmtTime, overrunLevel, limitFor, stateLabel, reasonLabel, wireLangToggle,
  alertText, displayName, lang,
} from "./common.js";
import { mountConsole, writeToken } from "./incidents.js";

installIcons();
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
// A team named in the URL is what the person asked for: if the floor has no such
// team it is refused on screen, never silently swapped for another. One
// remembered from an earlier visit may have gone away: that one falls back.
const askedTeam = params.get("team");
let team = askedTeam || localStorage.getItem("floorwatch.team");
let refused = null;

const stream = new FloorStream({ onFrame, onStatus });
const alerts = new AlertStream({ onChange: onAlerts });
wireLangToggle($("lang-toggle"), rerender);
const model = () => stream.model;
const tz = () => (model().config ? model().config.timezone : undefined);

// ---------------------------------------------------------------------------
// Labels
// ---------------------------------------------------------------------------

function renderLabels() {
  document.title = "floorwatch · " + T.lead_title;
  setText($("title"), T.lead_title);
  setText($("team-label"), T.team);
  setText($("attention-title"), T.attention);
  setText($("th-agent"), T.agent);
  setText($("th-state"), T.state_col);
  setText($("th-time"), T.time_col);
  setText($("th-handled"), T.handled);
  setText($("team-alerts-title"), T.team_alerts);
  setText($("floor-alerts-title"), T.floor_alerts);
  setText($("ack-title"), T.ack_title);
  setText($("ack-by-label"), T.by);
  setText($("ack-note-label"), T.note);
  setText($("ack-token-label"), T.token);
  setText($("ack-cancel"), T.cancel);
  setText($("ack-submit"), T.ack);
  renderAlertsButton();
}

// Incident forms: call-backs, fault-register notes, the script editor.
const mountIncidents = () => mountConsole({
  callbacks: $("callbacks"),
  faults: $("fault-notes"),
  editor: $("script-editor"),
  by: () => localStorage.getItem("floorwatch.by") || (teamLead() || ""),
  team: () => (refused ? null : team),
  model,
});
let incidentForms = mountIncidents();

function teamLead() {
  const cfg = model() && model().config;
  const t = cfg && Array.isArray(cfg.teams) ? cfg.teams.find((x) => x.id === team) : null;
  return t ? t.lead : null;
}

// What the caller may do (GET /api/whoami, where the server has roles): controls
// for what is not theirs are hidden. Asked only with a token: without one every
// control shows, and a write the server refuses asks for the token (hiding them
// would leave nothing to ask with). Asked again now and then, since the token
// dialog may have changed who is signed in.
let can = null;
function refreshCan() {
  const token = writeToken();
  if (!token) return;
  fetch("/api/whoami", { headers: { Authorization: "Bearer " + token } })
    .then((r) => (r.ok ? r.json() : null))
    .then((w) => {
      if (!w || typeof w.can !== "object" || w.can === null) return;
      can = w.can;
      applyCan();
    })
    .catch(() => {});
}
refreshCan();
setInterval(refreshCan, 30000);

function applyCan() {
  if (!can) return;
  document.body.classList.toggle("no-ack", can.ack === false);
  document.body.classList.toggle("no-callbacks", can.callbacks === false);
  document.body.classList.toggle("no-faults", can.faults === false);
  document.body.classList.toggle("no-incidents", can.incidents === false);
}

function rerender() {
  renderLabels();
  refreshCan();
  // Rebuilt in the new language.
  incidentForms.stop();
  incidentForms = mountIncidents();
  onStatus(stream.status);
  teamOptions = "";
  if (model().config) onFrame(model(), { type: "snapshot" });
  renderAlerts();
}

function onStatus(s) {
  const c = $("conn");
  c.className = "conn conn-" + s;
  setText(c, s === "live" ? T.conn_live : s === "lost" ? T.conn_lost : T.conn_connecting);
}

// ---------------------------------------------------------------------------
// Team picker
// ---------------------------------------------------------------------------

let teamOptions = "";

function teams() {
  const m = model();
  const list = [...m.teams.values()].sort((a, b) => a.order - b.order);
  // Teams agents log in with that the config does not name.
  for (const a of m.agents.values()) {
    if (a.team != null && !m.teams.has(a.team) && !list.some((t) => t.id === a.team)) list.push({ id: a.team, name: a.team });
  }
  return list;
}

function renderTeamPicker() {
  const list = teams();
  const name = (t) => displayName(model(), "teams", t.id, t.name);
  const key = JSON.stringify([lang, ...list.map((t) => [t.id, name(t), t.lead])]);
  const known = list.some((t) => t.id === team);
  if (team && !known && team === askedTeam && model().config) {
    refused = team;
  } else if (!team || !known) {
    if (list.length) chooseTeam(list[0].id, false);
  }
  renderRefusal(list);
  if (key === teamOptions) return;
  teamOptions = key;
  const sel = $("team");
  sel.replaceChildren(...list.map((t) => {
    const o = el("option", null, t.lead ? `${name(t)} · ${T.lead} ${t.lead}` : name(t));
    o.value = t.id;
    return o;
  }));
  if (refused) {
    const o = el("option", null, T.pick_team);
    o.value = "";
    sel.prepend(o);
  }
  sel.value = refused ? "" : team || "";
}


/// `?team=` names no team of this floor: say so, with the teams there are.
function renderRefusal(list) {
  const box = $("team-refused");
  if (!refused) { box.hidden = true; return; }
  const names = list.map((t) => {
    const n = displayName(model(), "teams", t.id, t.name);
    return n && n !== t.id ? `${n} (${t.id})` : t.id;
  }).join(", ");
  setText(box, T.unknown_team ? T.unknown_team(refused, names) : `${refused}: ${names}`);
  box.hidden = false;
}

function chooseTeam(id, remember) {
  team = id;
  refused = null;
  if (remember) localStorage.setItem("floorwatch.team", id);
  const url = new URL(location.href);
  url.searchParams.set("team", id);
  history.replaceState(null, "", url);
  rows.forEach((r) => r.root.remove());
  rows.clear();
}

$("team").addEventListener("change", (e) => {
  chooseTeam(e.target.value, true);
  unlockSound();
  renderAgents();
  renderSummary();
  renderAlerts();
});

// ---------------------------------------------------------------------------
// Agents, by who needs attention
// ---------------------------------------------------------------------------

const rows = new Map(); // agent id → row

function attention(a, now) {
  const cfg = model().config;
  const secs = (now - a.since) / 1000;
  const lvl = overrunLevel(a, cfg, now);
  if (lvl > 0) return [0, -secs / limitFor(a, cfg)];
  if (a.state === "not_ready") return [1, -secs];
  if (a.state === "acw") return [2, -secs];
  if (a.state === "ready") return [4, -secs];
  return [3, -secs];
}

function makeRow(id) {
  const root = el("tr");
  root.dataset.agent = id;
  const who = el("td", "who");
  const name = el("span", "an");
  const idText = el("small");
  who.append(name, idText);
  const st = el("td");
  const pill = el("span", "pill");
  const ic = icon("ready");
  const stText = el("span");
  pill.append(ic, stText);
  st.append(pill);
  const time = el("td", "num");
  const handled = el("td", "num");
  root.append(who, st, time, handled);
  return { root, name, idText, pill, ic, stText, time, handled };
}

function renderAgents() {
  const m = model();
  if (!m.config || !team) return;
  if (refused) { rows.forEach((r) => r.root.remove()); rows.clear(); $("agents").replaceChildren(); return; }
  const now = stream.now();
  const mine = [...m.agents.values()].filter((a) => a.team === team);
  const keep = new Set(mine.map((a) => a.id));
  for (const [id, r] of rows) if (!keep.has(id)) { r.root.remove(); rows.delete(id); }
  const scored = mine.map((a) => [attention(a, now), a]);
  scored.sort(([x, a], [y, b]) => x[0] - y[0] || x[1] - y[1] || collator.compare(a.id, b.id));
  const body = $("agents");
  scored.forEach(([, a], i) => {
    let r = rows.get(a.id);
    if (!r) { r = makeRow(a.id); rows.set(a.id, r); }
    paintRow(r, a, now);
    if (body.children[i] !== r.root) body.insertBefore(r.root, body.children[i] || null);
  });
  if (mine.length === 0 && body.children.length === 0) {
    // Nothing is logged in for this team: say so instead of an empty table.
    const tr = el("tr");
    const td = el("td", "empty", T.none);
    td.colSpan = 4;
    tr.append(td);
    body.append(tr);
  } else if (mine.length > 0) {
    for (const tr of [...body.children]) if (!tr.dataset.agent) tr.remove();
  }
}

function paintRow(r, a, now) {
  const cfg = model().config;
  const lvl = overrunLevel(a, cfg, now);
  r.root.className = lvl ? "ov" : "";
  setText(r.name, a.name || a.id);
  setText(r.idText, a.name ? a.id : "");
  r.pill.className = "pill st-" + (STATES.includes(a.state) ? a.state : "unknown");
  r.ic.firstChild.setAttribute("href", "#i-" + (lvl ? "overrun" : STATES.includes(a.state) ? a.state : "alert"));
  const reason = a.state === "not_ready" && a.reason != null ? " · " + reasonLabel(a.reason) : "";
  setText(r.stText, stateLabel(a.state) + reason);
  const limit = limitFor(a, cfg);
  const secs = (now - a.since) / 1000;
  setText(r.time, fmtDur(secs) + (limit != null ? ` / ${fmtDur(limit)}` : "") + (lvl ? ` ${T.over}` : ""));
  setText(r.handled, fmtInt(a.handled));
}

function renderSummary() {
  const m = model();
  const box = $("summary");
  const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
  let n = 0;
  for (const a of m.agents.values()) if (a.team === team && !refused) { counts[a.state]++; n++; }
  const chips = [el("span", "chip st-total", `${T.logged_in} ${fmtInt(n)}`)];
  for (const s of STATES) {
    const c = el("span", "chip st-" + s);
    c.append(icon(s), el("span", "k", stateLabel(s)), el("b", "n", fmtInt(counts[s])));
    chips.push(c);
  }
  box.replaceChildren(...chips);
}

// ---------------------------------------------------------------------------
// Frames and the tick
// ---------------------------------------------------------------------------

function onFrame(m, f) {
  renderTeamPicker();
  renderAgents();
  renderSummary();
  setText($("clock"), fmtClock(stream.now(), tz()));
  if (f.type === "snapshot" || (f.agents && f.agents.length)) renderAlerts();
}

setInterval(() => {
  if (!model().head) return;
  renderAgents();
  setText($("clock"), fmtClock(stream.now(), tz()));
  for (const card of document.querySelectorAll(".card")) {
    const a = alerts.open.get(card.dataset.alert);
    const age = card.querySelector(".age");
    if (a && age) setText(age, fmtDur((stream.now() - Date.parse(a.started_at)) / 1000));
  }
}, 1000);

// ---------------------------------------------------------------------------
// Alerts and acknowledgement
// ---------------------------------------------------------------------------

function onAlerts(open, a, isNew) {
  renderAlerts();
  if (isNew && a && team && alertForTeam(a, team, model())) announce(a);
}

function renderAlerts() {
  const m = model();
  const open = [...alerts.open.values()].sort(alertOrder);
  const mine = team && !refused ? open.filter((a) => alertForTeam(a, team, m)) : [];
  const floor = open.filter((a) => !a.subject || (!a.subject.team && !a.subject.agent));
  fillCards($("team-alerts"), mine);
  fillCards($("floor-alerts"), floor);
}

function fillCards(box, list) {
  if (list.length === 0) { box.replaceChildren(el("p", "empty", T.none)); return; }
  box.replaceChildren(...list.map(card));
}

function card(a) {
  const c = el("article", `card sev-${a.severity === "critical" ? "critical" : "warning"} state-${a.state === "firing" ? "firing" : "acknowledged"}`);
  c.dataset.alert = a.id;
  const head = el("div", "head");
  head.append(icon("alert"), el("span", "sev", T.severity[a.severity] || a.severity), el("span", "what", alertHeadline(a, model())));
  const meta = el("div", "meta");
  meta.append(el("span", null, fmtTime(Date.parse(a.started_at), tz()) + " · "), el("span", "age", fmtDur((stream.now() - Date.parse(a.started_at)) / 1000)));
  c.append(head, el("p", "msg", alertText(a, model())), meta);
  if (a.state === "acknowledged") {
    const at = a.acknowledged_at ? fmtTime(Date.parse(a.acknowledged_at), tz()) : "";
    c.append(el("div", "meta acked", T.acked(a.acknowledged_by || "?", at) + (a.ack_note ? ` · ${a.ack_note}` : "")));
  } else {
    const actions = el("div", "actions");
    const b = el("button", "primary ack", T.ack);
    b.type = "button";
    b.addEventListener("click", () => openAck(a));
    actions.append(b);
    c.append(actions);
  }
  return c;
}

let acking = null;

function openAck(a) {
  acking = a;
  unlockSound();
  setText($("ack-what"), alertHeadline(a, model()));
  const t = model().teams.get(team);
  $("ack-by").value = localStorage.getItem("floorwatch.by") || (t && t.lead) || "";
  $("ack-note").value = "";
  $("ack-token").value = writeToken();
  $("ack-token-row").hidden = !$("ack-token").value;
  setText($("ack-error"), "");
  $("ack-dialog").showModal();
}

$("ack-cancel").addEventListener("click", () => $("ack-dialog").close());

$("ack-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!acking) return;
  const by = $("ack-by").value.trim();
  const note = $("ack-note").value.trim();
  const token = $("ack-token").value.trim();
  if (by) localStorage.setItem("floorwatch.by", by);
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = "Bearer " + token;
  $("ack-submit").disabled = true;
  try {
    const res = await fetch("/api/alerts/" + encodeURIComponent(acking.id) + "/ack", {
      method: "POST", headers, body: JSON.stringify({ by: by || null, note: note || null }),
    });
    if (res.ok) {
      if (token) sessionStorage.setItem("floorwatch.session_token", token);
      alerts.update(await res.json());
      $("ack-dialog").close();
      return;
    }
    if (res.status === 401) {
      $("ack-token-row").hidden = false;
      setText($("ack-error"), token ? T.bad_token : T.need_token);
      $("ack-token").focus();
    } else if (res.status === 403) {
      $("ack-token-row").hidden = false;
      setText($("ack-error"), token ? T.bad_token : T.not_loopback);
    } else if (res.status === 409 || res.status === 404) {
      setText($("ack-error"), T.already_resolved);
    } else {
      setText($("ack-error"), T.ack_failed);
    }
  } catch {
    setText($("ack-error"), T.ack_failed);
  } finally {
    $("ack-submit").disabled = false;
  }
});

// ---------------------------------------------------------------------------
// Sound, flashing and browser notifications for a new alert of the team
// ---------------------------------------------------------------------------

let audio = null;

/// Browsers let a page make sound only after a tap; every tap on the console
/// (team picker, acknowledge, the alerts button) unlocks it.
function unlockSound() {
  if (!audio && window.AudioContext) audio = new AudioContext();
  if (audio && audio.state === "suspended") audio.resume();
}

function beep() {
  if (!audio || audio.state !== "running") return;
  const t0 = audio.currentTime;
  [[880, 0], [660, 0.18], [880, 0.36]].forEach(([hz, at]) => {
    const o = audio.createOscillator();
    const g = audio.createGain();
    o.frequency.value = hz;
    g.gain.setValueAtTime(0.0001, t0 + at);
    g.gain.exponentialRampToValueAtTime(0.3, t0 + at + 0.02);
    g.gain.exponentialRampToValueAtTime(0.0001, t0 + at + 0.16);
    o.connect(g).connect(audio.destination);
    o.start(t0 + at);
    o.stop(t0 + at + 0.17);
  });
}

function notificationsAllowed() {
  return "Notification" in window && Notification.permission === "granted";
}

function renderAlertsButton() {
  const b = $("alerts-on");
  const on = localStorage.getItem("floorwatch.alerts") === "1" && audio && audio.state === "running";
  b.classList.toggle("on", !!on);
  setText(b, on ? T.alerts_on : T.enable_alerts);
}

$("alerts-on").addEventListener("click", async () => {
  unlockSound();
  localStorage.setItem("floorwatch.alerts", "1");
  if ("Notification" in window && window.isSecureContext) {
    if (Notification.permission === "default") await Notification.requestPermission();
    $("notice").hidden = true;
  } else {
    // Plain http from another machine: browsers offer no notifications there.
    setText($("notice"), T.notify_unavailable);
    $("notice").hidden = false;
  }
  renderAlertsButton();
  beep();
});

function announce(a) {
  beep();
  if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
  const box = $("team-alerts");
  box.classList.remove("flash");
  void box.offsetWidth; // restart the animation
  box.classList.add("flash");
  if (notificationsAllowed()) {
    const n = new Notification(`${T.new_alert}: ${alertHeadline(a, model())}`, { body: alertText(a, model()), tag: a.id });
    n.onclick = () => window.focus();
  }
}

renderLabels();
