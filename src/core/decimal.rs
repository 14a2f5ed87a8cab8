//! Whole decimal numbers in text, read and written without `core::fmt` and `str::parse` (whose
//! machinery would weigh on the wasm): the version in a marker lock's name, a port in an
//! allowlist entry, and the edge's `Content-Length` and `Retry-After` headers.
use alloc::string::String;

/// Appends `n` in decimal, as `n.to_string()` would.
pub fn push(out: &mut String, n: u64) {
    // The largest power of ten not above `n`, then one digit per power, highest first: no
    // buffer to index, so no bounds check (whose panic message would bring `core::fmt`'s
    // tables into the wasm).
    let mut power = 1;
    while n / power >= 10 {
        power *= 10;
    }
    loop {
        out.push(char::from(b'0' + (n / power % 10) as u8));
        if power == 1 {
            break;
        }
        power /= 10;
    }
}

/// `text` as a whole number: one or more ASCII digits and nothing else (no sign, no spaces).
/// `None` for anything else, or a number over `u64::MAX`.
pub fn parse(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.bytes().try_fold(0u64, |n, b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        // `n * 10` only below the bound where it cannot overflow (`checked_mul` would bring a
        // 128-bit multiply into the wasm).
        (n <= u64::MAX / 10)
            .then(|| n * 10)?
            .checked_add(u64::from(digit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn writes_as_to_string_does() {
        for n in [0, 7, 10, 1_795_292_050_970, u64::MAX] {
            let mut s = String::new();
            push(&mut s, n);
            assert_eq!(s, n.to_string());
        }
    }

    #[test]
    fn reads_digits_only() {
        assert_eq!(parse("0"), Some(0));
        assert_eq!(parse("0080"), Some(80));
        assert_eq!(parse("18446744073709551615"), Some(u64::MAX));
        for bad in [
            "",
            "+1",
            "-1",
            " 1",
            "1 ",
            "1.5",
            "1e3",
            "x",
            "18446744073709551616",
            "٣",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
