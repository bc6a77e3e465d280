//! Replay speed — measured, printed, never asserted.
//!
//! `cargo bench --bench replay` runs the whole Anonymous Bank February file
//! (`../shared/data`, or `/work/shared/data`) as `replay --speed max` does and
//! prints the wall time (goal < 1 s in release), events per second and where
//! the time goes: reading (parse, inference of presence, sort), the engine step
//! on the events, letting stream time pass (the step's deadlines: overruns,
//! the rules' sweeps when they may change something, the floor's purge), and the report (collecting, JSON, HTML). Best of three runs.

use std::path::{Path, PathBuf};

use floorwatch::config::Config;
use floorwatch::replay::{self, Format, Options, Stream};
use tokio::time::Instant;

fn data() -> Option<PathBuf> {
    let name = "anonymous-bank-1999/data_anonymous_bank_february.txt";
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data").join(name);
    [beside, Path::new("/work/shared/data").join(name)].into_iter().find(|p| p.is_file())
}

fn main() -> anyhow::Result<()> {
    let Some(path) = data() else {
        println!("replay bench: the February file is not there; nothing measured");
        return Ok(());
    };
    let text = std::fs::read_to_string(&path)?;
    let cfg = Config::default();
    let opts = Options::for_format(Format::AnonymousBank, &cfg);
    let mut best: Option<[f64; 7]> = None;
    let mut events = 0u64;
    let mut wakeups = 0u64;
    for _ in 0..3 {
        let t0 = Instant::now();
        let stream = Stream::read(Format::AnonymousBank, &text)?;
        let read = t0.elapsed().as_secs_f64();
        events = stream.events.len() as u64;
        let t1 = Instant::now();
        let (report, timings) = replay::run(stream, &cfg, &opts, &mut |_, _| {});
        let run = t1.elapsed().as_secs_f64();
        let t2 = Instant::now();
        let json = serde_json::to_string(&report)?;
        let json_secs = t2.elapsed().as_secs_f64();
        let t3 = Instant::now();
        let html = replay::html::render(&report, "february");
        let html_secs = t3.elapsed().as_secs_f64();
        std::hint::black_box((json.len(), html.len()));
        wakeups = timings.wakeups;
        let total = read + run + json_secs.max(html_secs);
        let row =
            [total, read, timings.step_secs, timings.ticks_secs, timings.report_secs, json_secs, html_secs];
        if best.is_none_or(|b| total < b[0]) {
            best = Some(row);
        }
    }
    let Some([total, read, step, ticks, collect, json, html]) = best else { return Ok(()) };
    println!("replay of {} ({events} events, best of 3)", path.display());
    println!("  total (read + run + report)  {:7.3} s   {:.0} events/s", total, events as f64 / total);
    println!("  read: parse, infer, sort     {read:7.3} s");
    println!("  engine step on the events    {step:7.3} s   {:.0} events/s", events as f64 / step);
    println!(
        "  stream time passing          {ticks:7.3} s   {wakeups} wake-ups (overruns, sweeps that may change \
         something, purges when a call may expire)"
    );
    println!("  collecting the report        {collect:7.3} s");
    println!("  JSON {json:.3} s · HTML {html:.3} s (one of the two per run)");
    Ok(())
}
