//! Fuzz target `imap_proxy`: see [`sealpost_fuzz::harness::imap_proxy`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = sealpost_fuzz::harness::imap_proxy(data);
});
