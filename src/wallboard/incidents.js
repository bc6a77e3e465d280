// Incidents on the wall and in the console (issue 5's API): the unified reply
// script (统一应答口径) in large type while an incident is open, and the
// console's forms — call-backs, fault-register notes, editing and publishing the
// script. Everything from outside goes in as text (textContent), never as HTML.

import { lang, el, setText, displayName, fmtTime } from "./common.js";

const TEXT = {
  "zh-CN": {
    script: "统一应答口径",
    callbacks: "登记回访",
    caller: "客户电话",
    note: "备注",
    incident: "关联事件",
    none: "（无）",
    add: "登记",
    added: (n) => `已登记 ${n}`,
    faults: "系统报障登记",
    fault: "故障",
    cause: "原因",
    resolution: "处理结果",
    reported_to: "已报告给（运维）",
    save: "保存",
    saved: "已保存",
    editor: "编辑并发布应答口径（值班长）",
    text_zh: "中文口径",
    text_en: "英文口径",
    publish: "发布",
    published: (v) => `已发布第 ${v} 版`,
    failed: "未保存：",
    recovered: "已恢复",
    worklist: "回访工作单",
    status: "状态",
    open: "待处理（待回访、已分配）",
    all: "全部",
    team: "班组",
    all_teams: "全部班组",
    st: { pending: "待回访", assigned: "已分配", done: "已完成", failed: "未联系上" },
    assignee: "回访人",
    assign: "分配",
    attempt: "记一次拨打",
    done: "完成",
    fail: "未联系上",
    attempts: (n) => `已拨打 ${n} 次`,
    no_callbacks: "没有符合条件的回访",
    token_title: "需要管理令牌",
    token_hint: "写入需要管理令牌（FLOORWATCH_ADMIN_TOKEN），本次会话内记住。",
    token: "管理令牌",
    ok: "确定",
    cancel: "取消",
    err: {
      401: "需要管理令牌，或令牌不正确。",
      403: "没有执行此操作的权限。",
      404: "记录不存在（可能已被删除）。",
      409: "该事件已关闭。",
      422: "填写有误",
      400: "请求有误",
      503: "数据库暂不可用，请重试。",
      other: "保存失败，请重试。",
      net: "网络不通，请重试。",
    },
    fields: { caller: "客户电话", agent: "回访人", note: "备注", incident: "关联事件", cause: "原因", resolution: "处理结果", reported_to: "报告给", body: "内容", text_zh: "中文口径", text_en: "英文口径", status: "状态" },
  },
  en: {
    script: "Unified reply",
    callbacks: "Log a call-back",
    caller: "Caller's number",
    note: "Note",
    incident: "Incident",
    none: "(none)",
    add: "Log",
    added: (n) => `Logged ${n}`,
    faults: "Fault register",
    fault: "Fault",
    cause: "Cause",
    resolution: "Resolution",
    reported_to: "Reported to (maintenance)",
    save: "Save",
    saved: "Saved",
    editor: "Edit and publish the unified reply (duty supervisor)",
    text_zh: "Chinese text",
    text_en: "English text",
    publish: "Publish",
    published: (v) => `Version ${v} published`,
    failed: "Not saved: ",
    recovered: "recovered",
    worklist: "Call-back worklist",
    status: "Status",
    open: "To do (pending, assigned)",
    all: "All",
    team: "Team",
    all_teams: "All teams",
    st: { pending: "Pending", assigned: "Assigned", done: "Done", failed: "Failed" },
    assignee: "Assignee",
    assign: "Assign",
    attempt: "Record attempt",
    done: "Done",
    fail: "Failed",
    attempts: (n) => `${n} attempt${n === 1 ? "" : "s"}`,
    no_callbacks: "No call-backs match",
    token_title: "Admin token needed",
    token_hint: "Writes need the admin token (FLOORWATCH_ADMIN_TOKEN); it is kept for this session.",
    token: "Admin token",
    ok: "OK",
    cancel: "Cancel",
    err: {
      401: "An admin token is needed, or the one given is not right.",
      403: "You may not do this.",
      404: "No such record (it may have been removed).",
      409: "The incident is closed.",
      422: "Not valid",
      400: "Bad request",
      503: "The database is not available; try again.",
      other: "Not saved; please try again.",
      net: "No connection; please try again.",
    },
    fields: { caller: "Caller's number", agent: "Assignee", note: "Note", incident: "Incident", cause: "Cause", resolution: "Resolution", reported_to: "Reported to", body: "Entry", text_zh: "Chinese text", text_en: "English text", status: "Status" },
  },
};
const t = () => TEXT[lang] || TEXT.en;

/// The scripts in force, from WS /ws/agents; reconnects by itself.
export class ScriptStream {
  constructor(onChange) {
    this.onChange = onChange;
    this.scripts = [];
    this.backoff = 500;
    this.connect();
  }
  connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}/ws/agents`);
    ws.onmessage = (e) => {
      let f;
      try { f = JSON.parse(e.data); } catch { return; }
      if (f.type !== "scripts" || !Array.isArray(f.scripts)) return;
      this.backoff = 500;
      this.scripts = f.scripts;
      this.onChange(this.scripts);
    };
    ws.onclose = () => {
      setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 10000);
    };
  }
}

/// Fills `section` with the scripts in force (hidden when there are none).
export function renderScripts(section, scripts) {
  section.replaceChildren();
  section.hidden = scripts.length === 0;
  for (const s of scripts) {
    const block = el("div", "script");
    block.dataset.incident = s.incident;
    block.append(el("div", "script-title", `${t().script} · ${s.title} · v${s.version}`));
    block.append(el("div", "script-text", lang === "zh-CN" ? s.zh : s.en));
    section.append(block);
  }
}

// --- writes: the admin token, asked once per session -----------------------

const TOKEN_KEY = "floorwatch.session_token";

/// The token for writes: this session's, else one the acknowledge dialog kept.
export function writeToken() {
  return sessionStorage.getItem(TOKEN_KEY) || localStorage.getItem("floorwatch.token") || "";
}

function authHeaders() {
  const h = { "Content-Type": "application/json" };
  const token = writeToken();
  if (token) h.Authorization = "Bearer " + token;
  return h;
}

/// A server refusal in the page's language: the status says what sort, the
/// field (when the server names one) which input; the server's English text
/// stays in the console log for whoever debugs.
export function localError(status, data) {
  const E = t().err;
  const base = E[status] || E.other;
  const f = data && data.field;
  if (data && data.error) console.info("server:", status, data.error);
  return f ? `${base}: ${t().fields[f] || f}` : base;
}

/// Asks for the admin token in a dialog (one for the page); resolves with it,
/// or null when cancelled. `why` is the refusal that made it necessary.
export function askToken(why) {
  let d = document.getElementById("token-dialog");
  if (!d) {
    d = el("dialog");
    d.id = "token-dialog";
    d.className = "token-dialog";
    document.body.append(d);
  }
  const form = el("form", "stack");
  form.method = "dialog";
  const h = el("h2", null, t().token_title);
  const hint = el("p", "msg", t().token_hint);
  const err = el("p", "err", why || "");
  err.setAttribute("role", "alert");
  const input = field(form, "token-input", t().token, el("input"));
  input.type = "password";
  input.autocomplete = "off";
  const buttons = el("div", "buttons");
  const cancel = el("button", null, t().cancel);
  cancel.type = "button";
  cancel.id = "token-cancel";
  const ok = el("button", "primary", t().ok);
  ok.type = "submit";
  ok.id = "token-ok";
  buttons.append(cancel, ok);
  form.prepend(h, hint, err);
  form.append(buttons);
  d.replaceChildren(form);
  return new Promise((resolve) => {
    const done = (v) => { d.close(); resolve(v); };
    cancel.onclick = () => done(null);
    form.onsubmit = (e) => {
      e.preventDefault();
      const v = input.value.trim();
      if (!v) return;
      sessionStorage.setItem(TOKEN_KEY, v);
      done(v);
    };
    d.showModal();
    input.focus();
  });
}

/// A write: with the session's token; a 401/403 asks for it (showing why) and
/// tries again, until it passes or the person cancels.
export async function send(method, path, body) {
  for (;;) {
    let res;
    try {
      res = await fetch(path, { method, headers: authHeaders(), body: JSON.stringify(body) });
    } catch {
      throw new Error(t().err.net);
    }
    let data = null;
    try { data = await res.json(); } catch { /* an empty or non-JSON answer */ }
    if (res.ok) return data;
    if (res.status === 401 || res.status === 403) {
      const token = await askToken(localError(res.status, data));
      if (token != null) continue;
    }
    throw new Error(localError(res.status, data));
  }
}

async function getJson(path) {
  const res = await fetch(path, { headers: authHeaders() });
  if (!res.ok) throw new Error(res.statusText);
  return res.json();
}

function field(form, id, label, input) {
  input.id = id;
  const l = el("label", null, label);
  l.htmlFor = id;
  form.append(l, input);
  return input;
}

function status(form) {
  const p = el("p", "msg");
  p.setAttribute("role", "status");
  form.append(p);
  return p;
}

/// The console's incident forms, in the hidden sections the page keeps for them.
/// `by` gives the name to record (the team lead's, or what they typed).
export function mountConsole({ callbacks, faults, editor, by, team, model }) {
  const state = { incidents: [], faults: [], callbacks: [] };
  // The call-back form's incident follows the open one until the person picks.
  let cbPicked = false;

  // --- call-back entry ---------------------------------------------------
  callbacks.replaceChildren(el("h2", null, t().callbacks));
  const cbForm = el("form", "stack");
  cbForm.id = "callback-form";
  const caller = field(cbForm, "cb-caller", t().caller, el("input"));
  caller.inputMode = "tel";
  caller.required = true;
  const cbIncident = field(cbForm, "cb-incident", t().incident, el("select"));
  const cbNote = field(cbForm, "cb-note", t().note, el("textarea"));
  cbNote.rows = 2;
  cbIncident.onchange = () => { cbPicked = true; };
  const cbButton = el("button", "primary", t().add);
  cbButton.type = "submit";
  cbForm.append(cbButton);
  const cbStatus = status(cbForm);
  cbForm.onsubmit = async (e) => {
    e.preventDefault();
    try {
      const r = await send("POST", "/api/callbacks", {
        caller: caller.value, incident: cbIncident.value || null, note: cbNote.value || null, by: by(),
      });
      setText(cbStatus, t().added(r.caller));
      caller.value = "";
      cbNote.value = "";
      await loadWorklist();
    } catch (err) {
      setText(cbStatus, t().failed + err.message);
    }
  };
  callbacks.append(cbForm);
  callbacks.hidden = false;

  // --- the call-back worklist ------------------------------------------------
  const wl = el("div", "worklist");
  wl.id = "worklist";
  wl.append(el("h2", null, t().worklist));
  const filters = el("form", "filters");
  filters.id = "worklist-filters";
  // Each filter's label above its select, in a cell of its own.
  const cell = (id, label) => {
    const c = el("div", "filter");
    filters.append(c);
    return field(c, id, label, el("select"));
  };
  const fStatusSel = cell("wl-status", t().status);
  // "open": pending and assigned, the work still to do (the default).
  for (const v of ["open", "pending", "assigned", "done", "failed", ""]) {
    const o = el("option", null, v === "open" ? t().open : v ? t().st[v] : t().all);
    o.value = v;
    fStatusSel.append(o);
  }
  const fIncidentSel = cell("wl-incident", t().incident);
  const fTeamSel = cell("wl-team", t().team);
  filters.onsubmit = (e) => e.preventDefault();
  fStatusSel.onchange = () => loadWorklist();
  fIncidentSel.onchange = () => loadWorklist();
  fTeamSel.onchange = () => { fTeamSel.dataset.touched = "1"; paintWorklist(); };
  const list = el("ul", "cb-list");
  list.id = "cb-list";
  const wlStatus = el("p", "msg");
  wlStatus.id = "wl-status-msg";
  wlStatus.setAttribute("role", "status");
  const agentList = el("datalist");
  agentList.id = "wl-agents";
  wl.append(filters, wlStatus, list, agentList);
  callbacks.append(wl);

  const teamOf = (agentId) => {
    const a = agentId && model() && model().agents.get(agentId);
    return a ? a.team : null;
  };

  async function loadWorklist() {
    const q = new URLSearchParams();
    if (fStatusSel.value && fStatusSel.value !== "open") q.set("status", fStatusSel.value);
    if (fIncidentSel.value) q.set("incident", fIncidentSel.value);
    try {
      state.callbacks = await getJson("/api/callbacks?" + q);
    } catch {
      return;
    }
    paintWorklist();
  }

  function paintWorklist() {
    const m = model();
    const tm = fTeamSel.value;
    // A team's call-backs: those assigned to one of its agents, and those
    // nobody has taken yet (any team's lead may take them).
    const open = fStatusSel.value === "open";
    const shown = state.callbacks.filter((c) => (!open || c.status === "pending" || c.status === "assigned") &&
      (!tm || !c.agent || teamOf(c.agent) === tm));
    const teamAgents = m ? [...m.agents.values()].filter((a) => !team() || a.team === team()) : [];
    agentList.replaceChildren(...teamAgents.map((a) => {
      const o = el("option");
      o.value = a.id;
      o.label = a.name || a.id;
      return o;
    }));
    if (shown.length === 0) {
      list.replaceChildren(el("li", "empty", t().no_callbacks));
      return;
    }
    list.replaceChildren(...shown.map(cbItem));
  }

  function cbItem(c) {
    const li = el("li", "cb st-cb-" + c.status);
    li.dataset.callback = String(c.id);
    const head = el("div", "cb-head");
    head.append(el("b", "cb-caller", c.caller), el("span", "cb-status", t().st[c.status] || c.status),
      el("span", "cb-attempts", t().attempts(c.attempts)));
    const inc = state.incidents.find((i) => i.id === c.incident);
    const meta = el("div", "meta", [inc ? inc.title : c.incident, c.queue, c.note].filter(Boolean).join(" · "));
    const who = el("div", "cb-assignee", c.agent ? `${t().assignee}: ${agentName(c.agent)}` : "");
    li.append(head, meta, who);
    if (c.status === "pending" || c.status === "assigned") {
      const row = el("div", "cb-actions");
      const input = el("input");
      input.className = "cb-assign-to";
      input.setAttribute("list", "wl-agents");
      input.setAttribute("aria-label", t().assignee);
      input.placeholder = t().assignee;
      input.value = c.agent || "";
      const assign = button(t().assign, "cb-assign", () => {
        const agent = input.value.trim();
        if (!agent) { input.focus(); return; }
        return patch(c, { status: "assigned", agent });
      });
      const attempt = button(t().attempt, "cb-attempt", () => patch(c, { attempted: true }));
      const done = button(t().done, "cb-done", () => patch(c, { status: "done" }));
      const fail = button(t().fail, "cb-failed", () => patch(c, { status: "failed" }));
      done.classList.add("primary");
      row.append(input, assign, attempt, done, fail);
      li.append(row);
    }
    return li;
  }

  const agentName = (id) => {
    const a = model() && model().agents.get(id);
    return a && a.name ? `${a.name} (${id})` : id;
  };

  function button(label, cls, onClick) {
    const b = el("button", cls, label);
    b.type = "button";
    b.onclick = async () => {
      b.disabled = true;
      try { await onClick(); } finally { b.disabled = false; }
    };
    return b;
  }

  async function patch(c, body) {
    try {
      await send("PATCH", "/api/callbacks/" + encodeURIComponent(c.id), { ...body, by: by() });
      setText(wlStatus, t().saved);
    } catch (err) {
      setText(wlStatus, t().failed + err.message);
    }
    await loadWorklist();
  }

  // --- fault-register notes ---------------------------------------------
  faults.replaceChildren(el("h2", null, t().faults));
  const fForm = el("form", "stack");
  fForm.id = "fault-form";
  const fSelect = field(fForm, "fault-id", t().fault, el("select"));
  const cause = field(fForm, "fault-cause", t().cause, el("input"));
  const resolution = field(fForm, "fault-resolution", t().resolution, el("input"));
  const reported = field(fForm, "fault-reported", t().reported_to, el("input"));
  const fButton = el("button", "primary", t().save);
  fButton.type = "submit";
  fForm.append(fButton);
  const fStatus = status(fForm);
  fForm.onsubmit = async (e) => {
    e.preventDefault();
    if (!fSelect.value) return;
    try {
      await send("PATCH", "/api/faults/" + encodeURIComponent(fSelect.value), {
        cause: cause.value || null, resolution: resolution.value || null,
        reported_to: reported.value || null, by: by(),
      });
      setText(fStatus, t().saved);
    } catch (err) {
      setText(fStatus, t().failed + err.message);
    }
  };
  faults.append(fForm);

  // --- script editor -------------------------------------------------------
  editor.replaceChildren(el("h2", null, t().editor));
  const sForm = el("form", "stack");
  sForm.id = "script-form";
  const sSelect = field(sForm, "script-incident", t().incident, el("select"));
  const zh = field(sForm, "script-zh", t().text_zh, el("textarea"));
  const en = field(sForm, "script-en", t().text_en, el("textarea"));
  zh.rows = 3;
  en.rows = 3;
  const sButton = el("button", "primary", t().publish);
  sButton.type = "submit";
  sForm.append(sButton);
  const sStatus = status(sForm);
  const fillEditor = () => {
    const inc = state.incidents.find((i) => i.id === sSelect.value);
    const v = inc && inc.script_version;
    zh.value = v ? v.zh : "";
    en.value = v ? v.en : "";
  };
  sSelect.onchange = fillEditor;
  sForm.onsubmit = async (e) => {
    e.preventDefault();
    if (!sSelect.value) return;
    try {
      const r = await send("POST", "/api/incidents/" + encodeURIComponent(sSelect.value) + "/script", {
        text_zh: zh.value, text_en: en.value, publish: true, by: by(),
      });
      setText(sStatus, t().published(r.script_version ? r.script_version.version : "?"));
      await refresh();
    } catch (err) {
      setText(sStatus, t().failed + err.message);
    }
  };
  editor.append(sForm);

  const options = (select, items, label, keepEmpty) => {
    const keep = select.value;
    select.replaceChildren();
    if (keepEmpty) {
      const o = el("option", null, t().none);
      o.value = "";
      select.append(o);
    }
    for (const it of items) {
      const o = el("option", null, label(it));
      o.value = it.id;
      select.append(o);
    }
    if ([...select.options].some((o) => o.value === keep)) select.value = keep;
  };

  // Selector labels in the page's language: an incident by its kind, subject
  // and time (its stored title mixes both languages; a manual incident keeps the
  // title it was given), a fault by its component and time (its detail is in the
  // alerts' language, shown only on a page in that language), a team by its name.
  const cfgOf = () => { const m = model(); return m && m.config ? m : null; };
  const incidentLabel = (i) => {
    const m = cfgOf();
    const kind = m && m.config.kinds && m.config.kinds[i.kind] && m.config.kinds[i.kind][lang];
    if (!kind || i.kind === "manual") return i.title;
    const about = i.queue ? displayName(m, "queues", i.queue, m.queues.get(i.queue)?.name)
      : i.component ? displayName(m, "components", i.component) : "";
    return [kind, about, fmtTime(Date.parse(i.opened_at), m.config.timezone)].filter(Boolean).join(" · ");
  };
  const faultLabel = (f) => {
    const m = cfgOf();
    const parts = [m ? displayName(m, "components", f.component) : f.component];
    if (m) parts.push(fmtTime(Date.parse(f.detected_at), m.config.timezone));
    if (f.detail && (!m || m.config.alerts_language === lang)) parts.push(f.detail);
    return parts.join(" · ") + (f.recovered_at ? ` (${t().recovered})` : "");
  };

  async function refresh() {
    try {
      state.incidents = await getJson("/api/incidents?state=open");
      // Recovered faults too: the cause and resolution are often known only after.
      state.faults = await getJson("/api/faults?limit=50");
    } catch {
      return;
    }
    const before = sSelect.value;
    options(cbIncident, state.incidents, incidentLabel, true);
    if (!cbPicked && !cbIncident.value && state.incidents.length) cbIncident.value = state.incidents[0].id;
    options(sSelect, state.incidents, incidentLabel, false);
    options(fSelect, state.faults, faultLabel, false);
    const wlBefore = fIncidentSel.value;
    options(fIncidentSel, state.incidents, incidentLabel, true);
    fIncidentSel.options[0].textContent = t().all;
    const m = model();
    const teamsNow = m ? [...m.teams.values()].sort((a, b) => a.order - b.order) : [];
    const tBefore = fTeamSel.value;
    options(fTeamSel, teamsNow, (x) => displayName(m, "teams", x.id, x.name), true);
    fTeamSel.options[0].textContent = t().all_teams;
    if (!tBefore && team() && teamsNow.some((x) => x.id === team()) && !fTeamSel.dataset.touched) fTeamSel.value = team();
    if (fIncidentSel.value !== wlBefore) fIncidentSel.value = wlBefore;
    await loadWorklist();
    faults.hidden = state.faults.length === 0;
    editor.hidden = state.incidents.length === 0;
    if (sSelect.value !== before) fillEditor();
  }
  refresh();
  const timer = setInterval(refresh, 5000);
  return { refresh, stop: () => clearInterval(timer) };
}
