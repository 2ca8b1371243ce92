//! Fuzz target `pem_message`: see [`sealpost_fuzz::harness::pem_message`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = sealpost_fuzz::harness::pem_message(data);
});
