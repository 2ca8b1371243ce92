//! sealpost's fuzz targets (issue #9): [`harness`] is what each target runs on one input (shared with
//! `tests/regressions.rs`); [`Bounded`] is the allocator every target runs under.
//!
//! Why `--sanitizer none` (scripts/fuzz): only the stable toolchain exists here, and AddressSanitizer needs
//! `-Zsanitizer` (so `RUSTC_BOOTSTRAP=1`). sealpost and its Rust dependencies are memory-safe code, the C and
//! assembly inside aws-lc would not be instrumented anyway, and ASan costs 2-3x in executions. What ASan's
//! runtime would still give, libFuzzer's `-malloc_limit_mb` (it needs the sanitizer's malloc hooks), is
//! [`Bounded`]: one allocation over the limit aborts, so libFuzzer records the input that asked for it even
//! when the pages are never touched and `-rss_limit_mb` would not see them.

use std::alloc::{GlobalAlloc, Layout, System};

pub mod harness;

/// Largest single allocation allowed: `SEALPOST_FUZZ_MALLOC_LIMIT_MB` (default 2048, libFuzzer's own
/// default `-malloc_limit_mb`, which is its `-rss_limit_mb`).
fn limit() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static LIMIT: AtomicUsize = AtomicUsize::new(0);
    match LIMIT.load(Ordering::Relaxed) {
        0 => {
            let mb = std::env::var_os("SEALPOST_FUZZ_MALLOC_LIMIT_MB")
                .and_then(|v| v.to_str().and_then(|s| s.parse::<usize>().ok()))
                .unwrap_or(2048);
            let bytes = mb.saturating_mul(1 << 20).max(1);
            LIMIT.store(bytes, Ordering::Relaxed);
            bytes
        }
        l => l,
    }
}

/// The system allocator, aborting on one allocation larger than [`limit`].
pub struct Bounded;

fn check(size: usize) {
    // Small allocations never look at the limit, so reading it (which allocates a little) cannot recurse.
    if size <= 64 << 20 {
        return;
    }
    let l = limit();
    if size > l {
        // Not a panic: the allocator must not unwind. libFuzzer treats the abort as a crash and saves the
        // input; the message says why.
        let msg = b"==sealpost-fuzz== single allocation over the limit (SEALPOST_FUZZ_MALLOC_LIMIT_MB)\n";
        let _ = std::io::Write::write_all(&mut std::io::stderr(), msg);
        std::process::abort();
    }
}

// SAFETY: every call goes to the system allocator with the caller's own arguments; `check` only reads the
// size and may abort, it never changes a pointer or a layout.
unsafe impl GlobalAlloc for Bounded {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        // SAFETY: the caller's contract for `alloc` is the one `System::alloc` has.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator, with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        check(new_size);
        // SAFETY: as for `dealloc`; `new_size` is the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Bounded = Bounded;
