//! Fuzz target `smtp_command`: see [`sealpost_fuzz::harness::smtp_command`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = sealpost_fuzz::harness::smtp_command(data);
});
