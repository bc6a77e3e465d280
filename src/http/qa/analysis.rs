//! The monthly QA analysis (监听分析表) over HTTP, and its approval (the JSON
//! shapes are in `http::qa`'s header; the figures' definitions in
//! `qa::analysis`). Read by leads and above (it names every agent's scores);
//! approved once per month, after the month, by a supervisor (the director).

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::super::admin::{AdminWrite, Author, WriteBody};
use super::super::auth::read_actor;
use super::super::incidents::{local, store_error};
use super::super::{ApiError, AppState};
use super::rotation::month_param;
use super::{DeductionDoc, Lang, escape, html_page};
use crate::access::{Can, Role};
use crate::event::format_ts;
use crate::qa::Month;
use crate::qa::analysis::{self, BANDS, Deadline, Group, Level, Reviewed};
use crate::qa::config::SheetItem;
use crate::qa::score::Grade;
use crate::store::qa::{ApprovalRow, Approved};

#[derive(Debug, Deserialize)]
pub(crate) struct AnalysisQuery {
    month: Option<String>,
    format: Option<String>,
    lang: Option<String>,
}

/// Everything the JSON and the page show.
struct Sheet {
    month: Month,
    range: (i64, i64),
    due_by: i64,
    approval: Option<ApprovalRow>,
    deadline: Deadline,
    groups: Vec<Group>,
}

fn range_of(st: &AppState, month: Month) -> Result<((i64, i64), i64), ApiError> {
    let bad = || ApiError::field(StatusCode::BAD_REQUEST, "month", "no such month in the floor's zone");
    let range = month.range(st.timezone).ok_or_else(bad)?;
    let due = analysis::due_by(month, st.timezone).ok_or_else(bad)?;
    Ok((range, due))
}

async fn sheet(st: &AppState, month: Month) -> Result<Sheet, ApiError> {
    let (range, due_by) = range_of(st, month)?;
    let store = &st.incidents.store;
    let reviews = store.list_reviews(None, Some(range.0), Some(range.1)).await.map_err(store_error)?;
    let appeals = store.list_appeals(None).await.map_err(store_error)?;
    let approval = store.get_approval(month.to_string()).await.map_err(store_error)?;
    let reviewed: Vec<Reviewed<'_>> = reviews
        .iter()
        .map(|r| {
            let d: Vec<DeductionDoc> = serde_json::from_str(&r.deductions).unwrap_or_default();
            Reviewed { review: r, deductions: d.into_iter().map(|d| (d.item, d.points)).collect() }
        })
        .collect();
    let snap = st.snapshot.borrow().clone();
    let team_of = |a: &str| {
        snap.agents.iter().find(|x| x.id.as_str() == a).and_then(|x| x.team.as_ref()).map(|t| t.to_string())
    };
    let groups = analysis::groups(&reviewed, &appeals, &team_of);
    let deadline = Deadline::of(approval.as_ref().map(|a| a.approved_at), due_by, st.incidents.now_ms());
    Ok(Sheet { month, range, due_by, approval, deadline, groups })
}

fn approval_json(a: &ApprovalRow) -> Value {
    json!({"month": a.month, "by": a.approved_by, "at": format_ts(a.approved_at), "note": a.note})
}

fn group_json(g: &Group) -> Value {
    let grades: serde_json::Map<String, Value> =
        BANDS.iter().zip(g.grades).map(|(b, n)| (b.as_str().to_owned(), json!(n))).collect();
    let ap = g.appeals;
    json!({
        "level": g.level.as_str(), "id": g.id, "reviews": g.reviews, "mean": g.mean,
        "grade": g.mean.map(|m| Grade::of(m).as_str()), "grades": grades,
        "deducted": g.deducted.iter().map(|d| json!({"item": d.item, "times": d.times, "points": d.points})).collect::<Vec<_>>(),
        "appeals": {"total": ap.total(), "filed": ap.filed, "accepted": ap.accepted, "rejected": ap.rejected,
                    "upheld": ap.upheld, "amended": ap.amended},
    })
}

fn sheet_json(s: &Sheet) -> Value {
    json!({
        "month": s.month.to_string(), "from": format_ts(s.range.0), "to": format_ts(s.range.1),
        "due_by": format_ts(s.due_by), "approval": s.approval.as_ref().map(approval_json),
        "deadline": s.deadline.as_str(),
        "in_time": match s.deadline { Deadline::InTime => Some(true), Deadline::Late => Some(false), _ => None },
        "groups": s.groups.iter().map(group_json).collect::<Vec<_>>(),
    })
}

fn item_name(sheet: &[SheetItem], id: &str, lang: Lang) -> String {
    sheet.iter().find(|s| s.id == id).map_or_else(|| id.to_owned(), |s| lang.pick(&s.zh, &s.en).to_owned())
}

/// The printable page: a heading with the deadline and the approval, the grade
/// bands, then one table per level.
fn sheet_html(s: &Sheet, sheet: &[SheetItem], tz: chrono_tz::Tz, lang: Lang) -> String {
    let l = |zh: &'static str, en: &'static str| lang.pick(zh, en);
    let title = format!("{} · {}", l("监听分析表", "Monthly QA analysis"), s.month);
    let mut body = format!("<h1>{}</h1><p class=\"meta\">", escape(&title));
    body.push_str(&format!("{}: {}", l("审批截止", "Due by"), escape(&local(s.due_by, tz))));
    match &s.approval {
        Some(a) => body.push_str(&format!(
            " · {}: {} · {} · {}",
            l("审批人", "Approved by"),
            escape(&a.approved_by),
            escape(&local(a.approved_at, tz)),
            if s.deadline == Deadline::InTime { l("按时", "in time") } else { l("逾期", "late") }
        )),
        None => body.push_str(&format!(
            " · {}",
            if s.deadline == Deadline::Overdue {
                l("未审批（已逾期）", "not approved (overdue)")
            } else {
                l("待审批", "awaiting approval")
            }
        )),
    }
    body.push_str("</p>");
    body.push_str(&super::grade_legend(lang));
    let heads = [
        l("对象", "Who"),
        l("监听数", "Reviews"),
        l("平均分", "Mean score"),
        l("等级", "Grade"),
        Grade::Excellent.name(lang.zh()),
        Grade::Good.name(lang.zh()),
        Grade::NeedsImprovement.name(lang.zh()),
        Grade::Fail.name(lang.zh()),
        l("主要扣分项", "Most deducted"),
        l("申诉", "Appeals"),
        l("改判", "Amended"),
        l("维持", "Upheld"),
        l("驳回", "Rejected"),
        l("处理中", "Open"),
    ];
    for (level, name) in [
        (Level::Floor, l("全场", "Floor")),
        (Level::Team, l("班组", "Teams")),
        (Level::Agent, l("坐席", "Agents")),
    ] {
        body.push_str(&format!("<h2>{name}</h2><table><thead><tr>"));
        for h in heads {
            body.push_str(&format!("<th>{}</th>", escape(h)));
        }
        body.push_str("</tr></thead><tbody>");
        for g in s.groups.iter().filter(|g| g.level == level) {
            let who = if level == Level::Floor { l("全场", "Floor").to_owned() } else { g.id.clone() };
            let top: Vec<String> = g
                .deducted
                .iter()
                .take(3)
                .map(|d| format!("{} ×{}", item_name(sheet, &d.item, lang), d.times))
                .collect();
            let mut cells = vec![
                who,
                g.reviews.to_string(),
                g.mean.map(|m| format!("{m:.1}")).unwrap_or_default(),
                g.mean.map(|m| Grade::of(m).name(lang.zh()).to_owned()).unwrap_or_default(),
            ];
            cells.extend(g.grades.iter().map(u32::to_string));
            cells.push(top.join(l("、", ", ")));
            let ap = g.appeals;
            cells.extend(
                [ap.total(), ap.amended, ap.upheld, ap.rejected, ap.filed + ap.accepted]
                    .map(|n| n.to_string()),
            );
            body.push_str("<tr>");
            for c in cells {
                body.push_str(&format!("<td>{}</td>", escape(&c)));
            }
            body.push_str("</tr>");
        }
        body.push_str("</tbody></table>");
    }
    html_page(lang, &title, &body)
}

/// `GET /api/qa/analysis?month=YYYY-MM[&format=json|html&lang=zh-CN|en]`.
pub(crate) async fn get(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<AnalysisQuery>,
) -> Result<Response, ApiError> {
    let actor = read_actor(&st, &headers, peer);
    if actor.role < Role::Lead {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("{} may read only their own reviews, not the month's analysis", actor.name),
        ));
    }
    let month = month_param(&st, q.month.as_deref(), st.incidents.now_ms())?;
    let lang = Lang::parse(q.lang.as_deref())?;
    let s = sheet(&st, month).await?;
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(sheet_json(&s)).into_response()),
        Some("html") => {
            let page = sheet_html(&s, &st.qa.sheet, st.timezone, lang);
            Ok(([(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response())
        }
        Some(_) => Err(ApiError::field(StatusCode::BAD_REQUEST, "format", "must be json or html")),
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApproveBody {
    note: Option<String>,
    by: Option<String>,
}

impl WriteBody for ApproveBody {
    type Valid = Option<String>;
    // The director's approval: supervisors, like the rest of QA's decisions.
    const NEEDS: Can = Can::Incidents;

    fn take_by(&mut self) -> Option<String> {
        self.by.take()
    }

    fn validate(self, _: &Author) -> Result<Option<String>, ApiError> {
        Ok(self.note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()))
    }
}

/// `POST /api/qa/analysis/{month}/approve`: once, after the month is over;
/// answered after COMMIT with the analysis as approved.
pub(crate) async fn approve(
    State(st): State<AppState>,
    Path(month): Path<String>,
    w: AdminWrite<ApproveBody>,
) -> Result<Response, ApiError> {
    let AdminWrite { body: note, author } = w;
    let month = Month::parse(&month)
        .ok_or_else(|| ApiError::field(StatusCode::BAD_REQUEST, "month", "must be YYYY-MM"))?;
    let (range, _) = range_of(&st, month)?;
    if author.at < range.1 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("{month} is not over: its analysis is approved after its last day"),
        ));
    }
    let row = ApprovalRow {
        month: month.to_string(),
        approved_at: author.at,
        approved_by: author.actor.clone(),
        note: author.note_with_by(note),
    };
    let audit = author.into_audit("qa.analysis.approve", Some(format!("analysis:{month}")));
    match st.incidents.store.approve_analysis(row, audit).await.map_err(store_error)? {
        Approved::Done(_) => {
            Ok((StatusCode::CREATED, Json(sheet_json(&sheet(&st, month).await?))).into_response())
        }
        Approved::Already(a) => Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("{month} was approved by {} at {}", a.approved_by, format_ts(a.approved_at)),
        )),
    }
}
