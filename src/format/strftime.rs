//! glibc's `strftime` in the C locale (what CPython's `time.strftime` calls on Linux), compiled
//! once into directives.
//!
//! Every glibc directive, flag (`_ - 0 ^ #`), width and `E`/`O` modifier behaves as glibc 2.36
//! does, quirks included (`%-5d` still pads to the width; `%10z` pads the sign and the number
//! apart). A directive glibc does not know (`%f`, `%q`, `%Ed`) is copied as written. As CPython
//! grows its buffer only up to 256 times the format's length, a result longer than that is the
//! empty string, which also bounds what a huge width can allocate.

use super::zone::Tm;

const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

#[derive(Debug, Clone)]
enum Item {
    Literal(String),
    Directive(Directive),
}

#[derive(Debug, Clone)]
struct Directive {
    /// `_`, `-`, `0` or 0 for none (the last one given wins).
    pad: char,
    upper: bool,
    change_case: bool,
    /// -1: none given.
    width: i64,
    /// `E`, `O` or 0.
    modifier: char,
    /// The conversion character; `\0` at the end of the format.
    conv: char,
    /// The directive as written, from its `%` (copied for unknown ones).
    raw: Box<str>,
}

/// A compiled strftime format.
#[derive(Debug, Clone)]
pub(crate) struct Strftime {
    segments: Vec<Segment>,
    uses_epoch: bool,
}

/// CPython 3.13's `time.strftime` hands the C library one run of ASCII characters (no NUL) at
/// a time, and copies the rest as it is up to the next `%`.
#[derive(Debug, Clone)]
enum Segment {
    Piece {
        items: Vec<Item>,
        /// Its length in characters: its result may take 256 times that at most.
        chars: usize,
    },
    Literal(String),
}

/// The result would not fit CPython's largest buffer.
struct TooLong;

/// CPython's first buffer size.
const FIRST_BUFFER: usize = 1024;

impl Strftime {
    pub(crate) fn compile(format: &str) -> Strftime {
        let mut segments = Vec::new();
        let mut rest = format;
        while !rest.is_empty() {
            let ascii = rest
                .find(|c: char| !c.is_ascii() || c == '\0')
                .unwrap_or(rest.len());
            if ascii > 0 {
                segments.push(Segment::Piece {
                    items: parse(&rest[..ascii]),
                    chars: ascii,
                });
            }
            rest = &rest[ascii..];
            let literal = rest.find('%').unwrap_or(rest.len());
            if literal > 0 {
                segments.push(Segment::Literal(rest[..literal].to_owned()));
            }
            rest = &rest[literal..];
        }
        let uses_epoch = segments.iter().any(|s| match s {
            Segment::Piece { items, .. } => items
                .iter()
                .any(|i| matches!(i, Item::Directive(d) if d.conv == 's')),
            Segment::Literal(_) => false,
        });
        Strftime {
            segments,
            uses_epoch,
        }
    }

    /// Whether `%s` appears (then `time.gmtime` needs `mktime` in the local zone).
    pub(crate) fn uses_epoch(&self) -> bool {
        self.uses_epoch
    }

    /// Appends the rendering of `tm` to `out`. A piece whose result does not fit CPython's
    /// largest buffer for it comes to nothing, as in CPython.
    pub(crate) fn render(&self, tm: &Tm, out: &mut String) {
        // CPython keeps its buffer from piece to piece, doubling it while a piece does not fit
        // and the buffer is under 256 times the piece.
        let mut size = FIRST_BUFFER;
        for segment in &self.segments {
            let (items, chars) = match segment {
                Segment::Literal(text) => {
                    out.push_str(text);
                    continue;
                }
                Segment::Piece { items, chars } => (items, *chars),
            };
            let bound = chars.saturating_mul(256);
            let mut cap = size;
            while cap < bound {
                cap = cap.saturating_mul(2);
            }
            let start = out.len();
            let mut w = Writer {
                out: &mut *out,
                chars: 0,
                limit: cap,
            };
            match render_items(items, tm, &mut w) {
                Ok(()) if w.chars > 0 => {
                    while w.chars >= size {
                        size = size.saturating_mul(2);
                    }
                }
                Ok(()) => size = cap,
                Err(TooLong) => {
                    out.truncate(start);
                    size = cap;
                }
            }
        }
    }
}

fn parse(format: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut literal = String::new();
    let mut chars = format.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if c != '%' {
            literal.push(c);
            continue;
        }
        let mut d = Directive {
            pad: '\0',
            upper: false,
            change_case: false,
            width: -1,
            modifier: '\0',
            conv: '\0',
            raw: "".into(),
        };
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '_' | '-' | '0' => d.pad = f,
                '^' => d.upper = true,
                '#' => d.change_case = true,
                _ => break,
            }
            chars.next();
        }
        while let Some(&(_, digit @ '0'..='9')) = chars.peek() {
            let v = i64::from(digit as u8 - b'0');
            d.width = (d.width.max(0) * 10 + v).min(i64::from(i32::MAX));
            chars.next();
        }
        if let Some(&(_, m @ ('E' | 'O'))) = chars.peek() {
            d.modifier = m;
            chars.next();
        }
        let end = match chars.next() {
            Some((at, conv)) => {
                d.conv = conv;
                at + conv.len_utf8()
            }
            None => format.len(),
        };
        d.raw = format[start..end].into();
        if !literal.is_empty() {
            items.push(Item::Literal(std::mem::take(&mut literal)));
        }
        items.push(Item::Directive(d));
    }
    if !literal.is_empty() {
        items.push(Item::Literal(literal));
    }
    items
}

struct Writer<'a> {
    out: &'a mut String,
    chars: usize,
    limit: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Case {
    Keep,
    Upper,
    Lower,
}

impl Writer<'_> {
    fn reserve(&mut self, n: usize) -> Result<(), TooLong> {
        match self.chars.checked_add(n) {
            Some(total) if total < self.limit => {
                self.chars = total;
                Ok(())
            }
            _ => Err(TooLong),
        }
    }

    fn fill(&mut self, c: char, n: usize) -> Result<(), TooLong> {
        self.reserve(n)?;
        self.out.extend(std::iter::repeat_n(c, n));
        Ok(())
    }

    /// glibc's `cpy`: pad to `width` (zeros for the `0` flag, else spaces), then copy.
    fn cpy(&mut self, text: &str, width: i64, pad: char, case: Case) -> Result<(), TooLong> {
        let n = text.chars().count();
        let delta = usize::try_from(width).unwrap_or(0).saturating_sub(n);
        self.fill(if pad == '0' { '0' } else { ' ' }, delta)?;
        self.reserve(n)?;
        match case {
            Case::Keep => self.out.push_str(text),
            Case::Upper => self.out.extend(text.chars().map(upper)),
            Case::Lower => self.out.extend(text.chars().map(lower)),
        }
        Ok(())
    }
}

fn upper(c: char) -> char {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

fn lower(c: char) -> char {
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

fn render_items(items: &[Item], tm: &Tm, w: &mut Writer<'_>) -> Result<(), TooLong> {
    for item in items {
        match item {
            Item::Literal(text) => w.cpy(text, -1, '\0', Case::Keep)?,
            Item::Directive(d) => directive(d, tm, w)?,
        }
    }
    Ok(())
}

/// `%c`, `%D`... rendered whole, then padded and cased as one piece.
fn subformat(d: &Directive, sub: &str, tm: &Tm, w: &mut Writer<'_>) -> Result<(), TooLong> {
    let mut text = String::new();
    let mut inner = Writer {
        out: &mut text,
        chars: 0,
        limit: w.limit,
    };
    render_items(&parse(sub), tm, &mut inner)?;
    let case = if d.upper { Case::Upper } else { Case::Keep };
    w.cpy(&text, d.width, d.pad, case)
}

fn iso_week_days(yday: i32, wday: i32) -> i32 {
    let big_enough_multiple_of_7 = (366 / 7 + 2) * 7;
    yday - (yday - wday + 4 + big_enough_multiple_of_7) % 7 + 4 - 1
}

fn is_leap(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// ISO 8601 year and the days since its first week's Monday.
fn iso_year_days(tm: &Tm) -> (i32, i32) {
    let mut year = tm.year;
    let mut days = iso_week_days(tm.yday, tm.wday);
    if days < 0 {
        year -= 1;
        days = iso_week_days(tm.yday + 365 + i32::from(is_leap(year)), tm.wday);
    } else {
        let d = iso_week_days(tm.yday - (365 + i32::from(is_leap(year))), tm.wday);
        if d >= 0 {
            year += 1;
            days = d;
        }
    }
    (year, days)
}

fn directive(d: &Directive, tm: &Tm, w: &mut Writer<'_>) -> Result<(), TooLong> {
    let text_case = |change_to: Case| {
        if d.change_case {
            change_to
        } else if d.upper {
            Case::Upper
        } else {
            Case::Keep
        }
    };
    let bad = d.modifier != '\0';
    let e = d.modifier == 'E';
    let hour12 = match tm.hour {
        0 => 12,
        h if h > 12 => h - 12,
        h => h,
    };
    let number = |digits: i64, value: i64, space: bool, w: &mut Writer<'_>| {
        number(d, digits, value, space, w)
    };
    let wday = usize::try_from(tm.wday).unwrap_or(0) % 7;
    let mon = usize::try_from(tm.mon).unwrap_or(0) % 12;
    match d.conv {
        '%' if !bad => w.cpy("%", d.width, d.pad, Case::Keep),
        'a' if !bad => w.cpy(&WEEKDAYS[wday][..3], d.width, d.pad, text_case(Case::Upper)),
        'A' if !bad => w.cpy(WEEKDAYS[wday], d.width, d.pad, text_case(Case::Upper)),
        'b' | 'h' if !e => w.cpy(&MONTHS[mon][..3], d.width, d.pad, text_case(Case::Upper)),
        'B' if !e => w.cpy(MONTHS[mon], d.width, d.pad, text_case(Case::Upper)),
        'c' if d.modifier != 'O' => subformat(d, "%a %b %e %H:%M:%S %Y", tm, w),
        'C' => {
            let y = tm.year;
            number(1, i64::from(y / 100 - i32::from(y % 100 < 0)), false, w)
        }
        'x' if d.modifier != 'O' => subformat(d, "%m/%d/%y", tm, w),
        'D' if !bad => subformat(d, "%m/%d/%y", tm, w),
        'd' if !e => number(2, i64::from(tm.mday), false, w),
        'e' if !e => number(2, i64::from(tm.mday), true, w),
        'F' if !bad => subformat(d, "%Y-%m-%d", tm, w),
        'H' if !e => number(2, i64::from(tm.hour), false, w),
        'I' if !e => number(2, i64::from(hour12), false, w),
        'k' if !e => number(2, i64::from(tm.hour), true, w),
        'l' if !e => number(2, i64::from(hour12), true, w),
        'j' if !e => number(3, i64::from(tm.yday + 1), false, w),
        'M' if !e => number(2, i64::from(tm.min), false, w),
        'm' if !e => number(2, i64::from(tm.mon + 1), false, w),
        'n' => w.cpy("\n", d.width, d.pad, Case::Keep),
        't' => w.cpy("\t", d.width, d.pad, Case::Keep),
        'p' | 'P' => {
            let ampm = if tm.hour > 11 { "PM" } else { "AM" };
            let case = if d.change_case || d.conv == 'P' {
                Case::Lower
            } else if d.upper {
                Case::Upper
            } else {
                Case::Keep
            };
            w.cpy(ampm, d.width, d.pad, case)
        }
        'R' => subformat(d, "%H:%M", tm, w),
        'r' => subformat(d, "%I:%M:%S %p", tm, w),
        'S' if !e => number(2, i64::from(tm.sec), false, w),
        's' => digits_then_pad(d, tm.epoch, w),
        'X' if d.modifier != 'O' => subformat(d, "%H:%M:%S", tm, w),
        'T' => subformat(d, "%H:%M:%S", tm, w),
        'u' => number(1, i64::from((tm.wday - 1 + 7) % 7 + 1), false, w),
        'U' if !e => number(2, i64::from((tm.yday - tm.wday + 7) / 7), false, w),
        'V' | 'g' | 'G' if !e => {
            let (year, days) = iso_year_days(tm);
            match d.conv {
                'g' => number(2, i64::from((year % 100 + 100) % 100), false, w),
                'G' => number(1, i64::from(year), false, w),
                _ => number(2, i64::from(days / 7 + 1), false, w),
            }
        }
        'W' if !e => {
            let v = (tm.yday - (tm.wday - 1 + 7) % 7 + 7) / 7;
            number(2, i64::from(v), false, w)
        }
        'w' if !e => number(1, i64::from(tm.wday), false, w),
        'Y' if d.modifier != 'O' => number(1, i64::from(tm.year), false, w),
        'y' => number(2, i64::from(((tm.year - 1900) % 100 + 100) % 100), false, w),
        'Z' => {
            let case = if d.change_case {
                Case::Lower
            } else if d.upper {
                Case::Upper
            } else {
                Case::Keep
            };
            w.cpy(&tm.zone, d.width, d.pad, case)
        }
        'z' => {
            let sign = if tm.gmtoff < 0 { "-" } else { "+" };
            w.cpy(sign, d.width, d.pad, Case::Keep)?;
            let minutes = i64::from(tm.gmtoff).abs() / 60;
            number(4, (minutes / 60) * 100 + minutes % 60, false, w)
        }
        // Unknown, misplaced modifier, or `%` at the end: copied as written. glibc has already
        // turned `#` into upper case for `%b`/`%h` when it finds `E` misplaced (`%#Eb` -> `%#EB`).
        _ => {
            let upper = d.upper || (d.change_case && matches!(d.conv, 'b' | 'h'));
            let case = if upper { Case::Upper } else { Case::Keep };
            // glibc copies back to the nearest `%`: for `%O%` that is the last one alone.
            let raw = if d.conv == '%' { "%" } else { &d.raw };
            w.cpy(raw, d.width, d.pad, case)
        }
    }
}

/// glibc's `do_number` (and `do_number_spacepad` when `space`).
fn number(
    d: &Directive,
    min_digits: i64,
    value: i64,
    space: bool,
    w: &mut Writer<'_>,
) -> Result<(), TooLong> {
    let mut pad = d.pad;
    if space && pad != '0' && pad != '-' {
        pad = '_';
    }
    let digits = min_digits.max(d.width);
    sign_and_padding(d, pad, digits, value, w)
}

/// `%s`: one digit at least whatever the width (the width pads afterwards, as in glibc).
fn digits_then_pad(d: &Directive, value: i64, w: &mut Writer<'_>) -> Result<(), TooLong> {
    sign_and_padding(d, d.pad, 1, value, w)
}

/// glibc's `do_number_sign_and_padding`.
fn sign_and_padding(
    d: &Directive,
    pad: char,
    digits: i64,
    value: i64,
    w: &mut Writer<'_>,
) -> Result<(), TooLong> {
    let negative = value < 0;
    let mut buf = value.unsigned_abs().to_string();
    if negative {
        buf.insert(0, '-');
    }
    let mut width = d.width;
    let len = i64::try_from(buf.len()).unwrap_or(i64::MAX);
    if pad != '-' {
        let padding = digits - len;
        if padding > 0 {
            let padding_n = usize::try_from(padding).unwrap_or(usize::MAX);
            if pad == '_' {
                w.fill(' ', padding_n)?;
                width = if width > padding { width - padding } else { 0 };
            } else {
                if negative {
                    buf.remove(0);
                    w.cpy("-", -1, '\0', Case::Keep)?;
                }
                w.fill('0', padding_n)?;
                width = 0;
            }
        }
    }
    w.cpy(&buf, width, pad, Case::Keep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::zone::Zone;

    fn fmt(format: &str, second: i64) -> String {
        let mut out = String::new();
        Strftime::compile(format).render(&Tm::utc(second, &Zone::utc(), true), &mut out);
        out
    }

    #[test]
    fn glibc_quirks() {
        // python3 (glibc 2.36): time.strftime(f, time.gmtime(1700000000))
        let t = 1_700_000_000;
        assert_eq!(
            fmt("%-5d|%10z|%_10z|", t),
            "   14|         +0000000000|         +         0|"
        );
        assert_eq!(
            fmt("%10q|%^q|%^#p|%#Z|%Ed|%+|%f", t),
            "      %10q|%^Q|pm|gmt|%Ed|%+|%f"
        );
        assert_eq!(fmt("abc%", t), "abc%");
        assert_eq!(fmt("abc%-", t), "abc%-");
        assert_eq!(
            fmt("%5%|%^c|%Ec", t),
            "    %|TUE NOV 14 22:13:20 2023|Tue Nov 14 22:13:20 2023"
        );
        assert_eq!(
            fmt("%^-10a|%0_d|%-k|%s|%12s|%012s|%_12s|%-12s", t),
            "       TUE|14|22|1700000000|  1700000000|001700000000|  1700000000|  1700000000"
        );
    }

    #[test]
    fn non_ascii_is_copied_as_cpython_3_13_does() {
        // CPython 3.13 (gh-52551): the C library sees the ASCII runs only; the rest is copied up
        // to the next '%'. A NUL no longer ends the format.
        let t = 1_700_000_000;
        assert_eq!(fmt("%^é|%Y\0%m é %d", t), "%^é|2023\u{0}11 é 14");
        // Each ASCII run has its own 256-times bound.
        assert_eq!(fmt("é%1500Y", t).chars().count(), 1501);
    }

    #[test]
    fn longer_than_python_buffers_is_empty() {
        assert_eq!(fmt("%6000Y", 0), "");
        assert_eq!(fmt("%1500Y", 0).len(), 1500);
        assert_eq!(fmt("%1537Y|", 0).len(), 1538);
    }
}
