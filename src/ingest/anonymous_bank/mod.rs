//! The Technion SEE "Anonymous Bank" call log (one tab-separated record per call,
//! February 1999 in `shared/data/anonymous-bank-1999/`) as floorwatch events.
//!
//! Pure: text in, [`Event`]s out, in time order, with a summary of the file's own
//! figures ([`Totals`]) so a replay's counts can be checked against the data set's.
//! A row that cannot be read is rejected with its line number and a counted reason
//! ([`RowRejection`]); nothing in the input can make [`read`] panic.
//!
//! The file: a header line, then one row per call of 17 tab-separated fields (see
//! [`COLUMNS`]), CRLF line endings, sorted by VRU line and date, not by time. Times
//! are `H:MM:SS` local Israeli time on the row's `date` (`YYMMDD`, the arrival's);
//! `0:00:00` means "did not happen"; outcome `AGENT` (served), `HANG` (abandoned, in
//! the VRU or the queue) or `PHANTOM` (virtual, ignored).
//!
//! The data set logs calls only. Agent presence (login, ready, after-call work,
//! logout) is inferred from the calls each agent served; every inference is listed,
//! in English and zh-CN, in [`INFERENCES`] so a report can say what was not in the
//! data and how floorwatch filled it in.

use std::collections::BTreeMap;

use chrono::{LocalResult, NaiveDate, NaiveDateTime, TimeDelta, TimeZone};
use chrono_tz::Asia::Jerusalem;

use crate::event::{AgentState, Event, EventKind, Id, Ts};

#[cfg(test)]
mod tests;

/// The data set's pseudo-agent for served calls with no agent logged.
pub const NO_SERVER: &str = "NO_SERVER";

/// The columns this reader needs, as the file's header names them. Their order is
/// taken from the header, so a file with its columns reordered (or extra ones) reads.
pub const COLUMNS: [&str; 17] = [
    "vru+line",
    "call_id",
    "customer_id",
    "priority",
    "type",
    "date",
    "vru_entry",
    "vru_exit",
    "vru_time",
    "q_start",
    "q_exit",
    "q_time",
    "outcome",
    "ser_start",
    "ser_exit",
    "ser_time",
    "server",
];

const MS: i64 = 1000;
const HALF_DAY_SECS: i64 = 12 * 3600;
const DAY_SECS: i64 = 24 * 3600;

/// The data set's service types (its `type` column), each one floorwatch queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    /// `PS`: regular activity.
    Regular,
    /// `PE`: regular activity in English.
    English,
    /// `IN`: internet (online banking) support.
    Internet,
    /// `NE`: stock exchange.
    Stocks,
    /// `NW`: prospective customers.
    Prospects,
    /// `TT`: a callback the system returned but then put on hold.
    Callback,
}

impl Service {
    pub const ALL: [Service; 6] = [
        Service::Regular,
        Service::English,
        Service::Internet,
        Service::Stocks,
        Service::Prospects,
        Service::Callback,
    ];

    /// The data set's own code (`type` column).
    pub fn code(self) -> &'static str {
        match self {
            Service::Regular => "PS",
            Service::English => "PE",
            Service::Internet => "IN",
            Service::Stocks => "NE",
            Service::Prospects => "NW",
            Service::Callback => "TT",
        }
    }

    pub fn from_code(code: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The floorwatch queue id its calls are offered to.
    pub fn queue_id(self) -> &'static str {
        match self {
            Service::Regular => "regular",
            Service::English => "english",
            Service::Internet => "internet",
            Service::Stocks => "stocks",
            Service::Prospects => "prospects",
            Service::Callback => "callback",
        }
    }

    pub fn from_queue_id(id: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|s| s.queue_id() == id)
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Service::Regular => "Regular service",
            Service::English => "Regular service in English",
            Service::Internet => "Internet support",
            Service::Stocks => "Stock exchange",
            Service::Prospects => "Prospective customers",
            Service::Callback => "Callbacks put on hold",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Service::Regular => "普通业务",
            Service::English => "英语普通业务",
            Service::Internet => "网上银行支持",
            Service::Stocks => "证券交易",
            Service::Prospects => "潜在客户",
            Service::Callback => "回拨后等待",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    fn bit(self) -> u8 {
        1 << self.index()
    }
}

/// How the presence that the data does not log is inferred. The defaults are the
/// ones [`INFERENCES`] describes.
#[derive(Debug, Clone)]
pub struct Options {
    /// `source` of every event.
    pub source: Id,
    /// An agent logs in this long before the first call of a session.
    pub login_lead_secs: u32,
    /// An agent logs out this long after the last call of a session.
    pub logout_lag_secs: u32,
    /// A gap between an agent's calls longer than this ends the session.
    pub session_gap_secs: u32,
    /// Infer after-call work where the data supports it (see [`INFERENCES`]).
    pub infer_acw: bool,
    /// A caller must still be waiting this long after a call ends for ACW to be inferred.
    pub acw_min_wait_secs: u32,
    /// Longest inferred ACW.
    pub acw_max_secs: u32,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            source: Id::const_new("anonymous-bank"),
            login_lead_secs: 300,
            logout_lag_secs: 300,
            session_gap_secs: 1800,
            infer_acw: true,
            acw_min_wait_secs: 5,
            acw_max_secs: 600,
        }
    }
}

impl Options {
    fn check(&self) -> Result<(), Error> {
        if self.source.is_empty() {
            return Err(Error::Options("source must not be empty"));
        }
        // A session's logout (at most max(logout_lag, acw_max) after its last call)
        // must come before the next session's login, or an agent would log in twice.
        let tail = u64::from(self.logout_lag_secs.max(self.acw_max_secs));
        if u64::from(self.session_gap_secs) <= u64::from(self.login_lead_secs) + tail {
            return Err(Error::Options(
                "session_gap_secs must exceed login_lead_secs + max(logout_lag_secs, acw_max_secs)",
            ));
        }
        Ok(())
    }
}

/// A whole-input failure: the input is not an Anonymous Bank file at all, or the
/// options contradict themselves. Bad rows are not errors (see [`RowRejection`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("the input is empty: an Anonymous Bank file starts with its header line")]
    Empty,
    #[error("the header line has no `{0}` column: is this an Anonymous Bank file?")]
    MissingColumn(&'static str),
    #[error("the header line names `{0}` twice")]
    DuplicateColumn(&'static str),
    #[error("invalid anonymous-bank options: {0}")]
    Options(&'static str),
}

/// Why a row was refused. `as_label` is a bounded set, fit for a counter's label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RowReason {
    /// Not as many tab-separated fields as the header.
    FieldCount,
    EmptyField,
    /// `date` is not a valid `YYMMDD`.
    BadDate,
    /// A time is not `H:MM:SS` within a day.
    BadTime,
    /// A number (`call_id`, `priority`, a duration) is not one, or a duration is negative.
    BadNumber,
    /// `type` is none of the six service types.
    UnknownType,
    /// `outcome` is none of `AGENT`, `HANG`, `PHANTOM`.
    UnknownOutcome,
}

impl RowReason {
    pub fn as_label(self) -> &'static str {
        match self {
            RowReason::FieldCount => "field_count",
            RowReason::EmptyField => "empty_field",
            RowReason::BadDate => "bad_date",
            RowReason::BadTime => "bad_time",
            RowReason::BadNumber => "bad_number",
            RowReason::UnknownType => "unknown_type",
            RowReason::UnknownOutcome => "unknown_outcome",
        }
    }
}

impl std::fmt::Display for RowReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_label())
    }
}

/// A refused row. Small and allocation-free (the value is cut to what an [`Id`]
/// holds inline), so a file of garbage costs memory in proportion to its lines only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowRejection {
    /// 1-based line number in the input (the header is line 1).
    pub line: usize,
    pub reason: RowReason,
    /// The column at fault, when one is.
    pub field: Option<&'static str>,
    /// The start of the offending value (or of the line, for a field count).
    pub value: Id,
}

/// One inference: what the data does not say and how the reader fills it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inference {
    pub key: &'static str,
    pub en: &'static str,
    pub zh: &'static str,
}

/// Everything the reader infers or decides beyond the data set's own columns, for
/// the replay report (with the default [`Options`]).
pub const INFERENCES: &[Inference] = &[
    Inference {
        key: "local_time",
        en: "Times are local Israeli time (Asia/Jerusalem) converted to UTC. A time of day more than 12 h \
             before the call's arrival (vru_entry) is on the next day, so spans that cross midnight end \
             the next day; one more than 12 h after it is on the day before. A local time skipped by a \
             daylight-saving change is read with the offset in force before it; a repeated one as its \
             first occurrence.",
        zh: "时间为以色列当地时间（Asia/Jerusalem），换算为 UTC。比来电进入 IVR 时刻（vru_entry）早 12 小时以上的\
             时刻算作次日，因此跨午夜的通话在次日结束；晚 12 小时以上的算作前一日。夏令时跳过的时刻按切换前的时差\
             解读，重复的时刻取第一次。",
    },
    Inference {
        key: "zero_time",
        en: "0:00:00 means \"did not happen\", unless the span's other end or its duration shows it did \
             happen, at midnight (one February call queued at 0:00:00 exactly).",
        zh: "0:00:00 表示“未发生”；但若该时段的另一端或时长表明它确实发生过，则取午夜（二月有一通电话恰在 \
             0:00:00 进入队列）。",
    },
    Inference {
        key: "offered",
        en: "A call is offered to the queue of its type (PS regular, PE English, IN internet, NE stocks, NW \
             prospects, TT callback) when it joined the agents' queue (q_start), or, when it went straight \
             to an agent, at its answer. A caller who hung up in the VRU (IVR) never reached the floor: \
             counted as an IVR abandon, no event.",
        zh: "来电在进入坐席队列时（q_start）、或直接转坐席时在接听时刻，提供给其业务类型对应的队列（PS 普通、PE \
             英语、IN 网银、NE 证券、NW 潜在客户、TT 回拨）。在 IVR 中挂断的来电从未到达坐席：计为 IVR 放弃，不产生事件。",
    },
    Inference {
        key: "answered",
        en: "A queued call is answered at q_exit, so its wait is the data set's q_time; a direct call at \
             ser_start (at vru_exit when no service time was logged). It ends at ser_exit, never before \
             its answer (ser_start is often 0-2 s before q_exit).",
        zh: "排队的来电在 q_exit 时刻接听，因此其等待时长即数据集的 q_time；直接转坐席的在 ser_start 接听（未记录\
             服务时间时取 vru_exit）。通话在 ser_exit 结束，且不早于接听（ser_start 常比 q_exit 早 0-2 秒）。",
    },
    Inference {
        key: "abandoned",
        en: "A HANG that queued is abandoned at q_exit; the service times some HANG rows carry are ignored, \
             as the data set counts those calls abandoned.",
        zh: "进入队列后挂断（HANG）的来电在 q_exit 记为放弃；少数 HANG 记录带有服务时间，按数据集的口径仍计为放弃，\
             服务时间忽略。",
    },
    Inference {
        key: "phantom",
        en: "PHANTOM rows (virtual calls) are ignored and counted.",
        zh: "PHANTOM 记录（虚拟来电）忽略，只计数。",
    },
    Inference {
        key: "no_server",
        en: "Served calls with server NO_SERVER are answered by the pseudo-agent NO_SERVER, present only \
             while it has a call: logged out as soon as its calls end, never ready, never in ACW.",
        zh: "server 为 NO_SERVER 的已接来电由虚拟坐席 NO_SERVER 接听；它只在有通话时在线，通话一结束即签出，\
             从不空闲，也没有话后处理。",
    },
    Inference {
        key: "session",
        en: "An agent seen serving calls logs in (ready) 5 min before the first call of a session and logs \
             out 5 min after its last call, or when its inferred ACW ends if later. A gap of more than \
             30 min between two calls ends a session (a break, a split shift, the night).",
        zh: "有接听记录的坐席在每个班段第一通电话前 5 分钟签入（空闲），在最后一通电话后 5 分钟签出（若推断的话后\
             处理更晚结束，则在其结束时签出）。两通电话间隔超过 30 分钟即视为班段结束（休息、分段班、夜间）。",
    },
    Inference {
        key: "talking",
        en: "An agent is talking from each answer to the call's end; an agent's overlapping calls (the data \
             has a few hundred) make one busy period.",
        zh: "坐席从每次接听到通话结束处于通话态；同一坐席时间重叠的通话（数据中有数百对）合为一段忙碌期。",
    },
    Inference {
        key: "acw",
        en: "After-call work is not in the data. It is inferred after a call only when the data shows the \
             agent was not taking calls: a caller of a queue the agent served in that session was waiting \
             when the call ended and was still waiting 5 s later, and the agent had not answered another \
             call by then. The ACW then lasts until the agent's next answer, until no such caller waits, or \
             10 min, whichever comes first. Otherwise the agent is ready as soon as the call ends.",
        zh: "数据中没有话后处理。仅当数据表明坐席当时未接听来电时才推断：通话结束时，有该坐席本班段服务过的队列的\
             来电在等待，5 秒后仍在等待，且坐席在这 5 秒内没有再接听。话后处理持续到该坐席下一次接听、不再有此类来电等待、或满 10 分钟，\
             以先到者为准。否则通话一结束坐席即为空闲。",
    },
    Inference {
        key: "ready",
        en: "Between calls an agent not in ACW is ready. No not_ready (break) is inferred: the data cannot \
             tell a break from idle time, and a guessed break would raise busy-overrun alerts the floor \
             never saw.",
        zh: "两通电话之间、不在话后处理的坐席为空闲。不推断示忙（休息）：数据无法区分休息与空闲，臆测的休息会引发\
             现场从未出现过的示忙超时告警。",
    },
    Inference {
        key: "ids",
        en: "The call id is vru+line and call_id joined by '-' (call_id alone is not unique); the caller is \
             the customer_id when it is not 0; the agent id is the server name. Priority is not used.",
        zh: "来电 id 为 vru+line 与 call_id 以 '-' 连接（单独的 call_id 不唯一）；customer_id 非 0 时作为主叫；\
             坐席 id 为 server 姓名。优先级未使用。",
    },
];

/// The data set's own figures for one queue, as its README defines them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueFigures {
    /// Queued, or served straight from the VRU (PHANTOM excluded).
    pub offered: u64,
    /// Outcome AGENT.
    pub answered: u64,
    /// Outcome HANG after queueing.
    pub abandoned: u64,
    /// Outcome HANG in the VRU, never queued: not offered to the floor.
    pub ivr_abandoned: u64,
    /// Outcome PHANTOM: ignored.
    pub phantoms: u64,
}

impl QueueFigures {
    fn add(&mut self, o: &QueueFigures) {
        self.offered += o.offered;
        self.answered += o.answered;
        self.abandoned += o.abandoned;
        self.ivr_abandoned += o.ivr_abandoned;
        self.phantoms += o.phantoms;
    }
}

/// Per-queue figures of the rows read (rejected rows are in none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    by_service: [QueueFigures; 6],
}

impl Totals {
    pub fn get(&self, s: Service) -> &QueueFigures {
        &self.by_service[s.index()]
    }

    pub fn iter(&self) -> impl Iterator<Item = (Service, &QueueFigures)> {
        Service::ALL.into_iter().map(|s| (s, self.get(s)))
    }

    /// All queues together.
    pub fn all(&self) -> QueueFigures {
        let mut t = QueueFigures::default();
        for f in &self.by_service {
            t.add(f);
        }
        t
    }

    fn at(&mut self, s: Service) -> &mut QueueFigures {
        &mut self.by_service[s.index()]
    }
}

/// How much presence was inferred (for the report).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Inferred {
    /// Agents seen serving calls (NO_SERVER not counted).
    pub agents: u64,
    /// Login-to-logout sessions inferred.
    pub sessions: u64,
    /// ACW spans inferred, their total and longest length.
    pub acw_spans: u64,
    pub acw_total_ms: i64,
    pub acw_longest_ms: i64,
    /// Served calls with no agent logged (answered by [`NO_SERVER`]).
    pub no_server_calls: u64,
}

/// What [`read`] made of a file.
#[derive(Debug, Clone)]
pub struct Reading {
    /// In time order (ties in causal order: a login before an answer, an end before
    /// the state that follows it), `seq` numbered from 1.
    pub events: Vec<Event>,
    pub rejected: Vec<RowRejection>,
    /// Data rows seen (header and empty lines not counted), read or not.
    pub rows: u64,
    /// PHANTOM rows ignored.
    pub phantoms: u64,
    pub totals: Totals,
    pub inferred: Inferred,
    pub inferences: &'static [Inference],
}

impl Reading {
    /// Rejected rows per reason.
    pub fn rejected_by_reason(&self) -> BTreeMap<RowReason, u64> {
        let mut m = BTreeMap::new();
        for r in &self.rejected {
            *m.entry(r.reason).or_insert(0) += 1;
        }
        m
    }
}

/// Reads a whole Anonymous Bank file.
pub fn read(text: &str, opts: &Options) -> Result<Reading, Error> {
    opts.check()?;
    let mut lines = text.lines().enumerate();
    let cols = loop {
        match lines.next() {
            None => return Err(Error::Empty),
            Some((_, l)) if l.trim().is_empty() => continue,
            Some((_, l)) => break Columns::from_header(l.trim_start_matches('\u{feff}'))?,
        }
    };

    let mut r = Reader {
        opts,
        events: Vec::new(),
        rejected: Vec::new(),
        totals: Totals::default(),
        phantoms: 0,
        rows: 0,
        spans: BTreeMap::new(),
        waits: Default::default(),
        no_server_calls: 0,
    };
    let mut fields: Vec<&str> = Vec::with_capacity(cols.width);
    for (i, line) in lines {
        let line = line.strip_suffix('\r').unwrap_or(line);
        // Only an empty line is no row: one of blanks or tabs is a broken row.
        if line.is_empty() {
            continue;
        }
        r.rows += 1;
        fields.clear();
        fields.extend(line.split('\t').map(str::trim));
        match parse_row(&cols, &fields, line) {
            Ok(Row::Phantom(s)) => {
                r.phantoms += 1;
                r.totals.at(s).phantoms += 1;
            }
            Ok(Row::Call(c)) => r.call(c),
            Err(mut rej) => {
                rej.line = i + 1;
                r.rejected.push(rej);
            }
        }
    }
    Ok(r.finish())
}

/// Column positions, from the header line.
struct Columns {
    width: usize,
    idx: [usize; 17],
}

impl Columns {
    fn from_header(line: &str) -> Result<Columns, Error> {
        let names: Vec<&str> = line.trim_end_matches('\r').split('\t').map(str::trim).collect();
        let mut idx = [0usize; 17];
        for (k, &want) in COLUMNS.iter().enumerate() {
            let mut found = names.iter().enumerate().filter(|(_, n)| n.eq_ignore_ascii_case(want));
            idx[k] = match (found.next(), found.next()) {
                (Some((i, _)), None) => i,
                (Some(_), Some(_)) => return Err(Error::DuplicateColumn(want)),
                (None, _) => return Err(Error::MissingColumn(want)),
            };
        }
        Ok(Columns { width: names.len(), idx })
    }
}

// Positions in COLUMNS.
const C_LINE: usize = 0;
const C_CALL: usize = 1;
const C_CUSTOMER: usize = 2;
const C_PRIORITY: usize = 3;
const C_TYPE: usize = 4;
const C_DATE: usize = 5;
const C_VRU_ENTRY: usize = 6;
const C_VRU_EXIT: usize = 7;
const C_VRU_TIME: usize = 8;
const C_Q_START: usize = 9;
const C_Q_EXIT: usize = 10;
const C_Q_TIME: usize = 11;
const C_OUTCOME: usize = 12;
const C_SER_START: usize = 13;
const C_SER_EXIT: usize = 14;
const C_SER_TIME: usize = 15;
const C_SERVER: usize = 16;

enum Row {
    Phantom(Service),
    Call(CallRow),
}

enum Outcome {
    Agent,
    Hang,
}

/// A readable, non-PHANTOM row, its times in UTC.
struct CallRow {
    call: Id,
    caller: Option<Id>,
    service: Service,
    outcome: Outcome,
    /// `None` for NO_SERVER.
    server: Option<Id>,
    vru_exit: Ts,
    /// (q_start, q_exit), when it queued.
    queue: Option<(Ts, Ts)>,
    /// (ser_start, ser_exit), when a service time was logged.
    service_span: Option<(Ts, Ts)>,
}

fn reject(reason: RowReason, field: Option<usize>, value: &str) -> RowRejection {
    RowRejection { line: 0, reason, field: field.map(|k| COLUMNS[k]), value: clip(value) }
}

/// The start of `s`, cut at a char boundary to what an [`Id`] stores inline.
fn clip(s: &str) -> Id {
    let mut end = s.len().min(24);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Id::from(&s[..end])
}

fn parse_row(cols: &Columns, fields: &[&str], line: &str) -> Result<Row, RowRejection> {
    if fields.len() != cols.width {
        return Err(reject(RowReason::FieldCount, None, line));
    }
    let f = |k: usize| fields[cols.idx[k]];
    for k in 0..COLUMNS.len() {
        if f(k).is_empty() {
            return Err(reject(RowReason::EmptyField, Some(k), ""));
        }
    }
    let number = |k: usize| f(k).parse::<i64>().map_err(|_| reject(RowReason::BadNumber, Some(k), f(k)));
    let duration = |k: usize| match number(k)? {
        d if d >= 0 => Ok(d),
        _ => Err(reject(RowReason::BadNumber, Some(k), f(k))),
    };
    let tod = |k: usize| parse_tod(f(k)).ok_or_else(|| reject(RowReason::BadTime, Some(k), f(k)));

    let service = Service::from_code(f(C_TYPE))
        .ok_or_else(|| reject(RowReason::UnknownType, Some(C_TYPE), f(C_TYPE)))?;
    let date = parse_date(f(C_DATE)).ok_or_else(|| reject(RowReason::BadDate, Some(C_DATE), f(C_DATE)))?;
    // call_id and priority are checked though unused, so a shifted column shows.
    duration(C_CALL)?;
    f(C_PRIORITY).parse::<u8>().map_err(|_| reject(RowReason::BadNumber, Some(C_PRIORITY), f(C_PRIORITY)))?;
    let entry = tod(C_VRU_ENTRY)?;
    let vru_exit = tod(C_VRU_EXIT)?;
    // The VRU time is negative in a few real rows (vru_exit logged before vru_entry).
    let vru_time = number(C_VRU_TIME)?;
    let (q_start, q_exit, q_time) = (tod(C_Q_START)?, tod(C_Q_EXIT)?, duration(C_Q_TIME)?);
    let (s_start, s_exit, s_time) = (tod(C_SER_START)?, tod(C_SER_EXIT)?, duration(C_SER_TIME)?);
    let outcome = match f(C_OUTCOME) {
        "AGENT" => Outcome::Agent,
        "HANG" => Outcome::Hang,
        "PHANTOM" => return Ok(Row::Phantom(service)),
        other => return Err(reject(RowReason::UnknownOutcome, Some(C_OUTCOME), other)),
    };

    // Every time is taken on the day that puts it within 12 h of the arrival.
    let at = |t: i64| -> Result<Ts, RowRejection> {
        let d = t - entry;
        let t = if d < -HALF_DAY_SECS {
            t + DAY_SECS
        } else if d > HALF_DAY_SECS {
            t - DAY_SECS
        } else {
            t
        };
        local_ms(date, t).ok_or_else(|| reject(RowReason::BadDate, Some(C_DATE), f(C_DATE)))
    };
    let entry_ts = at(entry)?;
    let vru_exit_ts = if vru_exit != 0 { at(vru_exit)? } else { entry_ts + vru_time * MS };
    let queue = span(q_start, q_exit, q_time, vru_exit_ts, at)?;
    let fallback = queue.map_or(vru_exit_ts, |(_, e)| e);
    let service_span = span(s_start, s_exit, s_time, fallback, at)?;

    let line_id = f(C_LINE);
    let mut call = Id::with_capacity(line_id.len() + 1 + f(C_CALL).len());
    call.push_str(line_id);
    call.push('-');
    call.push_str(f(C_CALL));
    let customer = f(C_CUSTOMER);
    let caller = (customer != "0").then(|| Id::from(customer));
    let server = (f(C_SERVER) != NO_SERVER).then(|| Id::from(f(C_SERVER)));
    Ok(Row::Call(CallRow {
        call,
        caller,
        service,
        outcome,
        server,
        vru_exit: vru_exit_ts,
        queue,
        service_span,
    }))
}

/// A (start, end) span from its two times and its duration. `0:00:00` at both ends
/// with no duration means it did not happen; otherwise a `0:00:00` end is midnight,
/// recovered from the other end and the duration (or `fallback` for the start).
fn span(
    start: i64,
    end: i64,
    secs: i64,
    fallback: Ts,
    at: impl Fn(i64) -> Result<Ts, RowRejection>,
) -> Result<Option<(Ts, Ts)>, RowRejection> {
    if start == 0 && end == 0 && secs == 0 {
        return Ok(None);
    }
    let s = match (start, end) {
        (0, 0) => fallback,
        (0, e) => at(e)? - secs * MS,
        (s, _) => at(s)?,
    };
    let e = if end != 0 { at(end)? } else { s + secs * MS };
    Ok(Some((s, e.max(s))))
}

/// `H:MM:SS` (hours and minutes and seconds of one or two digits) as seconds.
fn parse_tod(s: &str) -> Option<i64> {
    let mut it = s.split(':');
    let (h, m, sec) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None;
    }
    let part = |p: &str, max: i64| -> Option<i64> {
        if p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse::<i64>().ok().filter(|v| *v < max)
    };
    Some(part(h, 24)? * 3600 + part(m, 60)? * 60 + part(sec, 60)?)
}

/// `YYMMDD`; years 70-99 are 19xx, 00-69 20xx.
fn parse_date(s: &str) -> Option<NaiveDate> {
    if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
    let yy = n(0..2)?;
    let year = if yy >= 70 { 1900 + yy } else { 2000 + yy };
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, n(2..4)?, n(4..6)?)
}

/// Local Israeli time `secs` after (or before) `date`'s midnight, as UTC ms.
fn local_ms(date: NaiveDate, secs: i64) -> Option<Ts> {
    let local: NaiveDateTime =
        date.and_hms_opt(0, 0, 0)?.checked_add_signed(TimeDelta::try_seconds(secs)?)?;
    let utc = match Jerusalem.from_local_datetime(&local) {
        LocalResult::Single(t) => t,
        // The hour repeated when summer time ends: its first pass.
        LocalResult::Ambiguous(first, _) => first,
        // The hour skipped when summer time starts: read with the offset before the
        // change, which is the same instant as one hour later on the new offset.
        LocalResult::None => {
            Jerusalem.from_local_datetime(&local.checked_add_signed(TimeDelta::hours(1))?).earliest()?
        }
    };
    Some(utc.timestamp_millis())
}

/// One served call, from an agent's side.
#[derive(Debug, Clone)]
struct Span {
    start: Ts,
    end: Ts,
    call: Id,
    service: Service,
}

/// Per queue, the merged intervals during which at least one caller was waiting.
#[derive(Default)]
struct Waits {
    raw: [Vec<(Ts, Ts)>; 6],
}

impl Waits {
    fn merge(&mut self) {
        for v in &mut self.raw {
            v.sort_unstable();
            let mut out: Vec<(Ts, Ts)> = Vec::with_capacity(v.len());
            for &(s, e) in v.iter() {
                match out.last_mut() {
                    Some(last) if s <= last.1 => last.1 = last.1.max(e),
                    _ => out.push((s, e)),
                }
            }
            *v = out;
        }
    }

    /// The end of the stretch, from `t` on, during which some caller of a queue in
    /// `mask` is waiting without a break (`t` itself when none waits at `t`).
    fn covered_until(&self, mask: u8, mut t: Ts) -> Ts {
        loop {
            let mut moved = false;
            for s in Service::ALL {
                if mask & s.bit() == 0 {
                    continue;
                }
                let v = &self.raw[s.index()];
                let i = v.partition_point(|&(start, _)| start <= t);
                if i > 0 && v[i - 1].1 > t {
                    t = v[i - 1].1;
                    moved = true;
                }
            }
            if !moved {
                return t;
            }
        }
    }
}

struct Reader<'a> {
    opts: &'a Options,
    events: Vec<Event>,
    rejected: Vec<RowRejection>,
    totals: Totals,
    phantoms: u64,
    rows: u64,
    /// Served calls per agent; a BTreeMap so the output does not depend on hashing.
    spans: BTreeMap<Id, Vec<Span>>,
    waits: Waits,
    no_server_calls: u64,
}

impl Reader<'_> {
    fn push(&mut self, ts: Ts, kind: EventKind) {
        self.events.push(Event { ts, source: self.opts.source.clone(), seq: None, kind });
    }

    fn call(&mut self, c: CallRow) {
        let queue = Id::const_new(c.service.queue_id());
        let fig = self.totals.at(c.service);
        match c.outcome {
            Outcome::Hang => {
                let Some((q_start, q_exit)) = c.queue else {
                    fig.ivr_abandoned += 1;
                    return;
                };
                fig.offered += 1;
                fig.abandoned += 1;
                self.waits.raw[c.service.index()].push((q_start, q_exit));
                let kind =
                    EventKind::CallOffered { call: c.call.clone(), queue: queue.clone(), caller: c.caller };
                self.push(q_start, kind);
                self.push(q_exit, EventKind::CallAbandoned { call: c.call, queue: Some(queue) });
            }
            Outcome::Agent => {
                fig.offered += 1;
                fig.answered += 1;
                let (offered, answered) = match (c.queue, c.service_span) {
                    (Some((q_start, q_exit)), _) => {
                        self.waits.raw[c.service.index()].push((q_start, q_exit));
                        (q_start, q_exit)
                    }
                    (None, Some((s, _))) => (s, s),
                    (None, None) => (c.vru_exit, c.vru_exit),
                };
                let ended = c.service_span.map_or(answered, |(_, e)| e.max(answered));
                let agent = match c.server {
                    Some(a) => a,
                    None => {
                        self.no_server_calls += 1;
                        Id::const_new(NO_SERVER)
                    }
                };
                let kind =
                    EventKind::CallOffered { call: c.call.clone(), queue: queue.clone(), caller: c.caller };
                self.push(offered, kind);
                let kind = EventKind::CallAnswered {
                    call: c.call.clone(),
                    agent: agent.clone(),
                    queue: Some(queue),
                };
                self.push(answered, kind);
                self.push(ended, EventKind::CallEnded { call: c.call.clone(), agent: Some(agent.clone()) });
                let span = Span { start: answered, end: ended, call: c.call, service: c.service };
                self.spans.entry(agent).or_default().push(span);
            }
        }
    }

    fn finish(mut self) -> Reading {
        self.waits.merge();
        let mut inferred = Inferred { no_server_calls: self.no_server_calls, ..Inferred::default() };
        let spans = std::mem::take(&mut self.spans);
        for (agent, mut spans) in spans {
            spans.sort_by_key(|s| (s.start, s.end));
            let periods = busy_periods(&spans);
            if agent == NO_SERVER {
                self.no_server(&agent, &spans, &periods);
            } else {
                inferred.agents += 1;
                self.presence(&agent, &spans, &periods, &mut inferred);
            }
        }
        // Stable: equal times keep causal order by kind, then the order made.
        self.events.sort_by_key(|e| (e.ts, rank(&e.kind)));
        for (i, e) in self.events.iter_mut().enumerate() {
            e.seq = Some(i as u64 + 1);
        }
        Reading {
            events: self.events,
            rejected: self.rejected,
            rows: self.rows,
            phantoms: self.phantoms,
            totals: self.totals,
            inferred,
            inferences: INFERENCES,
        }
    }

    fn talking(&mut self, agent: &Id, s: &Span) {
        let kind = EventKind::AgentState {
            agent: agent.clone(),
            state: AgentState::Talking,
            reason: None,
            queue: Some(Id::const_new(s.service.queue_id())),
            call: Some(s.call.clone()),
        };
        self.push(s.start, kind);
    }

    fn state(&mut self, ts: Ts, agent: &Id, state: AgentState, last: Option<&Span>) {
        let kind = EventKind::AgentState {
            agent: agent.clone(),
            state,
            reason: None,
            queue: last.map(|s| Id::const_new(s.service.queue_id())),
            call: last.map(|s| s.call.clone()),
        };
        self.push(ts, kind);
    }

    /// The pseudo-agent: on a call while it has one, logged out otherwise.
    fn no_server(&mut self, agent: &Id, spans: &[Span], periods: &[Period]) {
        for p in periods {
            for s in &spans[p.calls.clone()] {
                self.talking(agent, s);
            }
            self.push(p.end, EventKind::AgentLogout { agent: agent.clone(), reason: None });
        }
    }

    /// A real agent: sessions of busy periods, with login, ready, ACW and logout.
    fn presence(&mut self, agent: &Id, spans: &[Span], periods: &[Period], inferred: &mut Inferred) {
        let o = self.opts;
        let gap_ms = i64::from(o.session_gap_secs) * MS;
        let mut k = 0;
        while k < periods.len() {
            // One session: periods[k..end].
            let mut end = k + 1;
            while end < periods.len() && periods[end].start - periods[end - 1].end <= gap_ms {
                end += 1;
            }
            let session = &periods[k..end];
            let mask = spans[session[0].calls.start..session[session.len() - 1].calls.end]
                .iter()
                .fold(0u8, |m, s| m | s.service.bit());
            inferred.sessions += 1;
            let login = session[0].start - i64::from(o.login_lead_secs) * MS;
            let kind = EventKind::AgentLogin {
                agent: agent.clone(),
                name: Some(agent.clone()),
                team: None,
                state: AgentState::Ready,
                reason: None,
            };
            self.push(login, kind);
            for (j, p) in session.iter().enumerate() {
                for s in &spans[p.calls.clone()] {
                    self.talking(agent, s);
                }
                let next = session.get(j + 1).map(|n| n.start);
                let last = &spans[p.last];
                let free_at = match self.acw_end(mask, p.end, next) {
                    Some(until) => {
                        inferred.acw_spans += 1;
                        inferred.acw_total_ms += until - p.end;
                        inferred.acw_longest_ms = inferred.acw_longest_ms.max(until - p.end);
                        self.state(p.end, agent, AgentState::Acw, Some(last));
                        until
                    }
                    None => p.end,
                };
                match next {
                    // ACW that ran up to the next answer needs no ready in between.
                    Some(n) => {
                        if free_at < n {
                            self.state(free_at, agent, AgentState::Ready, None);
                        }
                    }
                    None => {
                        let logout = free_at.max(p.end + i64::from(o.logout_lag_secs) * MS);
                        if free_at < logout {
                            self.state(free_at, agent, AgentState::Ready, None);
                        }
                        self.push(logout, EventKind::AgentLogout { agent: agent.clone(), reason: None });
                    }
                }
            }
            k = end;
        }
    }

    /// When the ACW after a busy period ending at `end` ends, if the data supports one.
    fn acw_end(&self, mask: u8, end: Ts, next: Option<Ts>) -> Option<Ts> {
        if !self.opts.infer_acw {
            return None;
        }
        let o = self.opts;
        let until = self
            .waits
            .covered_until(mask, end)
            .min(end + i64::from(o.acw_max_secs) * MS)
            .min(next.unwrap_or(Ts::MAX));
        (until - end >= i64::from(o.acw_min_wait_secs) * MS && until > end).then_some(until)
    }
}

/// An agent's calls that overlap (or touch), merged.
struct Period {
    start: Ts,
    end: Ts,
    /// Indices of its calls in the agent's sorted spans.
    calls: std::ops::Range<usize>,
    /// The call that ends last (its queue and id go with the ACW that follows).
    last: usize,
}

fn busy_periods(spans: &[Span]) -> Vec<Period> {
    let mut out: Vec<Period> = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        match out.last_mut() {
            Some(p) if s.start <= p.end => {
                p.calls.end = i + 1;
                if s.end >= p.end {
                    p.end = s.end;
                    p.last = i;
                }
            }
            _ => out.push(Period { start: s.start, end: s.end, calls: i..i + 1, last: i }),
        }
    }
    out
}

/// Order of events at the same instant: a login before the calls it serves, an
/// answer before the talking state it causes, a call's end before the ACW or ready
/// that follows, a logout last.
fn rank(k: &EventKind) -> u8 {
    match k {
        EventKind::AgentLogin { .. } => 0,
        EventKind::CallOffered { .. } => 1,
        EventKind::CallAnswered { .. } => 2,
        EventKind::CallAbandoned { .. } => 3,
        EventKind::CallEnded { .. } => 4,
        EventKind::AgentState { .. } => 5,
        EventKind::AgentLogout { .. } => 6,
        EventKind::Heartbeat | EventKind::Fault { .. } => 7,
    }
}
