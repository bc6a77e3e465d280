//! Any bytes as an `/ingest` text frame: the one function that takes arbitrary
//! input from the network.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    floorwatch::ingest::canonical::decode::fuzz_decode(data);
});
