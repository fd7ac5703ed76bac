//! Hostile pickles at the decoder: code (a pickle that calls `os.system`, in every form
//! Python can write it and a few it cannot), deep nesting, forged lengths, memo bombs and
//! garbage are refused, nothing runs, nothing recurses, and memory stays within the limits
//! (measured by a counting allocator around each decode).

mod python;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use mplog::compat::pickle::{
    decode_datagram, decode_record, decode_value, encode_record, frame_len, read_frame, FrameError,
    Limits, PickleError,
};
use proptest::prelude::*;

/// Counts the bytes this thread has allocated and not freed, and their peak.
struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is passed to the system allocator unchanged; the counters are
// thread-local cells with constant initialisers (no allocation, no destructor).
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            shrank(layout.size());
            grew(new_size);
        }
        p
    }
}

fn grew(n: usize) {
    let _ = LIVE.try_with(|live| {
        live.set(live.get() + n);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(live.get())));
    });
}

fn shrank(n: usize) {
    let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(n)));
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f`, returning its result and the most bytes it held at once on this thread.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let out = f();
    (out, PEAK.with(Cell::get) - base)
}

/// Runs `f` on a thread with a 64 KiB stack: a decoder that recursed on nesting would die.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

fn small_limits() -> Limits {
    Limits {
        max_frame: 1 << 20,
        max_depth: 32,
        max_decoded: 256 * 1024,
    }
}

/// The record pickles Python writes with an `os.system` call inside, at every protocol.
const PYTHON_EVIL: &str = r#"
import logging, os, pickle, subprocess, sys
marker = sys.argv[1]
class System:
    def __reduce__(self):
        return (os.system, ('touch ' + marker,))
class Popen:
    def __reduce__(self):
        return (subprocess.Popen, (['touch', marker],))
class Build:
    def __setstate__(self, state):
        open(marker, 'w').close()
out = []
for proto in range(0, pickle.HIGHEST_PROTOCOL + 1):
    for evil in (System(), Popen(), Build()):
        out.append(pickle.dumps(evil, proto))
        record = logging.makeLogRecord({'msg': 'hello', 'levelno': 20, 'payload': evil}).__dict__
        out.append(pickle.dumps(record, proto))
sys.stdout.write(''.join(p.hex() + '\n' for p in out))
"#;

#[test]
fn pickles_that_call_code_are_refused_and_nothing_runs() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("executed");
    let marker = marker.to_str().unwrap().to_owned();
    let mut evil: Vec<Vec<u8>> = Vec::new();
    if let Some(py) = python::python3("pickles_that_call_code_are_refused_and_nothing_runs") {
        let out = python::run(py, PYTHON_EVIL, &[&marker]);
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            evil.push(
                (0..line.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&line[i..i + 2], 16).unwrap())
                    .collect(),
            );
        }
        assert_eq!(evil.len(), 36);
        // They are real: Python's own pickle.loads runs the first one.
        let check = dir.path().join("python-ran-it");
        let hex: String = evil[0].iter().map(|b| format!("{b:02x}")).collect();
        let replaced = hex.replace(
            &marker
                .bytes()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
            &check
                .to_str()
                .unwrap()
                .bytes()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
        );
        // The first is protocol 0, which writes the command as a line of text: another path
        // keeps it valid.
        let py = python::python3("sanity").unwrap();
        python::run(
            py,
            "import pickle, sys; pickle.loads(bytes.fromhex(sys.argv[1]))",
            &[&replaced],
        );
        assert!(check.exists(), "python ran the pickle");
    }
    // Forms Python does not write for these objects but a forger can: INST, OBJ, NEWOBJ,
    // NEWOBJ_EX, STACK_GLOBAL, EXT1/2/4, PERSID, BINPERSID, out-of-band buffers.
    let cmd = format!("touch {marker}");
    let mut forged: Vec<Vec<u8>> = vec![
        [b"(V".as_slice(), cmd.as_bytes(), b"\nios\nsystem\n."].concat(),
        [b"(cos\nsystem\nV".as_slice(), cmd.as_bytes(), b"\no."].concat(),
        [
            b"\x80\x04\x8c\x02os\x8c\x06system\x93\x8c".as_slice(),
            &[cmd.len() as u8],
            cmd.as_bytes(),
            b"\x85R.",
        ]
        .concat(),
        b"\x80\x02cos\nsystem\n)\x81.".to_vec(),
        b"\x80\x04cos\nsystem\n)}\x92.".to_vec(),
        b"\x80\x02\x82\x01.".to_vec(),
        b"\x80\x02\x83\x01\x00.".to_vec(),
        b"\x80\x02\x84\x01\x00\x00\x00.".to_vec(),
        b"Pos.system\n.".to_vec(),
        b"\x80\x02Vx\nQ.".to_vec(),
        b"\x80\x05\x97.".to_vec(),
        b"\x80\x05]\x98.".to_vec(),
        b"\x80\x02}}b.".to_vec(),
    ];
    // A record dict with a GLOBAL in the middle of its fields.
    let mut frame = Vec::new();
    encode_record(
        &mplog::Record::new("a", mplog::Level::INFO, "m"),
        &mut frame,
    );
    let body = &frame[4..frame.len() - 2];
    forged.push([body, b"X\x01\x00\x00\x00xcos\nsystem\nu."].concat());
    evil.extend(forged);
    let limits = Limits::default();
    for (i, pickle) in evil.iter().enumerate() {
        let err = decode_value(pickle, &limits).unwrap_err();
        assert!(
            matches!(
                err,
                PickleError::Code { .. } | PickleError::Unsupported { .. }
            ),
            "pickle {i}: {err}"
        );
        assert!(decode_record(pickle, &limits).is_err());
        let mut datagram = (pickle.len() as u32).to_be_bytes().to_vec();
        datagram.extend_from_slice(pickle);
        assert!(decode_datagram(&datagram, &limits).is_err());
    }
    assert!(!std::path::Path::new(&marker).exists(), "something ran");
}

#[test]
fn deep_nesting_is_refused_without_recursing() {
    let limits = Limits::default();
    let n = 1_000_000;
    // ]]]...]aaa...a.: a list in a list, a million deep.
    let lists = [vec![b']'; n], vec![b'a'; n - 1], vec![b'.']].concat();
    // ((((...: a million MARKs.
    let marks = [vec![b'('; n], vec![b'N', b'.']].concat();
    // A list that contains itself, through the memo: a cycle has no bottom.
    let cycle = b"]q\x00h\x00a.".to_vec();
    // Depth built from memo references: list k holds list k-1 by BINGET.
    let mut chain = b"]q\x00".to_vec();
    for k in 1..=200u8 {
        chain.extend_from_slice(&[b']', b'h', k - 1, b'a', b'q', k]);
    }
    chain.push(b'.');
    for (name, pickle) in [
        ("lists", lists),
        ("marks", marks),
        ("cycle", cycle),
        ("chain", chain),
    ] {
        let err = on_small_stack(move || decode_value(&pickle, &limits));
        assert!(
            matches!(err, Err(PickleError::TooDeep { max: 32 })),
            "{name}: {err:?}"
        );
    }
    // Python's own deep pickle (2000 nested lists) too.
    if let Some(py) = python::python3("deep_nesting_is_refused_without_recursing") {
        let out = python::run(
            py,
            "import pickle, sys\nsys.setrecursionlimit(10000)\nv = []\nfor _ in range(2000): v = [v]\nsys.stdout.write(pickle.dumps(v, 2).hex())",
            &[],
        );
        let hex = String::from_utf8(out.stdout).unwrap();
        let pickle: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let err = on_small_stack(move || decode_value(&pickle, &limits));
        assert!(matches!(err, Err(PickleError::TooDeep { .. })), "{err:?}");
    }
    // Within the limit, nesting decodes.
    let ok = [vec![b']'; 32], vec![b'a'; 31], vec![b'.']].concat();
    assert!(on_small_stack(move || decode_value(&ok, &limits)).is_ok());
}

#[test]
fn forged_lengths_cost_nothing() {
    let limits = Limits::default();
    // A 4 GiB length prefix: refused from the prefix alone, by the stream reader too.
    assert!(matches!(
        frame_len([0xff, 0xff, 0xff, 0xff], &limits),
        Err(PickleError::FrameTooLarge {
            len: 0xffff_ffff,
            ..
        })
    ));
    let stream = [0xffu8, 0xff, 0xff, 0xff, b'N', b'.'];
    let mut buf = Vec::new();
    let (result, peak) = peak_of(|| read_frame(&mut &stream[..], &mut buf, &limits).map(|_| ()));
    assert!(matches!(
        result,
        Err(FrameError::Pickle(PickleError::FrameTooLarge { .. }))
    ));
    assert!(peak < 1024, "allocated {peak} bytes for a refused frame");
    // An allowed length whose bytes never come: the buffer grows only with what arrived.
    let mut stream = (16u32 << 20).to_be_bytes().to_vec();
    stream.extend_from_slice(&[b'N'; 10]);
    let mut buf = Vec::new();
    let result = read_frame(&mut &stream[..], &mut buf, &limits).map(|_| ());
    assert!(matches!(result, Err(FrameError::Io(_))));
    assert!(
        buf.capacity() < 64 * 1024,
        "buffer of {} bytes",
        buf.capacity()
    );
    // Length arguments inside the pickle, far beyond the pickle.
    let cases: [&[u8]; 7] = [
        b"X\xff\xff\xff\xffabc.",
        b"\x8d\x00\x00\x00\x00\x00\x00\x00\x80abc.",
        b"\x8e\xff\xff\xff\xff\xff\xff\xff\xffabc.",
        b"\x96\x00\x00\x00\x00\x00\x00\x01\x00.",
        b"B\xff\xff\xff\x7f.",
        b"\x8b\xff\xff\xff\x7f\x00.",
        b"\x8b\xff\xff\xff\xff\x00.",
    ];
    for pickle in cases {
        let (result, peak) = peak_of(|| decode_value(pickle, &limits));
        assert!(result.is_err(), "{pickle:?}");
        assert!(peak < 4096, "{pickle:?}: allocated {peak} bytes");
    }
}

#[test]
fn memo_bombs_are_bounded() {
    // List k holds list k-1 twice (BINGET): 2^30 items once expanded, from 250 bytes.
    let mut bomb = b"\x80\x02]q\x00".to_vec();
    for k in 1..=30u8 {
        bomb.extend_from_slice(&[b'(', b'h', k - 1, b'h', k - 1, b'l', b'q', k]);
    }
    bomb.push(b'.');
    // The same with a 64 KiB string shared 2^20 times.
    let mut strings = b"\x80\x02X\x00\x00\x01\x00".to_vec();
    strings.extend(std::iter::repeat_n(b'x', 65536));
    strings.extend_from_slice(b"q\x00");
    for k in 1..=20u8 {
        strings.extend_from_slice(&[b'(', b'h', k - 1, b'h', k - 1, b'l', b'q', k]);
    }
    strings.push(b'.');
    let limits = small_limits();
    for pickle in [bomb, strings] {
        let (result, peak) = peak_of(|| decode_value(&pickle, &limits));
        assert!(
            matches!(result, Err(PickleError::TooLarge { .. })),
            "{result:?}"
        );
        assert!(
            peak < 4 * limits.max_decoded + 2 * pickle.len(),
            "peak {peak}"
        );
    }
}

/// A real record's pickle, to mutate.
fn record_pickle() -> Vec<u8> {
    let mut r = mplog::Record::new("app.db", mplog::Level::ERROR, "connection lost ✓");
    r.extra.push(("n".into(), 3.into()));
    r.exc_text = Some("Traceback...".into());
    let mut frame = Vec::new();
    encode_record(&r, &mut frame);
    frame.split_off(4)
}

fn bounded(pickle: &[u8]) {
    let limits = small_limits();
    let (result, peak) = peak_of(|| decode_record(pickle, &limits).map(|_| ()));
    // Vec growth can double what was charged; the input is copied at most once more.
    assert!(
        peak <= 4 * limits.max_decoded + 2 * pickle.len(),
        "peak {peak} for {} input bytes ({result:?})",
        pickle.len()
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn garbage_never_panics_nor_overallocates(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        bounded(&bytes);
        let _ = decode_datagram(&bytes, &small_limits());
    }

    #[test]
    fn damaged_records_never_panic_nor_overallocate(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let mut pickle = record_pickle();
        for (at, byte, kind) in edits {
            let at = at % (pickle.len() + 1);
            match kind {
                0 if at < pickle.len() => pickle[at] = byte,
                1 => pickle.insert(at, byte),
                _ => pickle.truncate(at.max(1)),
            }
        }
        bounded(&pickle);
    }

}

/// Data opcodes (with their arguments) to string together at random; `q` and `h` take a
/// memo key.
const SOUP: [&[u8]; 27] = [
    b"(",
    b"]",
    b"}",
    b")",
    b"a",
    b"e",
    b"s",
    b"u",
    b"t",
    b"l",
    b"d",
    b"0",
    b"1",
    b"2",
    b"N",
    b"\x8f",
    b"\x90",
    b"\x91",
    b"\x85",
    b"\x86",
    b"\x87",
    b"q",
    b"h",
    b"\x94",
    b"X\x03\x00\x00\x00abc",
    b"K\x07",
    b"L123456789012345678901234567890L\n",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn data_opcode_soup_never_panics_nor_overallocates(
        picks in proptest::collection::vec((0..SOUP.len(), 0u8..4), 0..300),
    ) {
        let ops: Vec<Vec<u8>> = picks
            .into_iter()
            .map(|(i, k)| match SOUP[i] {
                b"q" | b"h" => vec![SOUP[i][0], k],
                op => op.to_vec(),
            })
            .collect();
        let mut pickle = ops.concat();
        pickle.push(b'.');
        bounded(&pickle);
    }
}
