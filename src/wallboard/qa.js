// The quality-assurance console (/qa): sampling rules registered before their
// period, each rule's sample with a "verify" that re-runs it and checks the
// published checksum, this week's quotas, reviews scored on the configured sheet,
// and appeals through the lead to the three-party review. Everything from outside
// goes in as text (textContent), never as HTML.
//
// Who does what is the server's: QA works with a supervisor token (register,
// score, decide), a lead accepts or rejects an appeal of their team, an agent
// (a viewer token named by the agent id) sees and appeals their own reviews.
// Controls are shown by GET /api/whoami's `can`; the server's answer decides.
//
// URL parameters: ?rule=ID, ?month=YYYY-MM, ?lang=zh-CN|en.

import { lang, el, setText, fmtDur, wireLangToggle } from "./common.js";
import { askToken, writeToken } from "./incidents.js";

const TEXT = {
  "zh-CN": {
    title: "质检台", colon: "：", me: (n, r) => `当前身份：${n}（${ROLE_ZH[r] || r}）`, nobody: "未登录（需要令牌）",
    change_token: "更换令牌", token_why: "输入你的令牌（质检、班组长或坐席本人）。",
    report: "话务与质检报表", analysis: "月度监听分析表",
    rules: "抽检规则（事先登记，登记后不可更改）", id: "编号", name: "名称", period: "适用期间", rate: "抽检比例",
    min: "每人每周至少", seed: "随机种子", sha: "SHA-256 校验值", registered: "登记人 / 时间", open: "查看抽样",
    no_rules: "尚未登记规则",
    register: "登记新规则", id_opt: "编号（可不填，按校验值生成）", from: "开始时间", to: "结束时间",
    rate_pct: "抽检比例（%）", per_agent_min: "每人每周至少（通）", seed_gen: "生成随机种子", timezone: "时区（不填为现场时区）",
    strata: "分层抽样", s_queue: "按队列", s_weekday: "按星期", s_hour: "按时段",
    band: "时长范围（当日平均时长的 ± 比例，如 0.5）", new_agents: "新坐席（逗号分隔）", new_agent_factor: "新坐席倍数",
    watch_list: "重点关注坐席（逗号分隔）", watch_factor: "重点关注倍数", submit_rule: "登记规则",
    rule_saved: (id) => `已登记规则 ${id}`,
    sample: (id, name) => `抽样结果：${name}（${id}）`, verify: "复核（重新运行规则）", csv: "下载 CSV",
    summary: (n, e, t) => `从 ${e} 通已接听电话中抽取 ${n} 通（按比例目标 ${t} 通）`,
    call: "通话编号", agent: "坐席", queue: "队列", time: "时间", talk: "通话时长", why: "抽取原因",
    score_it: "评分",
    reasons: { rate: "按比例", longest: "最长通话", shortest: "最短通话", first_on_monday: "周一第一通", last_on_friday: "周五最后一通", after_longest_gap: "最长间隔后第一通", minimum: "补足每人最低数" },
    rule_sum: "规则校验值", list_sum: "抽样清单校验值", sum_ok: "与公布的一致", sum_bad: "与公布的不一致！",
    same: (n) => `两次运行结果相同（${n} 通）`, differs: "两次运行结果不同！",
    quotas: "本周配额", under: (l) => `未达每周最低数：${l}`, all_met: "所有坐席均已达到每周最低数",
    picked: "已抽取", reviewed: "已评分", status: "状态", short: "未达标", met: "已达标",
    reviews: "评分记录", month: "月份", monthly: (m, g, p) => `本月录音评分均分 ${m}（${g}），计入月度质检得分 ${p}（占 70%）`,
    no_reviews: "本月暂无评分", reviewer: "质检员", at: "评分时间", deductions: "扣分项", score: "得分", grade: "等级",
    appeal: "申诉", appeal_title: (id) => `对评分 #${id} 申诉`, appeal_items: "申诉的扣分项", reason: "申诉理由",
    file_appeal: "提交申诉", cancel: "取消", appealed: "已申诉",
    score_title: "对抽中的电话评分", score_call: "通话编号", max: (p) => `（最多扣 ${p} 分）`, note: "备注",
    preview: (s, g) => `得分 ${s}（${g}）`, submit_score: "保存评分", scored: (s, g) => `已保存：得分 ${s}（${g}）`,
    bands: "等级：≥ 90 优秀 · 85–90 良好 · 75–85 待改进 · < 75 不合格",
    grades: { excellent: "优秀", good: "良好", needs_improvement: "待改进", fail: "不合格" },
    appeals: "申诉与三方复核", no_appeals: "暂无申诉", appeal_n: (id, r) => `申诉 #${id} · 评分 #${r}`,
    statuses: { filed: "待班组长处理", accepted: "三方复核中", rejected: "班组长驳回", upheld: "维持原评分", amended: "已改分" },
    step_filed: (a, t) => `${t} · ${a} 提交申诉`, step_lead: (s, l, t) => `${t} · 班组长 ${l} ${s === "rejected" ? "驳回" : "受理，转三方复核"}`,
    step_decided: (p, t, d) => `${t} · 三方复核（主管 ${p.supervisor}、班组长 ${p.lead}、质检 ${p.qa}）：${d}`,
    upheld: "维持原评分", amend: "改分", amended_to: (s) => `改为 ${s} 分`, accept: "受理（转三方复核）", reject: "驳回",
    decision: "复核结论", qa_member: "质检成员", new_score: "新得分（改分时）", decide: "提交复核结论",
    saved: "已保存",
    err: {
      400: "请求有误", 401: "需要令牌，或令牌不正确。", 403: "没有执行此操作的权限。", 404: "记录不存在。",
      409: "与已有记录冲突（已登记、已评分或状态已变）。", 422: "填写有误", 503: "数据库暂不可用，请重试。",
      other: "保存失败，请重试。", net: "网络不通，请重试。",
    },
    fields: {
      id: "编号", name: "名称", from: "开始时间", to: "结束时间", rate: "抽检比例", per_agent_min: "每人每周至少", seed: "随机种子",
      timezone: "时区", band: "时长范围", new_agent_factor: "新坐席倍数", watch_factor: "重点关注倍数", call: "通话编号",
      deductions: "扣分项", items: "申诉的扣分项", reason: "申诉理由", decision: "复核结论", score: "新得分", qa: "质检成员",
      body: "内容", month: "月份",
    },
  },
  en: {
    title: "QA console", colon: ": ", me: (n, r) => `Signed in as ${n} (${r})`, nobody: "Not signed in (a token is needed)",
    change_token: "Change token", token_why: "Enter your token (QA, team lead, or the agent's own).",
    report: "KPI and QA report", analysis: "Monthly monitoring analysis",
    rules: "Sampling rules (registered in advance, fixed once registered)", id: "Id", name: "Name", period: "Period", rate: "Rate",
    min: "Per agent per week", seed: "Seed", sha: "SHA-256", registered: "Registered by / at", open: "Sample",
    no_rules: "No rule registered yet",
    register: "Register a rule", id_opt: "Id (optional: made from the checksum)", from: "From", to: "To",
    rate_pct: "Rate (%)", per_agent_min: "Minimum per agent per week (calls)", seed_gen: "New random seed", timezone: "Time zone (empty: the floor's)",
    strata: "Strata", s_queue: "by queue", s_weekday: "by weekday", s_hour: "by hour",
    band: "Duration band (± fraction of the day's mean, e.g. 0.5)", new_agents: "New agents (comma-separated)", new_agent_factor: "New-agent factor",
    watch_list: "Watch list (comma-separated)", watch_factor: "Watch-list factor", submit_rule: "Register",
    rule_saved: (id) => `Rule ${id} registered`,
    sample: (id, name) => `Sample: ${name} (${id})`, verify: "Verify (re-run the rule)", csv: "Download CSV",
    summary: (n, e, t) => `${n} of ${e} answered calls picked (rate target ${t})`,
    call: "Call", agent: "Agent", queue: "Queue", time: "Time", talk: "Talk", why: "Why picked",
    score_it: "Score",
    reasons: { rate: "rate", longest: "longest call", shortest: "shortest call", first_on_monday: "first on Monday", last_on_friday: "last on Friday", after_longest_gap: "after the longest gap", minimum: "per-agent minimum" },
    rule_sum: "Rule checksum", list_sum: "Sample list checksum", sum_ok: "matches the published one", sum_bad: "does NOT match the published one!",
    same: (n) => `Same list on both runs (${n} calls)`, differs: "The two runs differ!",
    quotas: "This week's quotas", under: (l) => `Under their weekly minimum: ${l}`, all_met: "Every agent has their weekly minimum",
    picked: "Picked", reviewed: "Reviewed", status: "Status", short: "under minimum", met: "met",
    reviews: "Reviews", month: "Month", monthly: (m, g, p) => `Month's review mean ${m} (${g}); ${p} of the monthly quality score (70 %)`,
    no_reviews: "No reviews this month", reviewer: "Reviewer", at: "Reviewed at", deductions: "Deductions", score: "Score", grade: "Grade",
    appeal: "Appeal", appeal_title: (id) => `Appeal review #${id}`, appeal_items: "Deducted items appealed", reason: "Reason",
    file_appeal: "File the appeal", cancel: "Cancel", appealed: "appealed",
    score_title: "Score a sampled call", score_call: "Call", max: (p) => ` (at most ${p})`, note: "Note",
    preview: (s, g) => `Score ${s} (${g})`, submit_score: "Save the review", scored: (s, g) => `Saved: score ${s} (${g})`,
    bands: "Grades: ≥ 90 excellent · 85–90 good · 75–85 needs improvement · < 75 fail",
    grades: { excellent: "excellent", good: "good", needs_improvement: "needs improvement", fail: "fail" },
    appeals: "Appeals and the three-party review", no_appeals: "No appeals", appeal_n: (id, r) => `Appeal #${id} · review #${r}`,
    statuses: { filed: "with the lead", accepted: "at the three-party review", rejected: "rejected by the lead", upheld: "score upheld", amended: "score amended" },
    step_filed: (a, t) => `${t} · filed by ${a}`, step_lead: (s, l, t) => `${t} · lead ${l} ${s === "rejected" ? "rejected it" : "accepted it to the three-party review"}`,
    step_decided: (p, t, d) => `${t} · three-party review (supervisor ${p.supervisor}, lead ${p.lead}, QA ${p.qa}): ${d}`,
    upheld: "score upheld", amend: "amend the score", amended_to: (s) => `amended to ${s}`, accept: "Accept (to the three-party review)", reject: "Reject",
    decision: "Decision", qa_member: "QA member", new_score: "New score (when amended)", decide: "Enter the decision",
    saved: "Saved",
    err: {
      400: "Bad request", 401: "A token is needed, or the one given is not right.", 403: "You may not do this.", 404: "No such record.",
      409: "Conflicts with what is recorded (registered, reviewed, or moved on).", 422: "Not valid", 503: "The database is not available; try again.",
      other: "Not saved; please try again.", net: "No connection; please try again.",
    },
    fields: {
      id: "Id", name: "Name", from: "From", to: "To", rate: "Rate", per_agent_min: "Minimum per agent", seed: "Seed",
      timezone: "Time zone", band: "Duration band", new_agent_factor: "New-agent factor", watch_factor: "Watch-list factor", call: "Call",
      deductions: "Deductions", items: "Appealed items", reason: "Reason", decision: "Decision", score: "New score", qa: "QA member",
      body: "Entry", month: "Month",
    },
  },
};
const ROLE_ZH = { viewer: "坐席", lead: "班组长", supervisor: "主管/质检", admin: "管理员" };
const t = () => TEXT[lang] || TEXT.en;
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

const state = {
  me: null, // GET /api/whoami, or null where the server has none
  rules: [],
  rule: params.get("rule"),
  sample: null, // the last GET .../sample, with its list checksum
  verified: null,
  quotas: null,
  sheet: null,
  reviews: null,
  appeals: [],
  appealing: null, // the review whose appeal form is open
  month: params.get("month") || new Date().toISOString().slice(0, 7),
};

// ---------------------------------------------------------------------------
// SHA-256, so the page checks the published checksum itself (crypto.subtle is
// not there on plain http from another machine, which is how a floor opens it).
// ---------------------------------------------------------------------------

const SHA_K = (() => {
  const k = [];
  for (let n = 2; k.length < 64; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) if (n % d === 0) { prime = false; break; }
    if (prime) k.push((Math.cbrt(n) % 1) * 2 ** 32 >>> 0);
  }
  return k;
})();

/// The SHA-256 of a string's UTF-8 bytes, as lowercase hex.
export function sha256(text) {
  const bytes = new TextEncoder().encode(text);
  const bits = bytes.length * 8;
  const len = ((bytes.length + 9 + 63) >> 6) << 6;
  const m = new Uint8Array(len);
  m.set(bytes);
  m[bytes.length] = 0x80;
  const dv = new DataView(m.buffer);
  dv.setUint32(len - 8, Math.floor(bits / 2 ** 32));
  dv.setUint32(len - 4, bits >>> 0);
  const h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
  const w = new Uint32Array(64);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let off = 0; off < len; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = dv.getUint32(off + i * 4);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + SHA_K[i] + w[i]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      hh = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
    }
    [a, b, c, d, e, f, g, hh].forEach((v, i) => { h[i] = (h[i] + v) >>> 0; });
  }
  return h.map((x) => x.toString(16).padStart(8, "0")).join("");
}

/// The checksum of a sample's list: each picked call and its draw key, a line
/// each, in the order the rule gives them.
function listSum(sample) {
  return sha256((sample.calls || []).map((c) => `${c.call}\t${c.key}`).join("\n"));
}

// ---------------------------------------------------------------------------
// Reads and writes with the session's token
// ---------------------------------------------------------------------------

function headers(json) {
  const h = json ? { "Content-Type": "application/json" } : {};
  const token = writeToken();
  if (token) h.Authorization = "Bearer " + token;
  return h;
}

/// A server refusal in the page's language: what sort (the status) and which
/// input (the field, `deductions[1]` read as "deductions"); the server's English
/// stays in the console log for whoever debugs.
function qaError(status, data) {
  const E = t().err;
  const base = E[status] || E.other;
  const f = data && typeof data.field === "string" ? data.field.replace(/\[\d+\]$/, "").replace(/\..*$/, "") : null;
  if (data && data.error) console.info("server:", status, data.error);
  return f ? `${base}: ${t().fields[f] || f}` : base;
}

/// A read; a 401/403 asks for a token once.
async function read(path) {
  for (let tries = 0; ; tries++) {
    const res = await fetch(path, { headers: headers(false) });
    if (res.ok) return res.json();
    let data = null;
    try { data = await res.json(); } catch { /* not JSON */ }
    if ((res.status === 401 || res.status === 403) && tries === 0 && !writeToken()) {
      if (await askToken(qaError(res.status, data)) != null) { await whoami(); continue; }
    }
    const e = new Error(qaError(res.status, data));
    e.status = res.status;
    throw e;
  }
}

/// A write; a 401 asks for the token (showing why) and tries again until it
/// passes or the person cancels. A 403 is shown: another token is "Change token".
async function write(method, path, body) {
  for (;;) {
    let res;
    try {
      res = await fetch(path, { method, headers: headers(true), body: JSON.stringify(body || {}) });
    } catch {
      throw new Error(t().err.net);
    }
    let data = null;
    try { data = await res.json(); } catch { /* empty */ }
    if (res.ok) return data;
    if (res.status === 401) {
      if (await askToken(qaError(res.status, data)) != null) { await whoami(); continue; }
    }
    throw new Error(qaError(res.status, data));
  }
}

function say(msg) {
  const s = $("status");
  s.hidden = !msg;
  setText(s, msg || "");
}

// ---------------------------------------------------------------------------
// Who is reading
// ---------------------------------------------------------------------------

async function whoami() {
  try {
    const res = await fetch("/api/whoami", { headers: headers(false) });
    state.me = res.ok ? await res.json() : (res.status === 404 ? null : { name: null, can: {} });
  } catch {
    state.me = null;
  }
  renderMe();
}

/// Whether the reader may do `what` (a `can` key); true where the server has no
/// whoami (then the server's answer to the write decides).
const may = (what) => !state.me || !state.me.can || state.me.can[what] !== false;
const myName = () => (state.me && state.me.name) || null;

function renderMe() {
  const T = t();
  setText($("me"), state.me && state.me.name ? T.me(state.me.name, state.me.role) : (state.me ? T.nobody : ""));
  document.body.classList.toggle("no-qa", !may("incidents"));
  document.body.classList.toggle("no-lead", !may("ack"));
}

// ---------------------------------------------------------------------------
// Formats
// ---------------------------------------------------------------------------

const dtfs = new Map();
function fmtWhen(iso, tz) {
  if (!iso) return "–";
  const key = lang + "|" + (tz || "");
  let f = dtfs.get(key);
  if (!f) {
    const opts = { year: "numeric", month: "2-digit", day: "2-digit", weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    try { f = new Intl.DateTimeFormat(lang, { ...opts, timeZone: tz }); } catch { f = new Intl.DateTimeFormat(lang, opts); }
    dtfs.set(key, f);
  }
  return f.format(Date.parse(iso));
}

const num = (x, d = 1) => (x == null ? "–" : new Intl.NumberFormat(lang, { maximumFractionDigits: d }).format(x));
const gradeLabel = (g) => t().grades[g] || g;
function gradeOf(score) {
  return score >= 90 ? "excellent" : score >= 85 ? "good" : score >= 75 ? "needs_improvement" : "fail";
}
function itemName(id) {
  const it = state.sheet && state.sheet.items.find((i) => i.id === id);
  return it ? (lang === "zh-CN" ? it.zh : it.en) : id;
}

function button(cls, text, onclick, primary) {
  const b = el("button", (primary ? "primary " : "") + (cls || ""), text);
  b.type = "button";
  b.onclick = onclick;
  return b;
}

function field(form, id, label, input) {
  input.id = id;
  const wrap = el("div", "field");
  const l = el("label", null, label);
  l.htmlFor = id;
  wrap.append(l, input);
  form.append(wrap);
  return input;
}

function input(type, attrs) {
  const i = el("input");
  i.type = type;
  Object.assign(i, attrs || {});
  return i;
}

function cell(tr, text, cls) {
  const td = el("td", cls || null, text);
  tr.append(td);
  return td;
}

// ---------------------------------------------------------------------------
// Labels
// ---------------------------------------------------------------------------

function labels() {
  const T = t();
  document.title = "floorwatch · " + T.title;
  const ids = {
    title: T.title, "change-token": T.change_token, "rules-title": T.rules, "th-r-id": T.id, "th-r-name": T.name,
    "th-r-period": T.period, "th-r-rate": T.rate, "th-r-min": T.min, "th-r-seed": T.seed, "th-r-sha": T.sha,
    "th-r-registered": T.registered, "register-title": T.register, verify: T.verify, "sample-csv": T.csv,
    "th-s-call": T.call, "th-s-agent": T.agent, "th-s-queue": T.queue, "th-s-time": T.time, "th-s-talk": T.talk,
    "th-s-why": T.why, "quotas-title": T.quotas, "th-q-agent": T.agent, "th-q-min": T.min, "th-q-picked": T.picked,
    "th-q-reviewed": T.reviewed, "th-q-status": T.status, "reviews-title": T.reviews, "month-label": T.month,
    "th-v-id": T.id, "th-v-call": T.call, "th-v-agent": T.agent, "th-v-reviewer": T.reviewer, "th-v-at": T.at,
    "th-v-deductions": T.deductions, "th-v-score": T.score, "th-v-grade": T.grade, "score-title": T.score_title,
    bands: T.bands, "appeals-title": T.appeals, "report-link": T.report, "analysis-link": T.analysis,
  };
  for (const [id, text] of Object.entries(ids)) setText($(id), text);
  renderLinks();
  renderMe();
}

/// The month's printable reports: links only (the reports are the server's).
function renderLinks() {
  const m = state.month;
  const l = lang === "zh-CN" ? "zh" : "en";
  $("report-link").href = `/api/reports?period=month&date=${encodeURIComponent(m)}-01&format=html&lang=${l}`;
  $("analysis-link").href = `/api/qa/analysis?month=${encodeURIComponent(m)}`;
}

// ---------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------

function renderRules() {
  const T = t();
  const body = $("rule-list");
  if (!state.rules.length) {
    const tr = el("tr");
    const td = cell(tr, T.no_rules, "empty");
    td.colSpan = 9;
    body.replaceChildren(tr);
    return;
  }
  body.replaceChildren(...state.rules.map((r) => {
    const tr = el("tr", r.id === state.rule ? "current" : null);
    tr.dataset.rule = r.id;
    const doc = r.rule || {};
    const tz = doc.timezone;
    cell(tr, r.id, "mono");
    cell(tr, r.name);
    cell(tr, `${fmtWhen(r.from, tz)} – ${fmtWhen(r.to, tz)}${tz ? ` (${tz})` : ""}`);
    cell(tr, doc.rate == null ? "–" : `${num(doc.rate * 100, 2)} %`, "num");
    cell(tr, doc.per_agent_min == null ? "–" : String(doc.per_agent_min), "num");
    cell(tr, doc.seed || "", "mono seed");
    const sha = cell(tr, r.sha256, "mono sha");
    sha.title = r.sha256;
    cell(tr, `${r.registered_by} · ${fmtWhen(r.registered_at, tz)}`);
    const td = el("td");
    td.append(button("open-rule", T.open, () => openRule(r.id)));
    tr.append(td);
    return tr;
  }));
}

/// The register form, built once per language; what was typed survives a rebuild.
function buildRuleForm() {
  const T = t();
  const f = $("rule-form");
  const kept = Object.fromEntries([...f.querySelectorAll("input")].map((i) => [i.id, i.type === "checkbox" ? i.checked : i.value]));
  f.replaceChildren();
  field(f, "r-id", T.id_opt, input("text", { maxLength: 64, autocomplete: "off" }));
  field(f, "r-name", T.name, input("text", { maxLength: 200, required: true }));
  field(f, "r-from", T.from, input("datetime-local", { required: true }));
  field(f, "r-to", T.to, input("datetime-local", { required: true }));
  field(f, "r-rate", T.rate_pct, input("number", { min: "0.01", max: "100", step: "0.01", value: "3", required: true }));
  field(f, "r-min", T.per_agent_min, input("number", { min: "0", step: "1", value: "3", required: true }));
  const seed = field(f, "r-seed", T.seed, input("text", { maxLength: 200, required: true, autocomplete: "off" }));
  const gen = button("seed-gen", T.seed_gen, () => {
    const b = new Uint8Array(8);
    crypto.getRandomValues(b);
    seed.value = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  });
  seed.parentElement.append(gen);
  field(f, "r-tz", T.timezone, input("text", { maxLength: 64, placeholder: "Asia/Shanghai" }));
  const strata = el("fieldset", "field strata");
  strata.append(el("legend", null, T.strata));
  for (const [k, label] of [["queue", T.s_queue], ["weekday", T.s_weekday], ["hour", T.s_hour]]) {
    const l = el("label", "check");
    const c = input("checkbox", { id: "r-s-" + k, checked: true });
    l.append(c, el("span", null, label));
    strata.append(l);
  }
  f.append(strata);
  field(f, "r-band", T.band, input("number", { min: "0", step: "0.05" }));
  field(f, "r-new", T.new_agents, input("text"));
  field(f, "r-new-factor", T.new_agent_factor, input("number", { min: "1", max: "100", step: "0.5", value: "2" }));
  field(f, "r-watch", T.watch_list, input("text"));
  field(f, "r-watch-factor", T.watch_factor, input("number", { min: "1", max: "100", step: "0.5", value: "2" }));
  for (const [id, v] of Object.entries(kept)) {
    const i = $(id);
    if (!i) continue;
    if (i.type === "checkbox") i.checked = v; else i.value = v;
  }
  const submit = el("button", "primary", T.submit_rule);
  submit.type = "submit";
  submit.id = "rule-submit";
  const msg = el("p", "msg");
  msg.id = "rule-msg";
  msg.setAttribute("role", "status");
  const foot = el("div", "field wide");
  foot.append(submit, msg);
  f.append(foot);
}

const list = (v) => v.split(/[,，\s]+/).map((x) => x.trim()).filter(Boolean);
const isoOf = (local) => (local ? new Date(local).toISOString() : "");

$("rule-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const v = (id) => $(id).value.trim();
  const body = {
    name: v("r-name"), from: isoOf(v("r-from")), to: isoOf(v("r-to")),
    rate: Number(v("r-rate")) / 100, per_agent_min: Number(v("r-min")), seed: v("r-seed"),
    strata: { queue: $("r-s-queue").checked, weekday: $("r-s-weekday").checked, hour: $("r-s-hour").checked },
    new_agents: list(v("r-new")), watch_list: list(v("r-watch")),
  };
  if (v("r-id")) body.id = v("r-id");
  if (v("r-tz")) body.timezone = v("r-tz");
  if (v("r-band")) body.band = Number(v("r-band"));
  if (v("r-new-factor")) body.new_agent_factor = Number(v("r-new-factor"));
  if (v("r-watch-factor")) body.watch_factor = Number(v("r-watch-factor"));
  const msg = $("rule-msg");
  setText(msg, "");
  $("rule-submit").disabled = true;
  try {
    const r = await write("POST", "/api/qa/rules", body);
    msg.className = "msg";
    setText(msg, t().rule_saved(r.id));
    await loadRules();
    await openRule(r.id);
  } catch (err) {
    msg.className = "msg err";
    setText(msg, err.message);
  } finally {
    $("rule-submit").disabled = false;
  }
});

async function loadRules() {
  try {
    state.rules = await read("/api/qa/rules");
  } catch (e) {
    say(e.message);
    state.rules = [];
  }
  renderRules();
}

// ---------------------------------------------------------------------------
// A rule's sample, its verification, its quotas
// ---------------------------------------------------------------------------

async function openRule(id) {
  state.rule = id;
  state.verified = null;
  const url = new URL(location.href);
  url.searchParams.set("rule", id);
  history.replaceState(null, "", url);
  renderRules();
  try {
    state.sample = await read(`/api/qa/rules/${encodeURIComponent(id)}/sample`);
    state.sample.list_sha256 = listSum(state.sample);
  } catch (e) {
    say(e.message);
    state.sample = null;
  }
  renderSample();
  await loadQuotas();
}

function ruleRow() {
  return state.rules.find((r) => r.id === state.rule) || null;
}

function renderSample() {
  const T = t();
  const s = state.sample;
  $("sample").hidden = !s;
  if (!s) return;
  const r = ruleRow();
  const tz = r && r.rule ? r.rule.timezone : undefined;
  setText($("sample-title"), T.sample(s.rule, r ? r.name : s.rule));
  $("sample-csv").href = `/api/qa/rules/${encodeURIComponent(s.rule)}/sample?format=csv`;
  setText($("sample-summary"), T.summary(s.count, s.eligible, s.target));
  const reviewed = new Set(((state.reviews && state.reviews.reviews) || []).map((v) => v.call));
  $("pick-list").replaceChildren(...(s.calls || []).map((c) => {
    const tr = el("tr");
    tr.dataset.call = c.call;
    cell(tr, c.call, "mono");
    cell(tr, c.agent || "–");
    cell(tr, c.queue || "–");
    cell(tr, fmtWhen(c.offered_at, tz));
    cell(tr, fmtDur(c.talk_secs), "num");
    cell(tr, (c.reasons || []).map((x) => T.reasons[x] || x).join(", "), "why");
    const td = el("td", "qa-only");
    if (!reviewed.has(c.call)) td.append(button("score-call", T.score_it, () => scoreCall(c.call)));
    tr.append(td);
    return tr;
  }));
  renderVerified();
}

function renderVerified() {
  const T = t();
  const box = $("verify-result");
  const v = state.verified;
  box.hidden = !v;
  if (!v) return;
  box.dataset.same = String(v.same);
  box.dataset.ruleOk = String(v.ruleOk);
  const line = (label, hex, ok, okText, badText) => {
    const p = el("p", ok ? "ok" : "bad");
    p.append(el("span", null, label + t().colon), el("code", "sha", hex), el("span", null, ` — ${ok ? okText : badText}`));
    return p;
  };
  box.replaceChildren(
    el("p", v.same ? "ok same" : "bad same", v.same ? T.same(v.count) : T.differs),
    line(T.rule_sum, v.published, v.ruleOk, T.sum_ok, T.sum_bad),
    line(T.list_sum, v.second, v.same, T.same(v.count), T.differs),
  );
}

/// Re-runs the rule (the sample fetched again), and checks the published rule
/// body against its published SHA-256: anyone can see the list is the rule's.
$("verify").addEventListener("click", async () => {
  const s = state.sample;
  if (!s) return;
  try {
    const [rule, again] = await Promise.all([
      read(`/api/qa/rules/${encodeURIComponent(s.rule)}`),
      read(`/api/qa/rules/${encodeURIComponent(s.rule)}/sample`),
    ]);
    const second = listSum(again);
    state.verified = {
      same: second === s.list_sha256 && again.sha256 === s.sha256,
      count: (again.calls || []).length,
      published: rule.sha256,
      ruleOk: sha256(rule.body) === rule.sha256 && rule.sha256 === s.sha256,
      second,
    };
  } catch (e) {
    say(e.message);
    state.verified = null;
  }
  renderVerified();
});

async function loadQuotas() {
  if (!state.rule) return;
  try {
    state.quotas = await read(`/api/qa/rules/${encodeURIComponent(state.rule)}/quotas`);
  } catch (e) {
    console.info("quotas", e.message);
    state.quotas = null;
  }
  renderQuotas();
}

function renderQuotas() {
  const T = t();
  const q = state.quotas;
  if (!q) { $("quota-list").replaceChildren(); setText($("under"), ""); return; }
  setText($("under"), q.under.length ? T.under(q.under.join(", ")) : T.all_met);
  $("under").classList.toggle("flag", q.under.length > 0);
  $("quota-list").replaceChildren(...q.agents.map((a) => {
    const tr = el("tr", a.under ? "flag" : null);
    tr.dataset.agent = a.agent;
    cell(tr, a.agent);
    cell(tr, String(a.minimum), "num");
    cell(tr, String(a.picked), "num");
    cell(tr, String(a.reviewed), "num");
    cell(tr, a.under ? T.short : T.met);
    return tr;
  }));
}

// ---------------------------------------------------------------------------
// Reviews and the score form
// ---------------------------------------------------------------------------

async function loadReviews() {
  try {
    const mine = state.me && state.me.role === "viewer" && myName() ? `&agent=${encodeURIComponent(myName())}` : "";
    state.reviews = await read(`/api/qa/reviews?month=${encodeURIComponent(state.month)}${mine}`);
  } catch (e) {
    console.info("reviews", e.message);
    state.reviews = null;
  }
  renderReviews();
}

function renderReviews() {
  const T = t();
  const v = state.reviews;
  const reviews = (v && v.reviews) || [];
  const m = v && v.score;
  setText($("monthly"), m ? T.monthly(num(m.mean), gradeLabel(m.grade), num(m.review_part)) : T.no_reviews);
  const appealed = new Set(state.appeals.map((a) => a.review));
  $("review-list").replaceChildren(...reviews.map((r) => {
    const tr = el("tr");
    tr.dataset.review = String(r.id);
    tr.dataset.call = r.call;
    cell(tr, "#" + r.id, "num");
    cell(tr, r.call, "mono");
    cell(tr, r.agent);
    cell(tr, r.reviewer);
    cell(tr, fmtWhen(r.reviewed_at));
    cell(tr, (r.deductions || []).map((d) => `${itemName(d.item)} −${num(d.points)}`).join(", ") || "–", "deductions");
    cell(tr, num(r.score), "num score");
    cell(tr, gradeLabel(r.grade), "grade grade-" + r.grade);
    const td = el("td");
    if (appealed.has(r.id)) {
      td.append(el("span", "muted", T.appealed));
    } else if ((r.deductions || []).length && (r.agent === myName() || may("incidents"))) {
      td.append(button("appeal", T.appeal, () => openAppeal(r)));
    }
    tr.append(td);
    return tr;
  }));
  renderAppealForm();
  if (state.sample) renderSample();
}

$("month").addEventListener("change", () => {
  state.month = $("month").value || state.month;
  const url = new URL(location.href);
  url.searchParams.set("month", state.month);
  history.replaceState(null, "", url);
  renderLinks();
  loadReviews();
});

function scoreCall(call) {
  $("score").open = true;
  $("s-call").value = call;
  updatePreview();
  $("score-form").scrollIntoView({ block: "nearest" });
}

function buildScoreForm() {
  const T = t();
  const f = $("score-form");
  const kept = Object.fromEntries([...f.querySelectorAll("input, textarea")].map((i) => [i.id, i.value]));
  f.replaceChildren();
  field(f, "s-call", T.score_call, input("text", { required: true, autocomplete: "off" }));
  const items = el("fieldset", "field items");
  items.append(el("legend", null, T.deductions));
  for (const it of (state.sheet && state.sheet.items) || []) {
    const row = el("div", "item");
    const id = "s-item-" + it.id;
    const l = el("label", null, (lang === "zh-CN" ? it.zh : it.en) + T.max(num(it.points)));
    l.htmlFor = id;
    const i = input("number", { id, min: "0", max: String(it.points), step: "0.5", value: "0" });
    i.dataset.item = it.id;
    i.oninput = updatePreview;
    row.append(l, i);
    items.append(row);
  }
  f.append(items);
  const note = el("textarea");
  note.rows = 2;
  note.maxLength = 1000;
  field(f, "s-note", T.note, note);
  for (const [id, v] of Object.entries(kept)) if ($(id)) $(id).value = v;
  const preview = el("p", "big preview");
  preview.id = "s-preview";
  const submit = el("button", "primary", T.submit_score);
  submit.type = "submit";
  submit.id = "score-submit";
  const msg = el("p", "msg");
  msg.id = "score-msg";
  msg.setAttribute("role", "status");
  f.append(preview, submit, msg);
  updatePreview();
}

function deductions() {
  return [...document.querySelectorAll("#score-form input[data-item]")]
    .map((i) => ({ item: i.dataset.item, points: Number(i.value) }))
    .filter((d) => d.points > 0);
}

/// The score the deductions leave and its grade band, before it is saved.
function updatePreview() {
  const p = $("s-preview");
  if (!p) return;
  const s = Math.max(0, 100 - deductions().reduce((a, d) => a + d.points, 0));
  setText(p, t().preview(num(s), gradeLabel(gradeOf(s))));
  p.className = "big preview grade-" + gradeOf(s);
}

$("score-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const msg = $("score-msg");
  setText(msg, "");
  const body = { call: $("s-call").value.trim(), deductions: deductions() };
  // A call of the open rule's sample is reviewed under that rule (the server checks it picked it).
  if (state.sample && (state.sample.calls || []).some((c) => c.call === body.call)) body.rule = state.sample.rule;
  const note = $("s-note").value.trim();
  if (note) body.note = note;
  $("score-submit").disabled = true;
  try {
    const r = await write("POST", "/api/qa/reviews", body);
    msg.className = "msg";
    setText(msg, t().scored(num(r.score), gradeLabel(r.grade)));
    for (const i of document.querySelectorAll("#score-form input[data-item]")) i.value = "0";
    $("s-call").value = "";
    $("s-note").value = "";
    updatePreview();
    await loadReviews();
    await loadQuotas();
  } catch (err) {
    msg.className = "msg err";
    setText(msg, err.message);
  } finally {
    $("score-submit").disabled = false;
  }
});

// ---------------------------------------------------------------------------
// Appeals
// ---------------------------------------------------------------------------

function openAppeal(review) {
  state.appealing = review;
  renderAppealForm();
  $("appeal-form").scrollIntoView({ block: "nearest" });
}

function renderAppealForm() {
  const T = t();
  const f = $("appeal-form");
  const r = state.appealing;
  f.hidden = !r;
  if (!r) { f.replaceChildren(); return; }
  const kept = $("a-reason") ? $("a-reason").value : "";
  f.replaceChildren(el("h3", null, T.appeal_title(r.id)));
  const items = el("fieldset", "field items");
  items.append(el("legend", null, T.appeal_items));
  for (const d of r.deductions || []) {
    const l = el("label", "check");
    const c = input("checkbox", { id: "a-item-" + d.item });
    c.dataset.item = d.item;
    l.append(c, el("span", null, `${itemName(d.item)} −${num(d.points)}`));
    items.append(l);
  }
  f.append(items);
  const reason = el("textarea");
  reason.rows = 3;
  reason.maxLength = 2000;
  field(f, "a-reason", T.reason, reason).value = kept;
  const buttons = el("div", "buttons-row");
  const submit = el("button", "primary", T.file_appeal);
  submit.type = "submit";
  submit.id = "appeal-submit";
  buttons.append(submit, button("appeal-cancel", T.cancel, () => { state.appealing = null; renderAppealForm(); }));
  const msg = el("p", "msg");
  msg.id = "appeal-msg";
  msg.setAttribute("role", "status");
  f.append(buttons, msg);
}

$("appeal-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const r = state.appealing;
  if (!r) return;
  const items = [...document.querySelectorAll("#appeal-form input[data-item]")].filter((c) => c.checked).map((c) => c.dataset.item);
  try {
    await write("POST", `/api/qa/reviews/${r.id}/appeal`, { items, reason: $("a-reason").value });
    state.appealing = null;
    say(t().saved);
    await loadAppeals();
  } catch (err) {
    const msg = $("appeal-msg");
    msg.className = "msg err";
    setText(msg, err.message);
  }
});

async function loadAppeals() {
  try {
    const mine = state.me && state.me.role === "viewer" && myName() ? `?agent=${encodeURIComponent(myName())}` : "";
    state.appeals = await read(`/api/qa/appeals${mine}`);
  } catch (e) {
    console.info("appeals", e.message);
    state.appeals = [];
  }
  renderAppeals();
  renderReviews();
}

/// What the appeal went through, who and when, one line a step.
function path(a) {
  const T = t();
  const steps = [T.step_filed(a.agent, fmtWhen(a.filed_at))];
  if (a.lead_at) steps.push(T.step_lead(a.status === "rejected" ? "rejected" : "accepted", a.lead || "?", fmtWhen(a.lead_at)));
  if (a.decided_at && a.panel) {
    const d = a.status === "amended" ? T.amended_to(num(a.score)) : T.upheld;
    steps.push(T.step_decided(a.panel, fmtWhen(a.decided_at), d));
  }
  const ol = el("ol", "path");
  for (const s of steps) ol.append(el("li", null, s));
  return ol;
}

function renderAppeals() {
  const T = t();
  const box = $("appeal-list");
  if (!state.appeals.length) { box.replaceChildren(el("li", "empty", T.no_appeals)); return; }
  box.replaceChildren(...state.appeals.map((a) => {
    const li = el("li", "appeal st-" + a.status);
    li.dataset.appeal = String(a.id);
    li.dataset.review = String(a.review);
    const head = el("div", "head");
    head.append(el("b", null, T.appeal_n(a.id, a.review)), el("span", null, ` · ${a.agent} · `),
      el("span", "a-status", T.statuses[a.status] || a.status));
    li.append(head);
    li.append(el("p", "a-items", `${T.appeal_items}${T.colon}${(a.items || []).map(itemName).join(lang === "zh-CN" ? "、" : ", ")}`));
    li.append(el("p", "a-reason", `${T.reason}${T.colon}${a.reason}`));
    if (a.note) li.append(el("p", "muted", `${T.note}${T.colon}${a.note}`));
    li.append(path(a));
    if (a.status === "filed" && may("ack")) {
      const row = el("div", "buttons-row lead-only");
      const note = input("text", { className: "a-note", placeholder: T.note, maxLength: 500 });
      const step = (to) => act(`/api/qa/appeals/${a.id}/${to}`, note.value.trim() ? { note: note.value.trim() } : {});
      row.append(note, button("a-accept", T.accept, () => step("accept"), true), button("a-reject", T.reject, () => step("reject")));
      li.append(row);
    } else if (a.status === "accepted" && may("incidents")) {
      li.append(decideForm(a));
    }
    return li;
  }));
}

function decideForm(a) {
  const T = t();
  const f = el("form", "decide qa-only");
  const sel = el("select", "d-decision");
  for (const [v, label] of [["upheld", T.upheld], ["amended", T.amend]]) {
    const o = el("option", null, label);
    o.value = v;
    sel.append(o);
  }
  const score = input("number", { className: "d-score", min: "0", max: "100", step: "0.5" });
  const qa = input("text", { className: "d-qa", maxLength: 64, required: true });
  const note = input("text", { className: "d-note", maxLength: 500 });
  const labelled = (text, i) => { const l = el("label", "field"); l.append(el("span", null, text), i); return l; };
  const submit = el("button", "primary d-submit", T.decide);
  submit.type = "submit";
  f.append(labelled(T.decision, sel), labelled(T.new_score, score), labelled(T.qa_member, qa), labelled(T.note, note), submit);
  const sync = () => { score.disabled = sel.value !== "amended"; };
  sel.onchange = sync;
  sync();
  f.onsubmit = (e) => {
    e.preventDefault();
    const body = { decision: sel.value, qa: qa.value.trim() };
    if (sel.value === "amended") body.score = Number(score.value);
    if (note.value.trim()) body.note = note.value.trim();
    act(`/api/qa/appeals/${a.id}/decide`, body);
  };
  return f;
}

async function act(path, body) {
  try {
    await write("POST", path, body);
    say(t().saved);
  } catch (e) {
    say(e.message);
  }
  await loadAppeals();
}

// ---------------------------------------------------------------------------
// Start, language, the token
// ---------------------------------------------------------------------------

async function loadAll() {
  delete document.body.dataset.loaded;
  try {
    state.sheet = await read("/api/qa/sheet");
  } catch (e) {
    console.info("sheet", e.message);
  }
  buildScoreForm();
  await loadRules();
  if (state.rule && state.rules.some((r) => r.id === state.rule)) await openRule(state.rule);
  await loadAppeals();
  document.body.dataset.loaded = "1";
}

function rerender() {
  // A message in the other language would stay behind: gone with the switch.
  say("");
  labels();
  buildRuleForm();
  buildScoreForm();
  renderRules();
  renderSample();
  renderQuotas();
  renderReviews();
  renderAppeals();
}

$("change-token").addEventListener("click", async () => {
  if (await askToken(t().token_why) == null) return;
  say("");
  await whoami();
  await loadAll();
});

$("month").value = state.month;
wireLangToggle($("lang-toggle"), rerender);
labels();
buildRuleForm();
await whoami();
await loadAll();
