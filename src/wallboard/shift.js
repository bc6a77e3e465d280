// The duty page (/duty): the duty supervisor's shift — the handover sheet
// (应到/实到/未到人员及原因/迟到, the lead's confirmation and the countersignature),
// each team's last patrol with the overdue ones flagged, the overrun records to
// review, the idle-time advice, and the seat map. Everything from outside goes in
// as text (textContent), never as HTML.
//
// URL parameters: ?date=YYYY-MM-DD&shift=NAME (default: the shift in progress), ?lang=zh-CN|en.

import { lang, el, setText, fmtDur, fmtTime, stateLabel, wireLangToggle } from "./common.js";
import { send, askToken, localError, writeToken } from "./incidents.js";

const TEXT = {
  "zh-CN": {
    title: "值班长台", date: "日期", shift: "班次", print: "打印交接班表", csv: "导出 CSV",
    handover: "交接班", team: "班组", expected: "应到", present: "实到", absent: "未到人员及原因",
    late: "迟到", confirmed: "班组长确认", countersigned: "值班长复核", confirm: "确认",
    countersign: "复核签字", archived: "已归档", not_yet: "未确认", reason: "原因", save: "保存",
    minutes: (n) => `${n} 分钟`, outgoing: "上一班未结事项",
    outgoing_line: (i, c, f, a) => `未关闭事件 ${i} · 待回拨 ${c} · 未恢复故障 ${f} · 未解除告警 ${a}`,
    frozen: (by, at) => `${at} 由 ${by} 会签时存档`,
    patrols: "现场巡视", never: "本班未巡视", ago: (m) => `${m} 分钟前巡视`, overdue: "巡视超时",
    patrol_done: "已巡视", advice: "话务空闲安排培训",
    advice_floor: (need, have, free) => `未来 30 分钟需 ${need} 人，在岗 ${have} 人，可安排培训 ${free} 人`,
    advice_unknown: "话务数据不足，暂无建议",
    advice_queue: (q, n, r) => `${q}：预计每小时 ${r} 通，需 ${n} 人`,
    overruns: "违规确认", agent: "坐席", kind: "类型", duration: "时长", tier: "等级", status: "状态",
    actions: "操作", dismiss: "不予确认", sign_off: "值班长签字", note: "备注",
    kinds: { acw_overrun: "话后处理超时", busy_overrun: "示忙超时" },
    statuses: { draft: "待确认", confirmed: "已确认", dismissed: "不予确认" },
    signed: (by) => `已签字 ${by}`, seatmap: "座位图", empty_seat: "空座",
    done: "已保存",
  },
  en: {
    title: "Duty desk", date: "Date", shift: "Shift", print: "Print the sheet", csv: "CSV",
    handover: "Handover", team: "Team", expected: "Expected", present: "Present", absent: "Absent and why",
    late: "Late", confirmed: "Lead's confirmation", countersigned: "Countersignature", confirm: "Confirm",
    countersign: "Countersign", archived: "archived", not_yet: "not yet", reason: "Reason", save: "Save",
    minutes: (n) => `${n} min`, outgoing: "Handed over by the outgoing shift",
    outgoing_line: (i, c, f, a) => `open incidents ${i} · open call-backs ${c} · open faults ${f} · alerts firing ${a}`,
    frozen: (by, at) => `as archived by ${by}'s countersignature at ${at}`,
    patrols: "Patrols", never: "not patrolled this shift", ago: (m) => `patrolled ${m} min ago`, overdue: "Patrol overdue",
    patrol_done: "Patrol done", advice: "Idle time for training",
    advice_floor: (need, have, free) => `Next 30 min: ${need} needed, ${have} on the floor, ${free} could go to training`,
    advice_unknown: "Not enough traffic seen yet to advise",
    advice_queue: (q, n, r) => `${q}: ${r} calls/h expected, ${n} needed`,
    overruns: "Overrun review", agent: "Agent", kind: "Kind", duration: "Duration", tier: "Tier", status: "Status",
    actions: "Actions", dismiss: "Dismiss", sign_off: "Sign off", note: "Note",
    kinds: { acw_overrun: "ACW overrun", busy_overrun: "Not-ready overrun" },
    statuses: { draft: "draft", confirmed: "confirmed", dismissed: "dismissed" },
    signed: (by) => `signed off by ${by}`, seatmap: "Seat map", empty_seat: "empty",
    done: "Saved",
  },
};
const t = () => TEXT[lang] || TEXT.en;
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
let date = params.get("date");
let shift = params.get("shift");
let last = {};

/// A read with the session's token; a 401 asks for one once.
async function read(path) {
  for (let tries = 0; ; tries++) {
    const h = {};
    const token = writeToken();
    if (token) h.Authorization = "Bearer " + token;
    const res = await fetch(path, { headers: h });
    if (res.ok) return res.json();
    if ((res.status === 401 || res.status === 403) && tries === 0) {
      let data = null;
      try { data = await res.json(); } catch { /* not JSON */ }
      if (await askToken(localError(res.status, data)) != null) continue;
    }
    throw new Error(String(res.status));
  }
}

function query() {
  return date && shift ? `date=${encodeURIComponent(date)}&shift=${encodeURIComponent(shift)}` : "";
}

function labels() {
  const T = t();
  document.title = "floorwatch · " + T.title;
  setText($("title"), T.title);
  setText($("date-label"), T.date);
  setText($("shift-label"), T.shift);
  setText($("print"), T.print);
  setText($("csv"), T.csv);
  const ids = {
    "handover-title": T.handover, "th-team": T.team, "th-expected": T.expected, "th-present": T.present,
    "th-absent": T.absent, "th-late": T.late, "th-confirmed": T.confirmed, "th-countersigned": T.countersigned,
    "outgoing-title": T.outgoing, "patrols-title": T.patrols, "advice-title": T.advice, "overruns-title": T.overruns,
    "th-o-agent": T.agent, "th-o-kind": T.kind, "th-o-duration": T.duration, "th-o-tier": T.tier,
    "th-o-status": T.status, "th-o-actions": T.actions, "seatmap-title": T.seatmap,
  };
  for (const [id, text] of Object.entries(ids)) setText($(id), text);
}

function say(msg) {
  const s = $("status");
  s.hidden = !msg;
  setText(s, msg || "");
}

async function act(method, path, body) {
  try {
    await send(method, path, body);
    say(t().done);
  } catch (e) {
    say(e.message);
  }
  await refresh();
}

function button(cls, text, onclick) {
  const b = el("button", cls, text);
  b.type = "button";
  b.onclick = onclick;
  return b;
}

function renderHandover(v) {
  const T = t();
  if (!date || !shift) { date = v.date; shift = v.shift; }
  $("date").value = date;
  const sel = $("shift");
  if (sel.options.length !== (v.shifts || []).length) {
    sel.replaceChildren(...(v.shifts || []).map((s) => { const o = el("option", null, s); o.value = s; return o; }));
  }
  sel.value = shift;
  const lq = `&lang=${lang}`;
  $("print").href = `/api/handover?${query()}&format=html${lq}`;
  $("csv").href = `/api/handover?${query()}&format=csv`;
  const rows = (v.teams || []).map((tm) => {
    const tr = el("tr");
    tr.dataset.team = tm.team;
    tr.append(el("td", "team", tm.team + (tm.lead ? ` (${tm.lead})` : "")));
    tr.append(el("td", "expected", String((tm.expected || []).length)));
    tr.append(el("td", "present", String((tm.present || []).length)));
    const absent = el("td", "absent");
    for (const a of tm.absent || []) {
      const line = el("div", "absent-agent");
      line.dataset.agent = a.agent;
      line.append(el("span", null, a.agent + (a.reason ? ` — ${a.reason}` : "")));
      if (!tm.confirmed_by) {
        const input = el("input", "reason");
        input.placeholder = T.reason;
        input.maxLength = 200;
        line.append(input, button("save-reason", T.save, () => act("POST", "/api/handover/absences",
          { date, shift, team: tm.team, agent: a.agent, reason: input.value })));
      }
      absent.append(line);
    }
    tr.append(absent);
    tr.append(el("td", "late", (tm.late || []).map((l) => `${l.agent} ${T.minutes(l.minutes)}`).join(", ")));
    const conf = el("td", "confirmed", tm.confirmed_by || T.not_yet);
    if (!tm.confirmed_by) conf.append(button("confirm", T.confirm, () => act("POST", "/api/handover/confirm", { date, shift, team: tm.team })));
    tr.append(conf);
    const cs = el("td", "countersigned", tm.countersigned_by ? `${tm.countersigned_by} (${T.archived})` : T.not_yet);
    if (tm.confirmed_by && !tm.countersigned_by) {
      cs.append(button("countersign", T.countersign, () => act("POST", "/api/handover/countersign", { date, shift, team: tm.team })));
    }
    if (tm.archived) tr.classList.add("archived");
    tr.append(cs);
    return tr;
  });
  $("teams").replaceChildren(...rows);
  const o = v.outgoing || {};
  const n = (x) => (x || []).length;
  const line = T.outgoing_line(n(o.incidents), n(o.callbacks), n(o.faults), n(o.alerts));
  const frozen = o.frozen_by ? " · " + T.frozen(o.frozen_by, fmtTime(Date.parse(o.frozen_at))) : "";
  $("outgoing").replaceChildren(el("li", null, line + frozen));
}

function renderPatrols(v) {
  const T = t();
  const items = (v.teams || []).filter((p) => p.on_floor || p.last_patrol).map((p) => {
    const li = el("li", p.overdue ? "flag" : null);
    li.dataset.team = p.team;
    const when = p.mins_since == null ? T.never : T.ago(p.mins_since);
    li.append(el("span", null, `${p.team}${p.lead ? ` (${p.lead})` : ""}: ${when}${p.overdue ? ` — ${T.overdue}` : ""} `));
    li.append(button("patrol", T.patrol_done, () => act("POST", "/api/patrols", { team: p.team })));
    return li;
  });
  $("patrol-list").replaceChildren(...items);
}

function renderAdvice(v) {
  const T = t();
  setText($("advice-floor"), v.needed == null ? T.advice_unknown : T.advice_floor(v.needed, v.staffed, v.releasable));
  $("advice-queues").replaceChildren(...(v.queues || []).map((q) =>
    el("li", null, T.advice_queue(q.queue, q.needed == null ? "–" : q.needed, Math.round(q.expected_per_hour)))));
}

function renderOverruns(list) {
  const T = t();
  $("overrun-list").replaceChildren(...list.slice(0, 100).map((o) => {
    const tr = el("tr");
    tr.dataset.overrun = String(o.id);
    tr.append(el("td", null, `${o.agent}${o.team ? ` (${o.team})` : ""}`));
    tr.append(el("td", null, (T.kinds[o.kind] || o.kind) + (o.reason ? ` · ${o.reason}` : "")));
    tr.append(el("td", null, fmtDur(o.duration_secs)));
    tr.append(el("td", null, String(o.tier)));
    tr.append(el("td", "o-status", (T.statuses[o.status] || o.status) + (o.signed_off_by ? ` · ${T.signed(o.signed_off_by)}` : "")));
    const cell = el("td");
    if (!o.signed_off_by) {
      const note = el("input", "reason");
      note.placeholder = T.note;
      const patch = (body) => act("PATCH", `/api/overruns/${o.id}`, body);
      const withNote = (status) => note.value.trim() ? { status, note: note.value } : { status };
      cell.append(note, button("o-confirm", T.confirm, () => patch(withNote("confirmed"))),
        button("o-dismiss", T.dismiss, () => patch(withNote("dismissed"))));
      if (o.status !== "draft") cell.append(button("o-sign", T.sign_off, () => patch({ sign_off: true })));
    }
    tr.append(cell);
    return tr;
  }));
}

function renderSeats(v) {
  const T = t();
  $("seats").replaceChildren(...(v.rows || []).map((r) => {
    const row = el("div", "seat-row");
    row.append(el("span", "row-name", r.row));
    for (const s of r.seats) {
      const cell = el("div", "seat");
      cell.dataset.seat = s.seat;
      if (!s.agent) {
        cell.classList.add("empty");
        cell.append(el("span", "who", s.seat), el("span", null, T.empty_seat));
      } else {
        cell.classList.add(s.state ? "state-" + s.state : "off");
        if (s.alert) cell.classList.add("alert");
        cell.append(el("span", "who", s.name || s.agent), el("span", "what",
          `${s.seat} · ${s.state ? stateLabel(s.state) : "–"}${s.secs_in_state != null ? " " + fmtDur(s.secs_in_state) : ""}`));
      }
      row.append(cell);
    }
    return row;
  }));
}

async function refresh() {
  const q = query();
  const parts = [
    ["handover", `/api/handover${q ? "?" + q : ""}`, renderHandover],
    ["patrols", "/api/patrols/teams", renderPatrols],
    ["advice", "/api/advice?horizon_mins=30", renderAdvice],
    ["overruns", "/api/overruns?limit=100", renderOverruns],
  ];
  for (const [key, path, render] of parts) {
    try {
      last[key] = await read(path);
      render(last[key]);
    } catch (e) {
      console.info(key, e.message);
    }
  }
  try {
    last.seats = await read(`/api/seatmap?${query()}`);
    renderSeats(last.seats);
  } catch (e) {
    console.info("seatmap", e.message);
  }
  document.body.dataset.loaded = "1";
}

function rerender() {
  labels();
  if (last.handover) renderHandover(last.handover);
  if (last.patrols) renderPatrols(last.patrols);
  if (last.advice) renderAdvice(last.advice);
  if (last.overruns) renderOverruns(last.overruns);
  if (last.seats) renderSeats(last.seats);
}

$("date").onchange = () => { date = $("date").value; refresh(); };
$("shift").onchange = () => { shift = $("shift").value; refresh(); };
wireLangToggle($("lang-toggle"), rerender);
labels();
refresh();
setInterval(refresh, 3000);
