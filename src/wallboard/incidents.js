// Incidents on the wall and in the console (issue 5's API): the unified reply
// script (统一应答口径) in large type while an incident is open, and the
// console's forms — call-backs, fault-register notes, editing and publishing the
// script. Everything from outside goes in as text (textContent), never as HTML.

import { lang, el, setText } from "./common.js";

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

function authHeaders() {
  const h = { "Content-Type": "application/json" };
  const token = localStorage.getItem("floorwatch.token");
  if (token) h.Authorization = "Bearer " + token;
  return h;
}

async function send(method, path, body) {
  const res = await fetch(path, { method, headers: authHeaders(), body: JSON.stringify(body) });
  let data = null;
  try { data = await res.json(); } catch { /* an empty or non-JSON answer */ }
  if (!res.ok) throw new Error((data && data.error) || res.statusText);
  return data;
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
export function mountConsole({ callbacks, faults, editor, by }) {
  const state = { incidents: [], faults: [] };

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
    } catch (err) {
      setText(cbStatus, t().failed + err.message);
    }
  };
  callbacks.append(cbForm);
  callbacks.hidden = false;

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

  async function refresh() {
    try {
      state.incidents = await getJson("/api/incidents?state=open");
      state.faults = await getJson("/api/faults?open=true");
    } catch {
      return;
    }
    const before = sSelect.value;
    options(cbIncident, state.incidents, (i) => i.title, true);
    options(sSelect, state.incidents, (i) => i.title, false);
    options(fSelect, state.faults, (f) => `${f.component} · ${f.detail}`, false);
    faults.hidden = state.faults.length === 0;
    editor.hidden = state.incidents.length === 0;
    if (sSelect.value !== before) fillEditor();
  }
  refresh();
  const timer = setInterval(refresh, 5000);
  return { refresh, stop: () => clearInterval(timer) };
}
