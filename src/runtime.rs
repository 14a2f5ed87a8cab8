//! What `std` would provide to the `no_std` npm build: a panic handler and an allocator.

use core::alloc::{GlobalAlloc, Layout};

/// A panic traps (`unreachable`), exactly what `panic = "abort"` does with std, but without
/// formatting the message first — which is what keeps `core::fmt` out of the wasm.
#[panic_handler]
fn on_panic(_: &::core::panic::PanicInfo<'_>) -> ! {
    ::core::arch::wasm32::unreachable()
}

/// lol_alloc's free-list allocator (address-ordered, coalescing) instead of dlmalloc: a few
/// hundred bytes of code instead of about 7 KB. The session allocates little and briefly.
/// Every block is zeroed when it is freed (`Wiping`), so that no token, refresh token or
/// password that passed through the wasm memory — in the core, or in the buffers
/// wasm-bindgen's glue copies strings through — stays in it once freed.
// SAFETY: wasm32 without the `atomics` target feature has one thread, so no allocation can
// race with another.
#[global_allocator]
static ALLOCATOR: Wiping<lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator>> =
    Wiping(unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) });

/// An allocator that zeroes each block before it frees it. `realloc` is `GlobalAlloc`'s own:
/// a new block, a copy, and the old block freed — so zeroed — too.
struct Wiping<A>(A);

// SAFETY: every call is forwarded to the inner allocator with the arguments it was given; the
// only addition, zeroing a block before freeing it, writes `layout.size()` bytes of a block
// the caller owns and gives up (GlobalAlloc::dealloc's contract).
unsafe impl<A: GlobalAlloc> GlobalAlloc for Wiping<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        unsafe { self.0.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` is a live block of `layout.size()` bytes that the caller frees now.
        unsafe {
            ptr.write_bytes(0, layout.size());
            self.0.dealloc(ptr, layout);
        }
    }
}
