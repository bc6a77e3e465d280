use super::config::{RawIncidentsConfig, RawPlaybook, default_playbooks, mask, render};
use super::*;

#[test]
fn numbers_are_masked_but_recognisable() {
    assert_eq!(mask("13800000001"), "138****0001");
    assert_eq!(mask("+8613800000001"), "+86138****0001");
    assert_eq!(mask("02161234567"), "021****4567");
    assert_eq!(mask("95588"), "9**88");
    assert_eq!(mask("0216123456"), "02****3456");
    assert_eq!(mask("110"), "***");
    // Never the whole number, whatever its length.
    for n in ["1234567", "123456789012345", "+44 20 7946 0018"] {
        assert_ne!(mask(n), n);
        assert_eq!(mask(n).chars().count(), n.chars().count());
    }
}

#[test]
fn templates_fill_queue_component_and_eta_in_each_language() {
    let zh = render("{queue} 预计{eta}内恢复（{component}）", Some("billing"), None, 30, true);
    assert_eq!(zh, "billing 预计30 分钟内恢复（相关）");
    let en = render("{component} back within {eta}; {typo}", None, Some("trunk-2"), 15, false);
    assert_eq!(en, "trunk-2 back within 15 minutes; {typo}", "unknown placeholders stay visible");
}

/// Scripts are read to customers: display names in the script's language, never
/// an internal id once the config names the part ("因系统故障（trunk-2）" was the bug).
#[test]
fn scripts_say_display_names_in_their_own_language() {
    use crate::vocab::{Language, Names};
    let mut cfg = IncidentsConfig::default();
    let names = |zh: &str, en: &str| Names { zh: Some(zh.into()), en: Some(en.into()) };
    cfg.components.insert("trunk-2".into(), names("2 号中继线", "trunk line 2"));
    cfg.queue_names.insert("billing".into(), names("账单查询", "Billing"));
    let t = "{queue}（{component}）";
    assert_eq!(
        cfg.render_in(t, Some("billing"), Some("trunk-2"), 30, Language::ZhCn),
        "账单查询（2 号中继线）"
    );
    assert_eq!(
        cfg.render_in(t, Some("billing"), Some("trunk-2"), 30, Language::En),
        "Billing（trunk line 2）"
    );
    // A part the config does not name is still said, by its id.
    assert_eq!(cfg.render_in(t, None, Some("ivr"), 30, Language::En), "the affected（ivr）");
}

#[test]
fn defaults_cover_surges_faults_silent_sources_and_manual_incidents() {
    let cfg = IncidentsConfig::default();
    for kind in ["traffic_surge", "system_fault", "source_down", "manual"] {
        let pb =
            PlaybookKind::parse(kind).and_then(|k| cfg.playbook_for(k, Some("billing"), Some("trunk-2")));
        let pb = pb.expect(kind);
        assert!(!pb.approval, "{kind}: published at once by default");
        assert!(pb.script_zh.contains("{"), "{kind}: a template");
        assert!(!pb.script_en.is_empty());
    }
    let acw = PlaybookKind::Alert(Kind::AcwOverrun);
    assert!(cfg.playbook_for(acw, None, None).is_none(), "one agent's overrun is no incident");
    assert!(cfg.mask_callers);
}

#[test]
fn a_specific_playbook_wins_and_keeps_the_default_wording_it_does_not_override() {
    let raw = RawIncidentsConfig {
        playbooks: vec![RawPlaybook {
            kind: "traffic_surge".into(),
            queue: Some("cards".into()),
            approval: true,
            ..RawPlaybook::default()
        }],
        ..RawIncidentsConfig::default()
    };
    let cfg = raw.validate().expect("valid");
    let surge = PlaybookKind::Alert(Kind::TrafficSurge);
    let cards = cfg.playbook_for(surge, Some("cards"), None).expect("cards");
    assert!(cards.approval);
    assert_eq!(cards.script_zh, default_playbooks()[0].script_zh);
    let billing = cfg.playbook_for(surge, Some("billing"), None).expect("billing");
    assert!(!billing.approval, "other queues keep the default playbook");
}

#[test]
fn bad_playbooks_are_reported_by_key() {
    let raw = RawIncidentsConfig {
        playbooks: vec![
            RawPlaybook { kind: "coffee".into(), ..RawPlaybook::default() },
            RawPlaybook { kind: "answer_rate_low".into(), ..RawPlaybook::default() },
            RawPlaybook {
                kind: "system_fault".into(),
                expected_recovery_mins: Some(0),
                ..RawPlaybook::default()
            },
        ],
        ..RawIncidentsConfig::default()
    };
    let errs = raw.validate().expect_err("invalid");
    let keys: Vec<&str> = errs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "incidents.playbooks[0].kind",
            "incidents.playbooks[1].script_zh",
            "incidents.playbooks[1].script_en",
            "incidents.playbooks[2].expected_recovery_mins"
        ]
    );
}
