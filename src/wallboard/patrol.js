// The lead page's patrol button (现场巡视): one tap logs a patrol of the team
// picked above (POST /api/patrols), and the button shows the last patrol, turning
// red while the team's patrol is overdue. Text only, never HTML.

import { lang, el, setText } from "./common.js";
import { send, writeToken } from "./incidents.js";

const TEXT = {
  "zh-CN": { done: "已巡视", ago: (m) => `（${m} 分钟前）`, overdue: "巡视超时", saved: "巡视已记录" },
  en: { done: "Patrol done", ago: (m) => ` (${m} min ago)`, overdue: "Patrol overdue", saved: "Patrol logged" },
};
const t = () => TEXT[lang] || TEXT.en;
const team = () => { const s = document.getElementById("team"); return s ? s.value : ""; };

const btn = el("button", "patrol");
btn.type = "button";
btn.id = "patrol-done";
const bar = document.querySelector("header.bar");
if (bar) bar.insertBefore(btn, bar.querySelector(".spacer"));
let standing = null;

function render() {
  const T = t();
  const mine = standing && standing.teams ? standing.teams.find((x) => x.team === team()) : null;
  btn.classList.toggle("overdue", !!(mine && mine.overdue));
  const ago = mine && mine.mins_since != null ? T.ago(mine.mins_since) : "";
  setText(btn, (mine && mine.overdue ? T.overdue + " · " : "") + T.done + ago);
  btn.hidden = !team();
}

async function poll() {
  try {
    const token = writeToken();
    const res = await fetch("/api/patrols/teams", { headers: token ? { Authorization: "Bearer " + token } : {} });
    if (res.ok) standing = await res.json();
  } catch { /* offline: the button still works when the floor is back */ }
  render();
}

btn.onclick = async () => {
  try {
    await send("POST", "/api/patrols", { team: team() });
    btn.title = t().saved;
  } catch (e) {
    btn.title = e.message;
  }
  await poll();
};
document.addEventListener("change", (e) => { if (e.target && e.target.id === "team") render(); });
// The page's toggle switches the language first (its listener came first).
const toggle = document.getElementById("lang-toggle");
if (toggle) toggle.addEventListener("click", () => render());
poll();
setInterval(poll, 5000);
