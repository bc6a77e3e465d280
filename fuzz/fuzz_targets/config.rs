//! Any bytes as a config file, through the loader `serve` and `check-config` run.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    floorwatch::config::fuzz_parse(data);
});
