//! Decode throughput of each vendor format against the canonical decoder —
//! measured, printed, never asserted.
//!
//! `cargo bench --bench vendors` decodes, in one thread, the same number of
//! events in each format (as a vendor sends them: Connect agent records in
//! arrays of 100, Firehose deliveries of 100 base64 records, one EventBridge
//! contact event per request, one Genesys notification per frame, one Twilio
//! callback per request, Event Streams arrays of 50), each with fresh event ids so
//! none is dropped as a duplicate, and prints events/s for each (median of the
//! rounds) and its ratio to the canonical decoder on the simulator's frames of 100.
//!
//! Knobs: FW_BENCH_EVENTS (default 200000 per format), FW_BENCH_ROUNDS (default 5).

mod support;

use base64::Engine as _;
use floorwatch::event::{Event, Id};
use floorwatch::ingest::Rejection;
use floorwatch::ingest::vendor::{self, Cx, SourceState};
use floorwatch::ingest::vendor_config::{Format, VendorSettings};
use support::{env_or, frame, site_events};
use tokio::time::Instant;

/// One format's messages, and the events they hold.
struct Load {
    name: &'static str,
    format: Option<Format>,
    messages: Vec<Vec<u8>>,
    events: usize,
}

fn main() {
    let total = env_or("FW_BENCH_EVENTS", 200_000);
    let rounds = env_or("FW_BENCH_ROUNDS", 5).max(1);
    let loads = loads(total);
    println!("decode throughput, {total} events per format, median of {rounds} rounds");
    let mut canonical = None;
    for load in &loads {
        let mut rates: Vec<f64> = (0..rounds).map(|_| run(load)).collect();
        rates.sort_by(f64::total_cmp);
        let median = rates[rates.len() / 2];
        let base = *canonical.get_or_insert(median);
        println!(
            "{:<34} {:>12.0} events/s  ({:.2}x canonical, {} messages)",
            load.name,
            median,
            median / base,
            load.messages.len()
        );
    }
}

/// Events per second decoding every message of `load` once.
fn run(load: &Load) -> f64 {
    let source = Id::from("bench");
    let settings = VendorSettings::defaults(load.format.unwrap_or(Format::Twilio));
    let mut state = SourceState::default();
    let (mut out, mut rejected): (Vec<Event>, Vec<Rejection>) = (Vec::new(), Vec::new());
    let mut got = 0;
    let start = Instant::now();
    for m in &load.messages {
        match load.format {
            None => {
                let text = std::str::from_utf8(m).unwrap_or_default();
                floorwatch::ingest::canonical::decode(text, &source, &mut out, &mut rejected);
            }
            Some(f) => {
                let mut cx =
                    Cx { source: &source, settings: &settings, state: &mut state, now: 1_795_420_800_000 };
                vendor::decode(f, m, &mut cx, &mut out, &mut rejected);
            }
        }
        got += out.len();
        out.clear();
        rejected.clear();
    }
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(got, load.events, "{}: every event decoded", load.name);
    got as f64 / secs.max(1e-9)
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn ts(i: usize) -> String {
    floorwatch::event::format_ts(1_795_420_800_000 + i as i64 * 37)
}

fn connect_record(i: usize) -> String {
    let status = ["Available", "Lunch", "Break", "Training"][i % 4];
    let contacts = if i % 3 == 0 {
        format!(
            r#"{{"Channel":"VOICE","ContactId":"contact-{i}","State":"CONNECTED","Queue":{{"ARN":"arn:aws:connect:eu-west-2:123456789012:instance/i-1/queue/q-{}","Name":"Q"}}}}"#,
            i % 20
        )
    } else {
        String::new()
    };
    format!(
        r#"{{"AWSAccountId":"123456789012","AgentARN":"arn:aws:connect:eu-west-2:123456789012:instance/i-1/agent/agent-{}","CurrentAgentSnapshot":{{"AgentStatus":{{"ARN":"arn:x","Name":"{status}","StartTimestamp":"{}"}},"Configuration":{{"FirstName":"Li","LastName":"Wei","Username":"lwei","RoutingProfile":{{"Name":"Basic"}}}},"Contacts":[{contacts}]}},"EventId":"evt-{i:012}","EventTimestamp":"{}","EventType":"STATE_CHANGE","InstanceARN":"arn:aws:connect:eu-west-2:123456789012:instance/i-1","Version":"2019-05-25"}}"#,
        i % 500,
        ts(i),
        ts(i)
    )
}

fn contact_event(i: usize) -> String {
    let kind = ["QUEUED", "CONNECTED_TO_AGENT", "DISCONNECTED"][i % 3];
    format!(
        r#"{{"version":"0","id":"ev-{i:012}","detail-type":"Amazon Connect Contact Event","source":"aws.connect","account":"123456789012","time":"{}","region":"eu-west-2","resources":[],"detail":{{"eventType":"{kind}","contactId":"contact-{}","channel":"VOICE","initiationMethod":"INBOUND","customerEndpoint":{{"address":"+14255550100","type":"TELEPHONE_NUMBER"}},"queueInfo":{{"queueType":"STANDARD","queueArn":"arn:x/queue/q-{}","enqueueTimestamp":"{}"}},"agentInfo":{{"agentArn":"arn:x/agent/agent-{}","connectedToAgentTimestamp":"{}"}},"disconnectTimestamp":"{}"}}}}"#,
        ts(i),
        i / 3,
        i % 20,
        ts(i),
        i % 500,
        ts(i),
        ts(i)
    )
}

fn genesys(i: usize) -> String {
    let status = ["IDLE", "INTERACTING", "NOT_RESPONDING", "COMMUNICATING"][i % 4];
    format!(
        r#"{{"topicName":"v2.users.user-{}.routingStatus","version":"2","eventBody":{{"routingStatus":{{"status":"{status}","startTime":"{}"}}}},"metadata":{{"CorrelationId":"corr-{i:012}"}}}}"#,
        i % 500,
        ts(i)
    )
}

fn twilio_form(i: usize) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    let kind = ["task.created", "reservation.accepted", "task.completed"][i % 3];
    s.append_pair("EventType", kind)
        .append_pair("Sid", &format!("EV{i:032}"))
        .append_pair("Timestamp", &(1_795_420_800 + i).to_string())
        .append_pair("AccountSid", "AC00000000000000000000000000000001")
        .append_pair("WorkspaceSid", "WS00000000000000000000000000000001")
        .append_pair("TaskSid", &format!("WT{:032}", i / 3))
        .append_pair("TaskQueueSid", "WQ00000000000000000000000000000001")
        .append_pair("TaskQueueName", "Support")
        .append_pair("TaskAttributes", r#"{"from":"+14155550100","type":"inbound"}"#)
        .append_pair("WorkerSid", &format!("WK{:032}", i % 500))
        .append_pair("WorkerName", "alice");
    s.finish()
}

fn twilio_cloudevent(i: usize) -> String {
    format!(
        r#"{{"specversion":"1.0","type":"com.twilio.taskrouter.worker.activity.update","source":"/v1/Workspaces/WS1/Workers/WK1","id":"EZ{i:032}","datacontenttype":"application/json","time":"{}","data":{{"payload":{{"worker_sid":"WK{:032}","worker_name":"alice","worker_activity_name":"{}","worker_previous_activity_name":"Available","timestamp":{}}}}}}}"#,
        ts(i),
        i % 500,
        ["Available", "Break", "Lunch", "Unavailable"][i % 4],
        1_795_420_800_000u64 + i as u64
    )
}

fn loads(total: usize) -> Vec<Load> {
    let sim = site_events(
        &floorwatch::sim::SimConfig { agents: 1000, teams: 4, seed: 7, ..Default::default() },
        1,
        total,
    );
    let mut seq = 0;
    let canonical: Vec<Vec<u8>> =
        sim[0].chunks(100).map(|c| frame(c, "bench", &mut seq).into_bytes()).collect();
    let arrays = |n: usize, f: fn(usize) -> String| -> Vec<Vec<u8>> {
        (0..total)
            .collect::<Vec<_>>()
            .chunks(n)
            .map(|c| format!("[{}]", c.iter().map(|&i| f(i)).collect::<Vec<_>>().join(",")).into_bytes())
            .collect()
    };
    let singles =
        |f: fn(usize) -> String| -> Vec<Vec<u8>> { (0..total).map(|i| f(i).into_bytes()).collect() };
    let firehose: Vec<Vec<u8>> = (0..total)
        .collect::<Vec<_>>()
        .chunks(100)
        .enumerate()
        .map(|(k, c)| {
            let records: Vec<String> =
                c.iter().map(|&i| format!(r#"{{"data":"{}"}}"#, b64(&connect_record(i)))).collect();
            format!(
                r#"{{"requestId":"req-{k}","timestamp":1795420800000,"records":[{}]}}"#,
                records.join(",")
            )
            .into_bytes()
        })
        .collect();
    // Completed tasks without a remembered worker still end a call: every
    // message is one event, except task.completed with a worker, which is two.
    let twilio_events = (0..total).map(|i| if i % 3 == 2 { 2 } else { 1 }).sum();
    vec![
        Load { name: "canonical (frames of 100)", format: None, messages: canonical, events: total },
        Load {
            name: "amazon-connect agent (arrays of 100)",
            format: Some(Format::AmazonConnect),
            messages: arrays(100, connect_record),
            events: total,
        },
        Load {
            name: "amazon-connect firehose (100/req)",
            format: Some(Format::AmazonConnect),
            messages: firehose,
            events: total,
        },
        Load {
            name: "amazon-connect eventbridge (1/req)",
            format: Some(Format::AmazonConnect),
            messages: singles(contact_event),
            events: total,
        },
        Load {
            name: "genesys-cloud routing (1/frame)",
            format: Some(Format::GenesysCloud),
            messages: singles(genesys),
            events: total,
        },
        Load {
            name: "twilio callback form (1/req)",
            format: Some(Format::Twilio),
            messages: singles(twilio_form),
            events: twilio_events,
        },
        Load {
            name: "twilio event streams (arrays of 50)",
            format: Some(Format::Twilio),
            messages: arrays(50, twilio_cloudevent),
            events: total,
        },
    ]
}
