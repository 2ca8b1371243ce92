//! Fuzz target `cms_parse`: see [`sealpost_fuzz::harness::cms_parse`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = sealpost_fuzz::harness::cms_parse(data);
});
