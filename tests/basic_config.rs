//! `basic_config`, with Python's rules (test_logging.BasicConfigTest).

use std::io::Write;
use std::sync::Arc;

use mplog::basic_config::BasicConfigError;
use mplog::handler::{FileMode, Handler, StreamHandler};
use mplog::{BasicConfig, Formatter, Level, Manager};
use parking_lot::Mutex;

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);
impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
impl Buf {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().clone()).unwrap()
    }
}

#[test]
fn default_format_is_levelname_name_message() {
    let m = Manager::new();
    let buf = Buf::default();
    BasicConfig::new().stream(buf.clone()).apply_to(&m).unwrap();
    mplog::warning!(m.get_logger("app"), "careful");
    assert_eq!(buf.text(), "WARNING:app:careful\n");
    assert_eq!(m.root().level(), Level::WARNING);
}

#[test]
fn default_format_follows_the_style() {
    // Python: basicConfig(style=...) without format uses _STYLES[style][1].
    for style in [mplog::format::Style::Brace, mplog::format::Style::Dollar] {
        let m = Manager::new();
        let buf = Buf::default();
        BasicConfig::new()
            .stream(buf.clone())
            .style(style)
            .apply_to(&m)
            .unwrap();
        mplog::warning!(m.get_logger("app"), "careful");
        assert_eq!(buf.text(), "WARNING:app:careful\n", "{style:?}");
    }
}

#[test]
fn acts_once_unless_forced() {
    let m = Manager::new();
    let (first, second) = (Buf::default(), Buf::default());
    assert!(BasicConfig::new()
        .stream(first.clone())
        .apply_to(&m)
        .unwrap());
    assert!(!BasicConfig::new()
        .stream(second.clone())
        .level(Level::DEBUG)
        .apply_to(&m)
        .unwrap());
    assert_eq!(
        m.root().level(),
        Level::WARNING,
        "level untouched when not applied"
    );
    assert!(BasicConfig::new()
        .stream(second.clone())
        .level(Level::INFO)
        .force(true)
        .apply_to(&m)
        .unwrap());
    mplog::info!(m.root(), "after force");
    assert_eq!(first.text(), "");
    assert_eq!(second.text(), "INFO:root:after force\n");
    assert_eq!(m.root().handlers().len(), 1);
}

#[test]
fn conflicting_destinations_are_errors() {
    let m = Manager::new();
    let err = BasicConfig::new()
        .filename("x.log")
        .stderr()
        .apply_to(&m)
        .unwrap_err();
    assert!(matches!(err, BasicConfigError::StreamAndFilename));
    let h: Arc<dyn Handler> = Arc::new(StreamHandler::stderr());
    let err = BasicConfig::new()
        .handlers(vec![h.clone()])
        .filename("x.log")
        .apply_to(&m)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "'stream' or 'filename' should not be specified together with 'handlers'"
    );
    assert!(m.root().handlers().is_empty(), "nothing half-applied");
}

#[test]
fn filename_and_mode_and_custom_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("basic.log");
    std::fs::write(&path, "old\n").unwrap();
    let m = Manager::new();
    BasicConfig::new()
        .filename(&path)
        .filemode(FileMode::Truncate)
        .format("{levelname}|{message}")
        .style(mplog::format::Style::Brace)
        .level(Level::DEBUG)
        .apply_to(&m)
        .unwrap();
    mplog::debug!(m.get_logger("f"), "written");
    m.shutdown();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "DEBUG|written\n");
}

#[test]
fn given_handlers_keep_their_own_formatter() {
    let m = Manager::new();
    let (plain, custom) = (Buf::default(), Buf::default());
    let a = Arc::new(StreamHandler::new(plain.clone()));
    let b = Arc::new(StreamHandler::new(custom.clone()));
    b.base()
        .set_formatter(Arc::new(Formatter::new("custom %(message)s").unwrap()));
    BasicConfig::new()
        .handlers(vec![a, b])
        .apply_to(&m)
        .unwrap();
    mplog::error!(m.root(), "x");
    assert_eq!(plain.text(), "ERROR:root:x\n");
    assert_eq!(custom.text(), "custom x\n");
}

#[test]
fn bad_format_is_reported() {
    let m = Manager::new();
    let err = BasicConfig::new()
        .format("%(message)")
        .apply_to(&m)
        .unwrap_err();
    assert!(err.to_string().contains("'%' style"), "{err}");
}
