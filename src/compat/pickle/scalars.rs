//! Numbers and text from their pickled forms: integers from text and from little-endian
//! two's complement, floats from text, Python's `raw-unicode-escape` and `surrogatepass`
//! UTF-8. Lengths are bounded by the caller.

use super::PyValue;

/// Largest integer a text or binary `LONG` may carry, in decimal digits: Python's own default
/// limit on int-to-text conversion (`sys.get_int_max_str_digits()`).
pub(super) const MAX_INT_DIGITS: usize = 4300;
/// Largest `LONG1`/`LONG4` payload: enough bytes for [`MAX_INT_DIGITS`] digits.
pub(super) const MAX_LONG_BYTES: usize = MAX_INT_DIGITS * 10 / 24 + 1;

/// An integer from its text (`INT`, `LONG`): an `i64` when it fits, else its digits.
pub(super) fn int_from_text(text: &str) -> Option<PyValue> {
    let text = text.trim();
    if let Ok(v) = text.parse::<i64>() {
        return Some(PyValue::Int(v));
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty()
        || digits.len() > MAX_INT_DIGITS
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let negative = text.starts_with('-');
    let digits = digits.trim_start_matches('0');
    Some(PyValue::BigInt(format!(
        "{}{digits}",
        if negative { "-" } else { "" }
    )))
}

/// An integer from `LONG1`/`LONG4` bytes: little-endian two's complement.
pub(super) fn int_from_le_bytes(bytes: &[u8]) -> PyValue {
    if bytes.is_empty() {
        return PyValue::Int(0);
    }
    let negative = bytes[bytes.len() - 1] & 0x80 != 0;
    if bytes.len() <= 8 {
        let mut buf = if negative { [0xff; 8] } else { [0; 8] };
        buf[..bytes.len()].copy_from_slice(bytes);
        return PyValue::Int(i64::from_le_bytes(buf));
    }
    // Magnitude, as little-endian bytes: negate the two's complement when negative.
    let mut mag = bytes.to_vec();
    if negative {
        let mut carry = true;
        for b in &mut mag {
            *b = !*b;
            if carry {
                let (v, c) = b.overflowing_add(1);
                *b = v;
                carry = c;
            }
        }
    }
    // Big-endian 32-bit limbs, divided by 10^9 repeatedly (schoolbook; the length is capped).
    let mut limbs: Vec<u32> = mag
        .chunks(4)
        .rev()
        .map(|c| {
            let mut w = [0u8; 4];
            w[..c.len()].copy_from_slice(c);
            u32::from_le_bytes(w)
        })
        .collect();
    let mut parts = Vec::new();
    while limbs.iter().any(|&l| l != 0) {
        let mut rem: u64 = 0;
        for l in &mut limbs {
            let cur = (rem << 32) | u64::from(*l);
            *l = (cur / 1_000_000_000) as u32;
            rem = cur % 1_000_000_000;
        }
        parts.push(rem as u32);
        while limbs.first() == Some(&0) {
            limbs.remove(0);
        }
    }
    let mut text = String::from(if negative { "-" } else { "" });
    for (i, part) in parts.iter().rev().enumerate() {
        if i == 0 {
            text.push_str(&part.to_string());
        } else {
            text.push_str(&format!("{part:09}"));
        }
    }
    if parts.is_empty() {
        text.push('0');
    }
    match text.parse::<i64>() {
        Ok(v) => PyValue::Int(v),
        Err(_) => PyValue::BigInt(text),
    }
}

/// Python's `float(text)` for the forms `repr(float)` writes (`inf`, `nan` included).
pub(super) fn parse_float(text: &str) -> Option<f64> {
    let t = text.trim();
    match t.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        "nan" | "+nan" | "-nan" => Some(f64::NAN),
        _ if t
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE_".contains(&b)) =>
        {
            t.replace('_', "").parse().ok()
        }
        _ => None,
    }
}

/// Python's `raw-unicode-escape` decoding (protocol 0 `UNICODE`): bytes are Latin-1 except
/// `\uXXXX` and `\UXXXXXXXX`.
pub(super) fn raw_unicode_escape(bytes: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // An escape only when preceded by an odd number of backslashes (Python's rule).
        if b == b'\\' && i + 1 < bytes.len() && matches!(bytes[i + 1], b'u' | b'U') {
            let n = if bytes[i + 1] == b'u' { 4 } else { 8 };
            let hex = bytes.get(i + 2..i + 2 + n)?;
            let code = u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
            // A lone surrogate cannot live in a Rust string; it becomes U+FFFD.
            out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
            i += 2 + n;
        } else if b == b'\\' && i + 1 < bytes.len() && bytes[i + 1] == b'\\' {
            out.push_str("\\\\");
            i += 2;
        } else {
            out.push(char::from(b));
            i += 1;
        }
    }
    Some(out)
}

/// Text written by Python's `str.encode('utf-8', 'surrogatepass')`: UTF-8, where a lone
/// surrogate (which Rust strings cannot hold) becomes U+FFFD. `None` for anything else.
pub(super) fn utf8(bytes: &[u8]) -> Option<String> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Some(s.to_owned());
    }
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                return Some(out);
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).ok()?);
                // A surrogate is ED A0..BF 80..BF.
                match bad {
                    [0xed, 0xa0..=0xbf, 0x80..=0xbf, ..] => {
                        out.push(char::REPLACEMENT_CHARACTER);
                        rest = &bad[3..];
                    }
                    _ => return None,
                }
            }
        }
    }
}
