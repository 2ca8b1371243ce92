//! Fuzz target `config_parse`: see [`sealpost_fuzz::harness::config_parse`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = sealpost_fuzz::harness::config_parse(data);
});
