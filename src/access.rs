//! People's and bridges' tokens (contract §9): the typed [`Role`], what each role
//! [`Can`] do, the token table ([`Tokens`]) that turns a presented bearer token
//! into an [`Actor`] or a bridge's bound source, and `server.trusted_proxies`.
//!
//! Pure: no IO, no clock. The config builds a [`Tokens`] ([`validate`]); the
//! daemon keeps the one in force behind [`AccessHandle`], which SIGHUP swaps.
//! Tokens are stored as SHA-256 digests only, so the config file never holds a
//! usable secret; a presented token is hashed and compared with every entry in
//! constant time (no early exit), so timing says nothing about which was close.

use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use serde::Deserialize;

use crate::ingest::config::RawIngestToken;

/// `(key, message)` problems, placed at file:line:column by `config`.
pub type Problems = Vec<(String, String)>;

/// What a person's token may do, from least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Reads only.
    Viewer,
    /// Also acknowledges alerts and works call-backs, of their own teams only.
    Lead,
    /// Everything on the floor, every team: incidents, scripts, the fault register.
    Supervisor,
    /// A supervisor who may also read the audit trail.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Lead, Role::Supervisor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Lead => "lead",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The rule table of contract §9.
    pub fn may(self, c: Can) -> bool {
        match c {
            Can::Ack | Can::Callbacks => self >= Role::Lead,
            Can::Incidents | Can::Faults => self >= Role::Supervisor,
            Can::Audit => self == Role::Admin,
            // Issue 20: §9 does not name the shift's writes; a lead confirms their
            // teams' handover sheets and reviews their overruns, the duty supervisor
            // imports the roster (and its seat plan), countersigns and signs off.
            Can::Handover | Can::OverrunReview => self >= Role::Lead,
            Can::Roster | Can::Countersign | Can::OverrunSignOff => self >= Role::Supervisor,
        }
    }

    /// Whether the role is scoped to its teams (a lead) rather than the whole floor.
    pub fn team_scoped(self) -> bool {
        self == Role::Lead
    }
}

/// A kind of write (or the audit read) a role may or may not do; `/api/whoami`
/// reports each under [`Can::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Can {
    Ack,
    Incidents,
    Faults,
    Callbacks,
    Audit,
    /// Import the roster with its seat plan (`PUT /api/roster`).
    Roster,
    /// A lead's absence reasons and confirmation of a team's handover sheet.
    Handover,
    /// The duty supervisor's countersignature that archives a sheet.
    Countersign,
    /// Confirming or dismissing an overrun record (a lead: their teams').
    OverrunReview,
    /// The sign-off that closes an overrun record.
    OverrunSignOff,
}

impl Can {
    pub const ALL: [Can; 10] = [
        Can::Ack,
        Can::Incidents,
        Can::Faults,
        Can::Callbacks,
        Can::Audit,
        Can::Roster,
        Can::Handover,
        Can::Countersign,
        Can::OverrunReview,
        Can::OverrunSignOff,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Can::Ack => "ack",
            Can::Incidents => "incidents",
            Can::Faults => "faults",
            Can::Callbacks => "callbacks",
            Can::Audit => "audit",
            Can::Roster => "roster",
            Can::Handover => "handover",
            Can::Countersign => "countersign",
            Can::OverrunReview => "overrun_review",
            Can::OverrunSignOff => "overrun_sign_off",
        }
    }
}

/// A SHA-256 digest of a token.
#[derive(Clone, PartialEq, Eq)]
pub struct Digest([u8; 32]);

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A digest is not a secret, but it need not fill logs either.
        f.write_str("Digest(..)")
    }
}

impl Digest {
    pub fn of(token: &str) -> Digest {
        let d = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        Digest(out)
    }

    /// 64 hex digits, either case.
    pub fn parse_hex(s: &str) -> Option<Digest> {
        let s = s.trim().as_bytes();
        if s.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in s.chunks(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            out[i] = (hi * 16 + lo) as u8;
        }
        Some(Digest(out))
    }

    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn same(&self, other: &Digest) -> bool {
        constant_time_eq(&self.0, &other.0)
    }
}

/// Compares without an early exit.
pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// One `[[access.tokens]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub role: Role,
    pub teams: Vec<String>,
    digest: Digest,
}

/// One `[[ingest.tokens]]` entry: a bridge's token, bound to its source id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bridge {
    pub source: String,
    digest: Digest,
}

/// The token table in force.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tokens {
    people: Vec<Person>,
    bridges: Vec<Bridge>,
}

impl Tokens {
    /// Whether people's tokens are configured: then reads of the incident
    /// playbook need one, and loopback is no longer trusted for writes.
    pub fn has_people(&self) -> bool {
        !self.people.is_empty()
    }

    pub fn has_bridges(&self) -> bool {
        !self.bridges.is_empty()
    }

    pub fn people(&self) -> &[Person] {
        &self.people
    }

    /// The person whose token this is. Every entry is compared, whatever matched.
    pub fn person(&self, token: &str) -> Option<&Person> {
        let d = Digest::of(token);
        let mut found = None;
        for p in &self.people {
            if p.digest.same(&d) && found.is_none() {
                found = Some(p);
            }
        }
        found
    }

    /// The bridge whose token this is.
    pub fn bridge(&self, token: &str) -> Option<&Bridge> {
        let d = Digest::of(token);
        let mut found = None;
        for b in &self.bridges {
            if b.digest.same(&d) && found.is_none() {
                found = Some(b);
            }
        }
        found
    }
}

/// Who is making a request, as the access rules decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The token's name (`admin` for the single admin token); `loopback` or
    /// `anonymous` when no token vouches for the caller.
    pub name: String,
    pub role: Role,
    /// A lead's teams; empty (and unused) for the other roles.
    pub teams: Vec<String>,
    /// Whether a token vouches for [`Actor::name`]: then it is the actor recorded
    /// for a write, and a client's `by` is only a note.
    pub named: bool,
}

impl Actor {
    /// The single `admin_token`.
    pub fn admin() -> Actor {
        Actor { name: "admin".into(), role: Role::Admin, teams: Vec::new(), named: true }
    }

    /// A loopback peer trusted because no token is configured (as before roles).
    pub fn loopback() -> Actor {
        Actor { name: "loopback".into(), role: Role::Admin, teams: Vec::new(), named: false }
    }

    /// A caller no token vouches for and nothing trusts: a reader.
    pub fn anonymous() -> Actor {
        Actor { name: "anonymous".into(), role: Role::Viewer, teams: Vec::new(), named: false }
    }

    fn of(p: &Person) -> Actor {
        Actor { name: p.name.clone(), role: p.role, teams: p.teams.clone(), named: true }
    }

    pub fn may(&self, c: Can) -> bool {
        self.role.may(c)
    }

    /// Whether the actor may act on something of `team` (`None`: of no team).
    /// A lead reaches only their own teams; everyone else the whole floor.
    pub fn reaches(&self, team: Option<&str>) -> bool {
        !self.role.team_scoped() || team.is_some_and(|t| self.teams.iter().any(|m| m == t))
    }
}

/// Why a request was not given an actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// A token is required and none (or a wrong one) was presented: 401.
    Unauthorized,
    /// No token is configured and the peer is not a trusted loopback: 403.
    NotLoopback,
}

/// The actor of a write (and of the audit read): the admin token, a person's
/// token, or — with no token configured at all — a loopback peer.
/// `loopback` says whether the peer counts as loopback (see [`peer_is_loopback`]).
pub fn writer(
    tokens: &Tokens,
    admin_token: Option<&str>,
    bearer: Option<&str>,
    loopback: bool,
) -> Result<Actor, Refused> {
    if admin_token.is_none() && !tokens.has_people() {
        return if loopback { Ok(Actor::loopback()) } else { Err(Refused::NotLoopback) };
    }
    let given = bearer.ok_or(Refused::Unauthorized)?;
    let is_admin = admin_token.is_some_and(|t| constant_time_eq(t.as_bytes(), given.as_bytes()));
    match (is_admin, tokens.person(given)) {
        (true, _) => Ok(Actor::admin()),
        (false, Some(p)) => Ok(Actor::of(p)),
        (false, None) => Err(Refused::Unauthorized),
    }
}

/// The actor of a read: like [`writer`], but a caller without a valid token is
/// an [`Actor::anonymous`] reader (whether that may read is the route's rule).
pub fn reader(tokens: &Tokens, admin_token: Option<&str>, bearer: Option<&str>, loopback: bool) -> Actor {
    writer(tokens, admin_token, bearer, loopback).unwrap_or_else(|_| Actor::anonymous())
}

/// Where a bridge may speak for, once its handshake is admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Speaks {
    /// Any source (the single ingest token, or a trusted loopback).
    Any,
    /// Only this source id (its `[[ingest.tokens]]` entry).
    For(String),
}

/// The ingest rule: with any ingest token configured (the single one or
/// per-bridge ones) a valid one is required; without, a trusted loopback peer.
pub fn bridge(
    tokens: &Tokens,
    ingest_token: Option<&str>,
    given: Option<&str>,
    loopback: bool,
) -> Result<Speaks, Refused> {
    if ingest_token.is_none() && !tokens.has_bridges() {
        return if loopback { Ok(Speaks::Any) } else { Err(Refused::NotLoopback) };
    }
    let given = given.ok_or(Refused::Unauthorized)?;
    let single = ingest_token.is_some_and(|t| constant_time_eq(t.as_bytes(), given.as_bytes()));
    match (single, tokens.bridge(given)) {
        (true, _) => Ok(Speaks::Any),
        (false, Some(b)) => Ok(Speaks::For(b.source.clone())),
        (false, None) => Err(Refused::Unauthorized),
    }
}

// ---------------------------------------------------------------------------
// Forwarding headers and trusted proxies
// ---------------------------------------------------------------------------

/// An IP network, `10.0.0.0/8` or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (s.trim().parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Cidr { net: addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip.to_canonical()) {
            (IpAddr::V4(n), IpAddr::V4(i)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(n) & mask == u32::from(i) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(i)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(n) & mask == u128::from(i) & mask
            }
            _ => false,
        }
    }
}

/// The headers a proxy uses to say whom it forwards for.
pub const FORWARDING_HEADERS: [&str; 3] = ["forwarded", "x-forwarded-for", "x-real-ip"];

/// The client's address as far as we can believe it: the peer itself when the
/// request carries no forwarding header; the address a trusted proxy names
/// (`X-Real-IP`, else the last `X-Forwarded-For` hop); `None` when an untrusted
/// peer carries forwarding headers (a proxy we were not told of: the real
/// client is unknown, so it is trusted as nothing).
pub fn client_ip(peer: IpAddr, headers: &axum::http::HeaderMap, proxies: &[Cidr]) -> Option<IpAddr> {
    let forwarded = FORWARDING_HEADERS.iter().any(|h| headers.contains_key(*h));
    if !forwarded {
        return Some(peer);
    }
    if !proxies.iter().any(|c| c.contains(peer)) {
        return None;
    }
    let text = |h: &str| headers.get(h).and_then(|v| v.to_str().ok());
    if let Some(ip) = text("x-real-ip").and_then(|v| v.trim().parse().ok()) {
        return Some(ip);
    }
    // The last hop is the one our proxy added; earlier ones the client may forge.
    text("x-forwarded-for").and_then(|v| v.rsplit(',').next()).and_then(|v| v.trim().parse().ok())
}

/// Whether the request counts as coming from loopback (see [`client_ip`]).
pub fn peer_is_loopback(peer: IpAddr, headers: &axum::http::HeaderMap, proxies: &[Cidr]) -> bool {
    client_ip(peer, headers, proxies).is_some_and(|ip| ip.to_canonical().is_loopback())
}

// ---------------------------------------------------------------------------
// Config: `[[access.tokens]]` and `[[ingest.tokens]]`
// ---------------------------------------------------------------------------

/// The `[access]` section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAccess {
    tokens: Vec<RawPersonToken>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPersonToken {
    name: String,
    role: String,
    #[serde(default)]
    teams: Vec<String>,
    sha256: String,
}

/// Builds the token table, pushing every problem (unknown role, bad hex,
/// duplicate name or source, a token used twice, a lead without teams).
pub fn validate(raw: RawAccess, bridges: Vec<RawIngestToken>, errs: &mut Problems) -> Tokens {
    let mut out = Tokens::default();
    let mut digests: Vec<Digest> = Vec::new();
    let mut digest = |key: String, hex: &str, errs: &mut Problems| match Digest::parse_hex(hex) {
        Some(d) if digests.contains(&d) => {
            errs.push((key, "the same token is listed twice".into()));
            None
        }
        Some(d) => {
            digests.push(d.clone());
            Some(d)
        }
        None => {
            errs.push((
                key,
                "must be 64 hex digits, the SHA-256 of the token (`floorwatch hash-token` prints it)".into(),
            ));
            None
        }
    };
    for (i, t) in raw.tokens.into_iter().enumerate() {
        let key = |k: &str| format!("access.tokens[{i}].{k}");
        let name = t.name.trim().to_owned();
        if name.is_empty() {
            errs.push((key("name"), "must not be empty".into()));
        } else if out.people.iter().any(|p| p.name == name) {
            errs.push((key("name"), format!("{name:?} is named by another token")));
        }
        let role = Role::parse(&t.role);
        if role.is_none() {
            errs.push((key("role"), "must be viewer, lead, supervisor or admin".into()));
        }
        if role == Some(Role::Lead) && t.teams.is_empty() {
            errs.push((key("teams"), "a lead needs at least one team".into()));
        }
        let d = digest(key("sha256"), &t.sha256, errs);
        if let (Some(role), Some(digest)) = (role, d) {
            out.people.push(Person { name, role, teams: t.teams, digest });
        }
    }
    for (i, b) in bridges.into_iter().enumerate() {
        let key = |k: &str| format!("ingest.tokens[{i}].{k}");
        if !crate::event::valid_id(&b.source) {
            errs.push((key("source"), "must be a non-empty id without spaces, at most 64 characters".into()));
            continue;
        }
        if out.bridges.iter().any(|x| x.source == b.source) {
            errs.push((key("source"), format!("{:?} has another token", b.source)));
        }
        if let Some(digest) = digest(key("sha256"), &b.sha256, errs) {
            out.bridges.push(Bridge { source: b.source, digest });
        }
    }
    out
}

/// `server.trusted_proxies`.
pub fn validate_proxies(raw: &[String], errs: &mut Problems) -> Vec<Cidr> {
    let mut out = Vec::new();
    for (i, s) in raw.iter().enumerate() {
        match Cidr::parse(s) {
            Some(c) => out.push(c),
            None => errs.push((
                format!("server.trusted_proxies[{i}]"),
                format!("{s:?} is not an address or network like 127.0.0.1 or 10.0.0.0/8"),
            )),
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The one owner of the table in force
// ---------------------------------------------------------------------------

/// The token table in force: read by every request, replaced whole on SIGHUP.
/// The lock is held only to clone or swap the `Arc`, never across an await.
#[derive(Debug, Clone, Default)]
pub struct AccessHandle(Arc<RwLock<Arc<Tokens>>>);

impl AccessHandle {
    pub fn new(tokens: Tokens) -> AccessHandle {
        AccessHandle(Arc::new(RwLock::new(Arc::new(tokens))))
    }

    pub fn current(&self) -> Arc<Tokens> {
        // A writer that panicked mid-swap left a whole `Arc` behind: still usable.
        self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    pub fn replace(&self, tokens: Tokens) {
        *self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(tokens);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_person(name: &str, role: &str, teams: &[&str], token: &str) -> RawPersonToken {
        RawPersonToken {
            name: name.into(),
            role: role.into(),
            teams: teams.iter().map(|t| (*t).to_owned()).collect(),
            sha256: Digest::of(token).to_hex(),
        }
    }

    fn table() -> Tokens {
        let mut errs = Vec::new();
        let raw = RawAccess {
            tokens: vec![
                raw_person("wall", "viewer", &[], "v-tok"),
                raw_person("lead-team-1", "lead", &["team-1"], "l-tok"),
                raw_person("sup", "supervisor", &[], "s-tok"),
                raw_person("root", "admin", &[], "a-tok"),
            ],
        };
        let bridges = vec![RawIngestToken { source: "acd-1".into(), sha256: Digest::of("b-tok").to_hex() }];
        let t = validate(raw, bridges, &mut errs);
        assert_eq!(errs, Vec::<(String, String)>::new());
        t
    }

    #[test]
    fn digest_is_sha256_and_hex_round_trips() {
        // sha256("abc"), FIPS 180-2 appendix B.1.
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(Digest::of("abc").to_hex(), abc);
        assert_eq!(Digest::parse_hex(&abc.to_uppercase()), Some(Digest::of("abc")));
        assert_eq!(Digest::parse_hex(&abc[..63]), None);
        assert_eq!(Digest::parse_hex(&format!("{}g", &abc[..63])), None);
    }

    #[test]
    fn each_role_may_what_contract_9_says() {
        use Can::*;
        let table = [
            // role, ack, incidents, faults, callbacks, audit,
            //       roster, handover, countersign, overrun review, overrun sign-off
            (Role::Viewer, [false, false, false, false, false, false, false, false, false, false]),
            (Role::Lead, [true, false, false, true, false, false, true, false, true, false]),
            (Role::Supervisor, [true, true, true, true, false, true, true, true, true, true]),
            (Role::Admin, [true, true, true, true, true, true, true, true, true, true]),
        ];
        for (role, expect) in table {
            let got = [
                Ack,
                Incidents,
                Faults,
                Callbacks,
                Audit,
                Roster,
                Handover,
                Countersign,
                OverrunReview,
                OverrunSignOff,
            ]
            .map(|c| role.may(c));
            assert_eq!(got, expect, "{}", role.as_str());
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("boss"), None);
    }

    #[test]
    fn a_lead_reaches_only_their_teams() {
        let t = table();
        let lead = writer(&t, None, Some("l-tok"), false).expect("lead");
        assert_eq!((lead.name.as_str(), lead.role, lead.named), ("lead-team-1", Role::Lead, true));
        assert!(lead.reaches(Some("team-1")));
        assert!(!lead.reaches(Some("team-2")));
        assert!(!lead.reaches(None), "something of no team is not a lead's");
        let sup = writer(&t, None, Some("s-tok"), false).expect("supervisor");
        assert!(sup.reaches(Some("team-2")) && sup.reaches(None));
    }

    #[test]
    fn writers_are_decided_by_token_then_by_loopback() {
        let t = table();
        let none = Tokens::default();
        // No token anywhere: loopback is trusted (as before roles), others not.
        assert_eq!(writer(&none, None, None, true), Ok(Actor::loopback()));
        assert_eq!(writer(&none, None, Some("x"), true), Ok(Actor::loopback()));
        assert_eq!(writer(&none, None, None, false), Err(Refused::NotLoopback));
        // The single admin token, alone or beside people's tokens.
        assert_eq!(writer(&none, Some("boss"), Some("boss"), false), Ok(Actor::admin()));
        assert_eq!(writer(&none, Some("boss"), None, true), Err(Refused::Unauthorized));
        assert_eq!(writer(&t, Some("boss"), Some("boss"), false), Ok(Actor::admin()));
        // People's tokens: loopback is no longer enough.
        assert_eq!(writer(&t, None, None, true), Err(Refused::Unauthorized));
        assert_eq!(writer(&t, None, Some("nope"), true), Err(Refused::Unauthorized));
        assert_eq!(writer(&t, None, Some("a-tok"), false).map(|a| a.role), Ok(Role::Admin));
        assert_eq!(writer(&t, None, Some("v-tok"), false).map(|a| a.name), Ok("wall".into()));
        assert_eq!(reader(&t, None, Some("nope"), true), Actor::anonymous());
    }

    #[test]
    fn a_bridge_token_binds_its_source() {
        let t = table();
        assert_eq!(bridge(&t, None, Some("b-tok"), false), Ok(Speaks::For("acd-1".into())));
        assert_eq!(bridge(&t, Some("single"), Some("single"), false), Ok(Speaks::Any));
        assert_eq!(
            bridge(&t, None, None, true),
            Err(Refused::Unauthorized),
            "tokens configured: loopback is not enough"
        );
        assert_eq!(
            bridge(&t, None, Some("l-tok"), false),
            Err(Refused::Unauthorized),
            "a person's token is not a bridge's"
        );
        let none = Tokens::default();
        assert_eq!(bridge(&none, None, None, true), Ok(Speaks::Any));
        assert_eq!(bridge(&none, None, None, false), Err(Refused::NotLoopback));
    }

    #[test]
    fn config_problems_name_the_key() {
        let mut errs = Vec::new();
        let raw = RawAccess {
            tokens: vec![
                raw_person("ann", "boss", &[], "1"),
                RawPersonToken { sha256: "xyz".into(), ..raw_person("bob", "viewer", &[], "2") },
                raw_person("cat", "viewer", &[], "3"),
                raw_person("cat", "viewer", &[], "4"),
                raw_person("dan", "lead", &[], "5"),
                raw_person("eve", "viewer", &[], "3"),
            ],
        };
        let bridges = vec![
            RawIngestToken { source: "has space".into(), sha256: Digest::of("6").to_hex() },
            RawIngestToken { source: "acd".into(), sha256: Digest::of("7").to_hex() },
            RawIngestToken { source: "acd".into(), sha256: Digest::of("8").to_hex() },
        ];
        validate(raw, bridges, &mut errs);
        let keys: Vec<&str> = errs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "access.tokens[0].role",
                "access.tokens[1].sha256",
                "access.tokens[3].name",
                "access.tokens[4].teams",
                "access.tokens[5].sha256",
                "ingest.tokens[0].source",
                "ingest.tokens[2].source",
            ]
        );
    }

    #[test]
    fn forwarding_headers_are_believed_only_from_trusted_proxies() {
        use axum::http::{HeaderMap, HeaderValue};
        let lo: IpAddr = [127, 0, 0, 1].into();
        let lan: IpAddr = [10, 0, 0, 9].into();
        let mut fwd = HeaderMap::new();
        fwd.insert("x-forwarded-for", HeaderValue::from_static("127.0.0.1, 203.0.113.7"));
        let mut real = HeaderMap::new();
        real.insert("x-real-ip", HeaderValue::from_static("127.0.0.1"));
        let mut std_fwd = HeaderMap::new();
        std_fwd.insert("forwarded", HeaderValue::from_static("for=203.0.113.7"));
        let none = HeaderMap::new();
        let trusted = [Cidr::parse("127.0.0.0/8").expect("cidr")];
        assert!(peer_is_loopback(lo, &none, &[]));
        assert!(!peer_is_loopback(lo, &fwd, &[]), "a proxy we were not told of");
        assert!(!peer_is_loopback(lo, &std_fwd, &[]));
        assert!(!peer_is_loopback(lo, &real, &[]));
        // A trusted proxy's last hop is the client: a forged first hop does not count.
        assert_eq!(client_ip(lo, &fwd, &trusted), Some([203, 0, 113, 7].into()));
        assert!(!peer_is_loopback(lo, &fwd, &trusted));
        assert!(peer_is_loopback(lo, &real, &trusted));
        assert_eq!(client_ip(lan, &real, &trusted), None, "10.0.0.9 is not a trusted proxy");
    }

    #[test]
    fn cidrs_parse_and_contain() {
        let c = Cidr::parse("10.0.0.0/8").expect("v4");
        assert!(c.contains([10, 200, 1, 1].into()) && !c.contains([11, 0, 0, 1].into()));
        assert!(c.contains("::ffff:10.1.1.1".parse().expect("mapped")));
        let one = Cidr::parse("::1").expect("v6");
        assert!(one.contains("::1".parse().expect("v6")) && !one.contains("::2".parse().expect("v6")));
        assert!(Cidr::parse("0.0.0.0/0").expect("all").contains([8, 8, 8, 8].into()));
        assert_eq!(Cidr::parse("10.0.0.0/33"), None);
        assert_eq!(Cidr::parse("nope"), None);
    }

    #[test]
    fn the_handle_swaps_the_whole_table() {
        let h = AccessHandle::new(Tokens::default());
        let before = h.current();
        h.replace(table());
        assert!(!before.has_people(), "a reader keeps the table it took");
        assert!(h.current().person("l-tok").is_some());
    }
}
