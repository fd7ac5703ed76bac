//! The `encoding` and `errors` of file handlers, as Python's `open(..., encoding=, errors=)`.
//!
//! Names are read as Python's codec registry reads them (`latin1`, `Latin-1`, `ISO-8859-1`,
//! `utf_8`, `UTF8`, `windows-1252`...). UTF-8 (the default), UTF-8 with signature, Latin-1,
//! ASCII, UTF-16 and UTF-32 are encoded here; the other single-byte and CJK codecs through
//! `encoding_rs` (where its WHATWG tables differ from Python's, Python's wins: see
//! [`Encoding::new`]). A byte-order mark (`utf-16`, `utf-32`, `utf-8-sig`) is written at the
//! start of a file only, as Python's `TextIOWrapper` writes it: not when appending to a file
//! that has content, again at the start of each file after a rollover.

use std::fmt;
use std::str::FromStr;

/// How characters the encoding cannot represent are handled (Python's `errors`).
///
/// ```
/// use mplog::handler::Errors;
/// assert_eq!("xmlcharrefreplace".parse::<Errors>().unwrap(), Errors::XmlCharRefReplace);
/// assert!("nope".parse::<Errors>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Errors {
    /// The record is not written; the handler's error policy reports it (Python's default).
    #[default]
    Strict,
    /// `?` in place of each character.
    Replace,
    /// The character is left out.
    Ignore,
    /// `\xe9`, `\u20ac`, `\U0001f600`.
    BackslashReplace,
    /// `&#8364;`.
    XmlCharRefReplace,
    /// `\N{EURO SIGN}` (as `backslashreplace` for a character without a name).
    NameReplace,
}

impl FromStr for Errors {
    type Err = EncodingError;
    /// Python's names. `surrogateescape` and `surrogatepass` only act on lone surrogates,
    /// which Rust text never holds: for everything else they are `strict`, so they read as
    /// [`Errors::Strict`].
    fn from_str(s: &str) -> Result<Errors, EncodingError> {
        Ok(match s {
            "strict" | "surrogateescape" | "surrogatepass" => Errors::Strict,
            "replace" => Errors::Replace,
            "ignore" => Errors::Ignore,
            "backslashreplace" => Errors::BackslashReplace,
            "xmlcharrefreplace" => Errors::XmlCharRefReplace,
            "namereplace" => Errors::NameReplace,
            other => return Err(EncodingError::UnknownErrors(other.to_owned())),
        })
    }
}

/// An unknown encoding or `errors` name, or a character the encoding refuses under `strict`.
///
/// ```
/// let err = mplog::handler::Encoding::new("klingon").unwrap_err();
/// assert_eq!(err.to_string(), "unknown encoding: klingon");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodingError {
    /// No codec of that name.
    #[error("unknown encoding: {0}")]
    UnknownEncoding(String),
    /// No error handler of that name.
    #[error("unknown error handler name '{0}'")]
    UnknownErrors(String),
    /// Python's `UnicodeEncodeError` text: the first run of characters the codec refuses.
    #[error("{}", unencodable_text(codec, escaped, *start, *end, reason))]
    Unencodable {
        /// Python's name of the codec in its message.
        codec: &'static str,
        /// The first character as Python escapes it (`\xe9`, `\u20ac`, `\U0001f600`).
        escaped: String,
        /// Where the run starts in the line, in characters.
        start: usize,
        /// Where it ends (exclusive).
        end: usize,
        /// Why.
        reason: &'static str,
    },
}

fn unencodable_text(codec: &str, escaped: &str, start: usize, end: usize, reason: &str) -> String {
    if end > start + 1 {
        format!(
            "'{codec}' codec can't encode characters in position {start}-{}: {reason}",
            end - 1
        )
    } else {
        format!("'{codec}' codec can't encode character '{escaped}' in position {start}: {reason}")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    Utf8,
    Utf8Sig,
    Latin1,
    Ascii,
    /// `utf-16` (BOM, little-endian as on the machines Python runs on), `-le`, `-be`.
    Utf16 {
        bom: bool,
        big: bool,
    },
    Utf32 {
        bom: bool,
        big: bool,
    },
    Whatwg(&'static encoding_rs::Encoding),
}

/// A file handler's encoding and error policy (Python's `encoding` and `errors`).
///
/// ```
/// use mplog::handler::{Encoding, Errors, FileHandler};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("app.log");
/// let enc = Encoding::new("Latin-1").unwrap().errors(Errors::Replace);
/// let h = FileHandler::builder(&path).encoding(enc).build().unwrap();
/// mplog::handler::Handler::handle(&h, &mplog::Record::new("a", mplog::Level::INFO, "é €"));
/// drop(h);
/// assert_eq!(std::fs::read(&path).unwrap(), b"\xe9 ?\n");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoding {
    codec: Codec,
    name: &'static str,
    errors: Errors,
}

impl Default for Encoding {
    /// UTF-8, strict.
    fn default() -> Self {
        Encoding {
            codec: Codec::Utf8,
            name: "utf-8",
            errors: Errors::Strict,
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// Python's `encodings.normalize_encoding` then lower case: runs of characters other than
/// letters, digits and `.` become one `_`.
fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut punct = false;
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            if punct && !out.is_empty() {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            punct = false;
        } else {
            punct = true;
        }
    }
    out
}

impl Encoding {
    /// The codec Python's `codecs.lookup(name)` finds, strict. Python's names and aliases are
    /// read: `utf-8`/`utf8`/`u8`, `utf-8-sig`, `latin-1`/`iso-8859-1`/`l1`/`cp819`, `ascii`/
    /// `us-ascii`/`646`, `utf-16`/`-le`/`-be`, `utf-32`/`-le`/`-be`, `cp1250`..`cp1258` (also
    /// `windows-125x`), `iso8859-2`..`-16`, `koi8-r`, `koi8-u`, `cp866`, `mac-roman`,
    /// `shift_jis`, `euc-jp`, `euc-kr`, `gbk`, `gb18030`, `big5`.
    ///
    /// ```
    /// use mplog::handler::Encoding;
    /// assert_eq!(Encoding::new("UTF8").unwrap(), Encoding::default());
    /// assert_eq!(Encoding::new("latin1").unwrap().to_string(), "latin-1");
    /// assert_eq!(Encoding::new("Windows-1252").unwrap().to_string(), "cp1252");
    /// ```
    pub fn new(name: &str) -> Result<Encoding, EncodingError> {
        let norm = normalize(name);
        let (codec, canonical) = match norm.as_str() {
            "utf_8" | "utf8" | "u8" | "utf" | "utf8_ucs2" | "utf8_ucs4" | "cp65001" => {
                (Codec::Utf8, "utf-8")
            }
            "utf_8_sig" | "utf8_sig" => (Codec::Utf8Sig, "utf-8-sig"),
            "latin_1" | "latin1" | "latin" | "l1" | "iso8859_1" | "iso_8859_1" | "iso8859"
            | "8859" | "cp819" | "ibm819" | "iso_ir_100" | "csisolatin1" | "iso_8859_1_1987" => {
                (Codec::Latin1, "latin-1")
            }
            "ascii" | "us_ascii" | "646" | "ansi_x3.4_1968" | "ansi_x3_4_1968"
            | "ansi_x3.4_1986" | "cp367" | "csascii" | "ibm367" | "iso646_us"
            | "iso_646.irv_1991" | "iso_ir_6" | "us" => (Codec::Ascii, "ascii"),
            "utf_16" | "utf16" | "u16" => (
                Codec::Utf16 {
                    bom: true,
                    big: false,
                },
                "utf-16",
            ),
            "utf_16_le" | "utf_16le" | "unicodelittleunmarked" => (
                Codec::Utf16 {
                    bom: false,
                    big: false,
                },
                "utf-16-le",
            ),
            "utf_16_be" | "utf_16be" | "unicodebigunmarked" => (
                Codec::Utf16 {
                    bom: false,
                    big: true,
                },
                "utf-16-be",
            ),
            "utf_32" | "utf32" | "u32" => (
                Codec::Utf32 {
                    bom: true,
                    big: false,
                },
                "utf-32",
            ),
            "utf_32_le" | "utf_32le" => (
                Codec::Utf32 {
                    bom: false,
                    big: false,
                },
                "utf-32-le",
            ),
            "utf_32_be" | "utf_32be" => (
                Codec::Utf32 {
                    bom: false,
                    big: true,
                },
                "utf-32-be",
            ),
            other => whatwg(other).ok_or_else(|| EncodingError::UnknownEncoding(name.into()))?,
        };
        Ok(Encoding {
            codec,
            name: canonical,
            errors: Errors::Strict,
        })
    }

    /// The same encoding with another error policy.
    ///
    /// ```
    /// use mplog::handler::{Encoding, Errors};
    /// let e = Encoding::new("ascii").unwrap().errors(Errors::BackslashReplace);
    /// assert_eq!(e.error_policy(), Errors::BackslashReplace);
    /// ```
    pub fn errors(mut self, errors: Errors) -> Encoding {
        self.errors = errors;
        self
    }

    /// The error policy.
    ///
    /// ```
    /// assert_eq!(mplog::handler::Encoding::default().error_policy(), mplog::handler::Errors::Strict);
    /// ```
    pub fn error_policy(&self) -> Errors {
        self.errors
    }

    /// Whether this is UTF-8 without signature: lines are written as they are.
    pub(crate) fn is_utf8(&self) -> bool {
        self.codec == Codec::Utf8
    }

    /// Appends `text` encoded to `out`, after the byte-order mark when `at_start` (the file is
    /// empty), as a file handler writes a line. Under `strict` an unencodable character is an
    /// error (Python's `UnicodeEncodeError` text) and `out` is left as it was.
    ///
    /// ```
    /// use mplog::handler::{Encoding, Errors};
    /// let mut out = Vec::new();
    /// Encoding::new("utf-8-sig").unwrap().encode("é", true, &mut out).unwrap();
    /// assert_eq!(out, b"\xef\xbb\xbf\xc3\xa9");
    /// let latin = Encoding::new("latin-1").unwrap();
    /// let err = latin.encode("a€", false, &mut out).unwrap_err();
    /// assert_eq!(err.to_string(), "'latin-1' codec can't encode character '\\u20ac' in position 1: ordinal not in range(256)");
    /// let err = latin.encode("a€€b", false, &mut out).unwrap_err();
    /// assert_eq!(err.to_string(), "'latin-1' codec can't encode characters in position 1-2: ordinal not in range(256)");
    /// latin.errors(Errors::NameReplace).encode("€", false, &mut out).unwrap();
    /// assert!(out.ends_with(b"\\N{EURO SIGN}"));
    /// ```
    pub fn encode(
        &self,
        text: &str,
        at_start: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodingError> {
        let start = out.len();
        let result = self.encode_inner(text, at_start, out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn encode_inner(
        &self,
        text: &str,
        at_start: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodingError> {
        match self.codec {
            Codec::Utf8 => out.extend_from_slice(text.as_bytes()),
            Codec::Utf8Sig => {
                if at_start {
                    out.extend_from_slice(b"\xef\xbb\xbf");
                }
                out.extend_from_slice(text.as_bytes());
            }
            Codec::Utf16 { bom, big } => {
                if bom && at_start {
                    out.extend_from_slice(&[0xff, 0xfe]);
                }
                let mut units = [0u16; 2];
                for c in text.chars() {
                    for u in c.encode_utf16(&mut units) {
                        out.extend_from_slice(&if big {
                            u.to_be_bytes()
                        } else {
                            u.to_le_bytes()
                        });
                    }
                }
            }
            Codec::Utf32 { bom, big } => {
                if bom && at_start {
                    out.extend_from_slice(&[0xff, 0xfe, 0, 0]);
                }
                for c in text.chars() {
                    let u = u32::from(c);
                    out.extend_from_slice(&if big {
                        u.to_be_bytes()
                    } else {
                        u.to_le_bytes()
                    });
                }
            }
            Codec::Latin1 | Codec::Ascii => {
                let (max, codec, reason) = if self.codec == Codec::Latin1 {
                    (0xff, "latin-1", "ordinal not in range(256)")
                } else {
                    (0x7f, "ascii", "ordinal not in range(128)")
                };
                for (position, (at, c)) in text.char_indices().enumerate() {
                    match u8::try_from(u32::from(c)) {
                        Ok(b) if u32::from(b) <= max => out.push(b),
                        _ => {
                            let after = &text[at + c.len_utf8()..];
                            self.unencodable(c, position, after, codec, reason, out)?;
                        }
                    }
                }
            }
            Codec::Whatwg(encoding) => self.encode_whatwg(encoding, text, out)?,
        }
        Ok(())
    }

    fn encode_whatwg(
        &self,
        encoding: &'static encoding_rs::Encoding,
        text: &str,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodingError> {
        let (codec, reason) = ("charmap", "character maps to <undefined>");
        let mut encoder = encoding.new_encoder();
        let mut rest = text;
        let mut position = 0;
        let mut chunk = [0u8; 1024];
        loop {
            if let Some(c) = rest.chars().next().filter(|c| python_refuses(encoding, *c)) {
                let after = &rest[c.len_utf8()..];
                self.unencodable(c, position, after, codec, reason, out)?;
                position += 1;
                rest = &rest[c.len_utf8()..];
                continue;
            }
            // Up to the next character Python refuses, if any.
            let end = rest
                .char_indices()
                .find(|(_, c)| python_refuses(encoding, *c))
                .map_or(rest.len(), |(i, _)| i);
            let (head, tail) = rest.split_at(end);
            let mut part = head;
            loop {
                let (result, read, written) =
                    encoder.encode_from_utf8_without_replacement(part, &mut chunk, tail.is_empty());
                out.extend_from_slice(&chunk[..written]);
                position += part[..read].chars().count();
                part = &part[read..];
                match result {
                    encoding_rs::EncoderResult::InputEmpty => break,
                    encoding_rs::EncoderResult::OutputFull => {}
                    encoding_rs::EncoderResult::Unmappable(c) => {
                        let after = &rest[rest.len() - part.len() - tail.len()..];
                        self.unencodable(c, position - 1, after, codec, reason, out)?;
                    }
                }
            }
            if tail.is_empty() {
                return Ok(());
            }
            rest = tail;
        }
    }

    /// Whether this codec encodes `c` (Python's view).
    fn can_encode(&self, c: char) -> bool {
        match self.codec {
            Codec::Latin1 => u32::from(c) <= 0xff,
            Codec::Ascii => c.is_ascii(),
            Codec::Whatwg(e) => {
                let mut encoder = e.new_encoder();
                let (mut buf, mut utf8) = ([0u8; 16], [0u8; 4]);
                !python_refuses(e, c)
                    && matches!(
                        encoder
                            .encode_from_utf8_without_replacement(
                                c.encode_utf8(&mut utf8),
                                &mut buf,
                                true
                            )
                            .0,
                        encoding_rs::EncoderResult::InputEmpty
                    )
            }
            _ => true,
        }
    }

    /// Applies the error policy to `c`, refused at `position`; `after` is the text that follows
    /// (under `strict`, the error names the whole run of refused characters, as Python's does).
    fn unencodable(
        &self,
        c: char,
        position: usize,
        after: &str,
        codec: &'static str,
        reason: &'static str,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodingError> {
        let mut ascii = |s: &str| {
            // Replacement text is ASCII, which every codec here encodes as itself.
            out.extend_from_slice(s.as_bytes());
        };
        match self.errors {
            Errors::Strict => {
                let run = 1 + after.chars().take_while(|c| !self.can_encode(*c)).count();
                return Err(EncodingError::Unencodable {
                    codec,
                    escaped: backslash(c),
                    start: position,
                    end: position + run,
                    reason,
                });
            }
            Errors::Replace => ascii("?"),
            Errors::Ignore => {}
            Errors::XmlCharRefReplace => ascii(&format!("&#{};", u32::from(c))),
            Errors::NameReplace => match unicode_names2::name(c) {
                Some(name) => ascii(&format!("\\N{{{name}}}")),
                None => ascii(&backslash(c)),
            },
            Errors::BackslashReplace => ascii(&backslash(c)),
        }
        Ok(())
    }
}

fn backslash(c: char) -> String {
    match u32::from(c) {
        n @ 0..=0xff => format!("\\x{n:02x}"),
        n @ 0x100..=0xffff => format!("\\u{n:04x}"),
        n => format!("\\U{n:08x}"),
    }
}

/// WHATWG's `windows-125x` give the bytes Python leaves undefined to the C1 controls
/// (U+0080..U+009F) of the same number, and `windows-1255` maps 0xCA to U+05BA: Python's
/// `cp125x` encode neither.
fn python_refuses(encoding: &'static encoding_rs::Encoding, c: char) -> bool {
    (('\u{80}'..='\u{9f}').contains(&c) && encoding.name().starts_with("windows-"))
        || (c == '\u{5ba}' && encoding == encoding_rs::WINDOWS_1255)
}

/// Python's names for the single-byte codecs `encoding_rs` encodes as Python does (checked
/// character by character against python3 in `tests/file_encoding.rs`). Its CJK encoders and
/// KOI8-U follow WHATWG tables that differ from Python's, so those names are refused rather than
/// written differently.
fn whatwg(norm: &str) -> Option<(Codec, &'static str)> {
    use encoding_rs::*;
    let (e, name): (&'static encoding_rs::Encoding, &'static str) = match norm {
        "cp1250" | "windows_1250" | "1250" => (WINDOWS_1250, "cp1250"),
        "cp1251" | "windows_1251" | "1251" => (WINDOWS_1251, "cp1251"),
        "cp1252" | "windows_1252" | "1252" => (WINDOWS_1252, "cp1252"),
        "cp1253" | "windows_1253" | "1253" => (WINDOWS_1253, "cp1253"),
        "cp1254" | "windows_1254" | "1254" => (WINDOWS_1254, "cp1254"),
        "cp1255" | "windows_1255" | "1255" => (WINDOWS_1255, "cp1255"),
        "cp1256" | "windows_1256" | "1256" => (WINDOWS_1256, "cp1256"),
        "cp1257" | "windows_1257" | "1257" => (WINDOWS_1257, "cp1257"),
        "cp1258" | "windows_1258" | "1258" => (WINDOWS_1258, "cp1258"),
        "iso8859_2" | "iso_8859_2" | "latin2" | "l2" => (ISO_8859_2, "iso8859-2"),
        "iso8859_3" | "iso_8859_3" | "latin3" | "l3" => (ISO_8859_3, "iso8859-3"),
        "iso8859_4" | "iso_8859_4" | "latin4" | "l4" => (ISO_8859_4, "iso8859-4"),
        "iso8859_5" | "iso_8859_5" | "cyrillic" => (ISO_8859_5, "iso8859-5"),
        "iso8859_6" | "iso_8859_6" | "arabic" => (ISO_8859_6, "iso8859-6"),
        "iso8859_7" | "iso_8859_7" | "greek" | "greek8" => (ISO_8859_7, "iso8859-7"),
        "iso8859_8" | "iso_8859_8" | "hebrew" => (ISO_8859_8, "iso8859-8"),
        "iso8859_10" | "iso_8859_10" | "latin6" | "l6" => (ISO_8859_10, "iso8859-10"),
        "iso8859_13" | "iso_8859_13" | "latin7" | "l7" => (ISO_8859_13, "iso8859-13"),
        "iso8859_14" | "iso_8859_14" | "latin8" | "l8" => (ISO_8859_14, "iso8859-14"),
        "iso8859_15" | "iso_8859_15" | "latin9" | "l9" => (ISO_8859_15, "iso8859-15"),
        "iso8859_16" | "iso_8859_16" | "latin10" | "l10" => (ISO_8859_16, "iso8859-16"),
        "koi8_r" => (KOI8_R, "koi8-r"),
        "cp866" | "866" | "ibm866" => (IBM866, "cp866"),
        "mac_roman" | "macroman" | "macintosh" => (MACINTOSH, "mac-roman"),
        _ => return None,
    };
    Some((Codec::Whatwg(e), name))
}
