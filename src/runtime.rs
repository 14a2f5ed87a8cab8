//! What `std` would provide to the `no_std` wasm build: a panic handler and an allocator.

/// A panic traps (`unreachable`), exactly what `panic = "abort"` does with std, but without
/// formatting the message first — which is what keeps `core::fmt` out of the wasm.
#[panic_handler]
fn on_panic(_: &::core::panic::PanicInfo<'_>) -> ! {
    ::core::arch::wasm32::unreachable()
}

/// lol_alloc's free-list allocator (address-ordered, coalescing) instead of dlmalloc: a few
/// hundred bytes of code instead of about 7 KB. The session allocates little and briefly.
// SAFETY: wasm32 without the `atomics` target feature has one thread, so no allocation can
// race with another.
#[global_allocator]
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };
