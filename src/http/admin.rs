//! Writes under `/api/` (contract §2), judged in one place: [`AdminWrite`] reads
//! the body, applies the admin rule, parses the body whole, checks every field
//! ([`WriteBody`]) and says who made the write ([`Author`]). A handler that takes
//! one runs only for an admitted, valid write, and writes what it was given.
//!
//! The steps run in the order the handlers ran them by hand, so every refusal is
//! what it was: the body is read (413 if too big) before the admin rule (401/403),
//! and the admin rule comes before the body is judged (422 naming the field).
//! [`AdminRequest`] stops after the admin rule, for a handler that has something to
//! judge before the body.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::auth::{read_actor, write_actor};
use super::{ApiError, AppState};
use crate::access::{Actor, Can};
use crate::event::Ts;
use crate::store::incidents::Audit;

/// Who made a write, what they sent and when: what its audit row records.
#[derive(Debug)]
pub(super) struct Author {
    /// The token's name; without a token that names one (a trusted loopback),
    /// the body's `by`, or `anonymous@<peer ip>` (see [`WriteBody::actor`]).
    pub(super) actor: String,
    /// The body's `by` when a token named the actor: what the client said of
    /// itself, kept as a note, never as the actor.
    pub(super) by: Option<String>,
    /// Who the access rules say is writing (role, teams).
    pub(super) who: Actor,
    /// The body as sent, so the trail shows what was entered; `None` when empty.
    pub(super) detail: Option<String>,
    /// When the write arrived, on the daemon's clock.
    pub(super) at: Ts,
}

impl Author {
    /// A write's note with the client's `by` kept in it (see [`Author::by`]).
    pub(super) fn note_with_by(&self, note: Option<String>) -> Option<String> {
        match (&self.by, note) {
            (None, n) => n,
            (Some(b), None) => Some(format!("by {b}")),
            (Some(b), Some(n)) => Some(format!("{n} (by {b})")),
        }
    }

    /// 403 unless the writer reaches `team` (a lead: their own teams only).
    pub(super) fn reach(&self, what: &str, team: Option<&str>) -> Result<(), ApiError> {
        if self.who.reaches(team) {
            return Ok(());
        }
        let whose = match team {
            Some(t) => format!("team {t}"),
            None => "no team".to_owned(),
        };
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "{} is a lead of {}: this {what} is of {whose}",
                self.who.name,
                self.who.teams.join(", ")
            ),
        ))
    }

    /// The audit row committed in the same transaction as the write.
    pub(super) fn into_audit(self, action: &str, target: Option<String>) -> Audit {
        Audit { at: self.at, actor: self.actor, action: action.into(), target, detail: self.detail }
    }
}

/// The JSON body of a write: its shape (serde) and its rules ([`validate`]).
///
/// [`validate`]: WriteBody::validate
pub(super) trait WriteBody: DeserializeOwned + Default {
    /// The body checked whole: what the handler writes.
    type Valid;

    /// What a role must be allowed to make this write (contract §9).
    const NEEDS: Can;

    /// Takes out the body's `by`: who made the write, by their own account.
    fn take_by(&mut self) -> Option<String>;

    /// Checks every field, naming the first at fault.
    fn validate(self, author: &Author) -> Result<Self::Valid, ApiError>;

    /// Reads a body that is not blank (a blank one is `Default`): every field
    /// typed as declared, a mistake a 422 naming the field.
    fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let de = &mut serde_json::Deserializer::from_slice(body);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." { "body" } else { path.as_str() };
            ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, field, e.inner().to_string())
        })
    }

    /// Who made the write: the body's `by`, trimmed, or the client's address.
    fn actor(by: Option<String>, peer: SocketAddr) -> String {
        by.map(|b| b.trim().to_owned()).filter(|b| !b.is_empty()).unwrap_or_else(|| anonymous(peer))
    }
}

/// The actor of a write that names nobody.
pub(super) fn anonymous(peer: SocketAddr) -> String {
    format!("anonymous@{}", peer.ip())
}

/// A write that passed the admin rule, its body read but not yet judged.
#[derive(Debug)]
pub(super) struct AdminRequest {
    actor: Actor,
    peer: SocketAddr,
    body: Bytes,
    at: Ts,
}

impl AdminRequest {
    /// Parses and checks the body whole: the rest of [`AdminWrite`].
    pub(super) fn judge<B: WriteBody>(self) -> Result<AdminWrite<B>, ApiError> {
        if !self.actor.may(B::NEEDS) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "{} has role {}, which may not write {}",
                    self.actor.name,
                    self.actor.role.as_str(),
                    B::NEEDS.as_str()
                ),
            ));
        }
        let mut raw =
            if self.body.iter().all(u8::is_ascii_whitespace) { B::default() } else { B::parse(&self.body)? };
        let by = raw.take_by();
        let (actor, by) = if self.actor.named {
            (self.actor.name.clone(), by.map(|b| b.trim().to_owned()).filter(|b| !b.is_empty()))
        } else {
            (B::actor(by, self.peer), None)
        };
        let author = Author {
            actor,
            by,
            who: self.actor,
            detail: (!self.body.is_empty()).then(|| String::from_utf8_lossy(&self.body).into_owned()),
            at: self.at,
        };
        let body = raw.validate(&author)?;
        Ok(AdminWrite { body, author })
    }
}

impl FromRequest<AppState> for AdminRequest {
    type Rejection = Response;

    async fn from_request(req: Request, st: &AppState) -> Result<AdminRequest, Response> {
        let (mut parts, body) = req.into_parts();
        let ConnectInfo(peer) = ConnectInfo::<SocketAddr>::from_request_parts(&mut parts, st)
            .await
            .map_err(IntoResponse::into_response)?;
        // Kept for the admin rule, which comes after the body is read.
        let headers = parts.headers.clone();
        let body = Bytes::from_request(Request::from_parts(parts, body), st)
            .await
            .map_err(IntoResponse::into_response)?;
        let actor = write_actor(st, &headers, peer).map_err(IntoResponse::into_response)?;
        Ok(AdminRequest { actor, peer, body, at: st.incidents.now_ms() })
    }
}

/// An admitted write with its body checked whole.
pub(super) struct AdminWrite<B: WriteBody> {
    pub(super) body: B::Valid,
    pub(super) author: Author,
}

impl<B> FromRequest<AppState> for AdminWrite<B>
where
    B: WriteBody + Send,
{
    type Rejection = Response;

    async fn from_request(req: Request, st: &AppState) -> Result<AdminWrite<B>, Response> {
        AdminRequest::from_request(req, st).await?.judge().map_err(IntoResponse::into_response)
    }
}

/// `GET /api/whoami`: who the caller is to the access rules and what it may do
/// (the console shows only that). With people's tokens configured, a missing or
/// wrong token is a 401; otherwise the caller is told what it is trusted as.
pub(super) async fn whoami(
    axum::extract::State(st): axum::extract::State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let actor = if st.access.current().has_people() {
        write_actor(&st, &headers, peer)?
    } else {
        read_actor(&st, &headers, peer)
    };
    Ok(axum::Json(whoami_json(&actor)).into_response())
}

fn whoami_json(a: &Actor) -> serde_json::Value {
    let can: serde_json::Map<String, serde_json::Value> =
        Can::ALL.iter().map(|c| (c.as_str().to_owned(), serde_json::Value::Bool(a.may(*c)))).collect();
    serde_json::json!({"name": a.name, "role": a.role.as_str(), "teams": a.teams, "can": can})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::alerts::AckBody;

    /// A body with the shared rules: `n` must be a number.
    #[derive(Debug, Default, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        n: Option<u32>,
        by: Option<String>,
    }

    impl WriteBody for Body {
        type Valid = Option<u32>;
        const NEEDS: Can = Can::Incidents;

        fn take_by(&mut self) -> Option<String> {
            self.by.take()
        }

        fn validate(self, _: &Author) -> Result<Option<u32>, ApiError> {
            Ok(self.n)
        }
    }

    fn request(body: &str) -> AdminRequest {
        as_actor(Actor::loopback(), body)
    }

    fn as_actor(actor: Actor, body: &str) -> AdminRequest {
        AdminRequest {
            actor,
            peer: SocketAddr::from(([10, 0, 0, 7], 4000)),
            body: Bytes::from(body.to_owned()),
            at: 7,
        }
    }

    fn refusal<B: WriteBody>(body: &str) -> ApiError {
        request(body).judge::<B>().err().expect("refused")
    }

    #[test]
    fn blank_body_is_the_default_written_by_the_peer() {
        let w = request("").judge::<Body>().expect("accepted");
        assert_eq!(
            (w.body, w.author.actor.as_str(), w.author.detail, w.author.at),
            (None, "anonymous@10.0.0.7", None, 7)
        );
        // Whitespace is still what was sent, for the trail.
        let w = request(" \n").judge::<Body>().expect("accepted");
        assert_eq!(w.author.detail.as_deref(), Some(" \n"));
    }

    #[test]
    fn shared_rules_name_the_field_and_trim_the_actor() {
        let e = refusal::<Body>(r#"{"n": "three"}"#);
        assert_eq!((e.status, e.field.as_deref()), (StatusCode::UNPROCESSABLE_ENTITY, Some("n")));
        let e = refusal::<Body>(r#"{"n": 3, "colour": "red"}"#);
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        let w = request(r#"{"n": 3, "by": "  ann "}"#).judge::<Body>().expect("accepted");
        assert_eq!((w.body, w.author.actor.as_str()), (Some(3), "ann"));
        assert_eq!(w.author.detail.as_deref(), Some(r#"{"n": 3, "by": "  ann "}"#));
    }

    fn lead() -> Actor {
        Actor {
            name: "lead-1".into(),
            role: crate::access::Role::Lead,
            teams: vec!["t1".into()],
            named: true,
        }
    }

    #[test]
    fn a_named_token_is_the_actor_and_by_only_a_note() {
        let w =
            as_actor(lead(), r#"{"by": " 张伟 ", "note": "on it"}"#).judge::<AckBody>().expect("accepted");
        assert_eq!((w.author.actor.as_str(), w.author.by.as_deref()), ("lead-1", Some("张伟")));
        assert_eq!(w.author.note_with_by(w.body).as_deref(), Some("on it (by 张伟)"));
        let w = as_actor(Actor::admin(), "").judge::<AckBody>().expect("accepted");
        assert_eq!((w.author.actor.as_str(), w.author.note_with_by(None)), ("admin", None));
    }

    #[test]
    fn the_role_is_checked_before_the_body() {
        let e = as_actor(lead(), "{not json").judge::<Body>().err().expect("refused");
        assert_eq!(e.status, StatusCode::FORBIDDEN, "a lead may not write incidents: {}", e.msg);
        let e = as_actor(Actor::anonymous(), "").judge::<AckBody>().err().expect("refused");
        assert_eq!(e.status, StatusCode::FORBIDDEN);
        let w = as_actor(lead(), "").judge::<AckBody>().expect("a lead acknowledges");
        assert!(w.author.reach("alert", Some("t1")).is_ok());
        assert_eq!(w.author.reach("alert", Some("t2")).err().map(|e| e.status), Some(StatusCode::FORBIDDEN));
        assert_eq!(w.author.reach("alert", None).err().map(|e| e.status), Some(StatusCode::FORBIDDEN));
    }

    #[test]
    fn whoami_has_the_console_shape() {
        let v = whoami_json(&lead());
        assert_eq!(
            v,
            serde_json::json!({"name": "lead-1", "role": "lead", "teams": ["t1"],
                "can": {"ack": true, "incidents": false, "faults": false, "callbacks": true, "audit": false, "roster": false, "handover": true, "countersign": false, "overrun_review": true, "overrun_sign_off": false}})
        );
    }

    #[test]
    fn acknowledgement_keeps_its_own_rules() {
        let e = refusal::<AckBody>("{not json");
        assert_eq!((e.status, e.field), (StatusCode::BAD_REQUEST, None));
        assert!(e.msg.starts_with("body must be {\"by\": …, \"note\": …}: "), "{}", e.msg);
        // serde_json's reader refuses what trails the object; the shared one does not.
        assert_eq!(refusal::<AckBody>(r#"{"by": "ann"} x"#).status, StatusCode::BAD_REQUEST);
        let w =
            request(r#"{"by": " ann ", "note": "on it", "extra": 1}"#).judge::<AckBody>().expect("accepted");
        assert_eq!((w.author.actor.as_str(), w.body.as_deref()), (" ann ", Some("on it")));
        let w = request(r#"{"by": "  "}"#).judge::<AckBody>().expect("accepted");
        assert_eq!((w.author.actor.as_str(), w.body), ("anonymous@10.0.0.7", None));
    }
}
