//! Fuzz target `mime_parse`: see [`sealpost_fuzz::harness::mime_parse`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = sealpost_fuzz::harness::mime_parse(data);
});
