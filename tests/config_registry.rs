//! Classes a program brings itself (`mplog::config::Registry`): handler, formatter and filter
//! factories under dotted names serve `class` and `()` in dict files and `class` in INI files,
//! get their keyword arguments by Python names and their `.` attributes, and run in a listener
//! started and reloaded with the registry. Without it, `mplog check` and `mplog listen`
//! refuse the class, naming it and saying how to provide it.

use std::sync::{Arc, Mutex};

use mplog::config::{DictConfig, FileFormat, Kwargs, Registry};
use mplog::filter::{Decision, Filter};
use mplog::format::Format;
use mplog::handler::{Handler, HandlerBase, HandlerError};
use mplog::queue::{Endpoint, QueueListener};
use mplog::{Level, Record};

/// A handler that keeps each formatted line, with a tag from its arguments.
struct Collect {
    base: HandlerBase,
    tag: String,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Handler for Collect {
    fn base(&self) -> &HandlerBase {
        &self.base
    }

    fn emit(&self, r: &Record) -> Result<(), HandlerError> {
        let mut line = String::new();
        self.base.format(r, &mut line)?;
        self.lines
            .lock()
            .unwrap()
            .push(format!("{} {line}", self.tag));
        Ok(())
    }
}

struct Upper(Arc<dyn Format>);

impl Format for Upper {
    fn format(&self, r: &Record, out: &mut String) -> Result<(), mplog::format::RenderError> {
        let mut s = String::new();
        self.0.format(r, &mut s)?;
        out.push_str(&s.to_uppercase());
        Ok(())
    }
}

struct NoHealth;

impl Filter for NoHealth {
    fn filter(&self, r: &Record) -> Decision {
        if r.message.contains("/health") {
            Decision::Reject
        } else {
            Decision::Accept
        }
    }
}

fn registry(lines: Arc<Mutex<Vec<String>>>, seen: Arc<Mutex<Vec<Kwargs>>>) -> Registry {
    Registry::new()
        .handler("myapp.logging.Collect", move |kw| {
            seen.lock().unwrap().push(kw.clone());
            let tag = kw.str("tag")?.unwrap_or("-").to_owned();
            Ok(Arc::new(Collect {
                base: HandlerBase::new(),
                tag,
                lines: lines.clone(),
            }) as Arc<dyn Handler>)
        })
        .formatter("myapp.logging.Upper", |kw| {
            let fmt = kw.str("fmt")?.unwrap_or("%(message)s");
            let inner = mplog::Formatter::new(fmt).map_err(|e| e.to_string())?;
            Ok(Arc::new(Upper(Arc::new(inner))) as Arc<dyn Format>)
        })
        .filter("myapp.logging.NoHealth", |_| {
            Ok(Arc::new(NoHealth) as Arc<dyn Filter>)
        })
}

const YAML: &str = r#"
version: 1
disable_existing_loggers: false
formatters:
  up: {'()': myapp.logging.Upper, fmt: '%(levelname)s %(message)s'}
  by_class: {class: myapp.logging.Upper, format: '%(name)s: %(message)s'}
filters:
  quiet: {'()': myapp.logging.NoHealth}
handlers:
  a: {class: myapp.logging.Collect, tag: A, formatter: up, filters: [quiet], level: INFO,
      '.': {colour: blue}}
  b: {'()': myapp.logging.Collect, tag: B, formatter: by_class}
root: {level: DEBUG, handlers: [a, b]}
"#;

#[test]
fn registered_classes_serve_class_and_factories() {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let reg = registry(lines.clone(), seen.clone());
    let cfg = DictConfig::from_text_with(YAML, FileFormat::Yaml, &reg).unwrap();
    assert!(cfg.warnings().is_empty(), "{:?}", cfg.warnings());
    let m = cfg.build().unwrap();
    m.get_logger("web").log(Level::INFO, "GET /health");
    m.get_logger("web").log(Level::WARNING, "slow");
    m.get_logger("web").log(Level::DEBUG, "detail");
    assert_eq!(
        *lines.lock().unwrap(),
        [
            "B WEB: GET /HEALTH",
            "A WARNING SLOW",
            "B WEB: SLOW",
            "B WEB: DETAIL"
        ]
    );
    let seen = seen.lock().unwrap();
    let a = seen.iter().find(|k| k.str("tag") == Ok(Some("A"))).unwrap();
    // `level`, `formatter` and `filters` are mplog's to apply, as dictConfig's.
    assert_eq!(a.keys().collect::<Vec<_>>(), ["tag"]);
    assert_eq!(a.attributes()["colour"], "blue");
}

#[test]
fn a_listener_starts_and_reloads_with_the_registry() {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let reg = registry(lines.clone(), Arc::new(Mutex::new(Vec::new())));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logging.yaml");
    std::fs::write(&path, YAML).unwrap();
    let listener = QueueListener::from_config_with(&path, &reg)
        .unwrap()
        .endpoint_kind(Endpoint::InProcess)
        .start()
        .unwrap();
    let queue = listener.local_handler();
    queue.handle(&Record::new("app", Level::ERROR, "first"));
    std::fs::write(&path, YAML.replace("tag: B", "tag: C")).unwrap();
    assert!(listener.reload(&path).is_err(), "no registry, no class");
    listener.reload_with(&path, &reg).unwrap();
    queue.handle(&Record::new("app", Level::ERROR, "second"));
    listener.stop();
    let got = lines.lock().unwrap().clone();
    assert!(got.contains(&"B APP: FIRST".to_string()), "{got:?}");
    assert!(got.contains(&"C APP: SECOND".to_string()), "{got:?}");
    assert!(
        !got.iter()
            .any(|l| l.starts_with("B") && l.contains("SECOND")),
        "{got:?}"
    );
}

#[test]
fn ini_classes_and_factory_errors() {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let reg = registry(lines.clone(), seen.clone());
    let ini = "[loggers]\nkeys=root\n[handlers]\nkeys=h\n[formatters]\nkeys=\n\
               [logger_root]\nlevel=INFO\nhandlers=h\n\
               [handler_h]\nclass=myapp.logging.Collect\nargs=('x', 2)\nkwargs={'tag': 'I'}\n";
    let m = DictConfig::from_text_with(ini, FileFormat::Ini, &reg)
        .unwrap()
        .build()
        .unwrap();
    m.get_logger("a").log(Level::INFO, "ini");
    assert_eq!(*lines.lock().unwrap(), ["I ini"]);
    assert_eq!(
        seen.lock().unwrap()[0].get("args"),
        Some(&serde_json::json!(["x", 2]))
    );
    // A factory's refusal names the entry and the class; nothing is applied.
    let e = DictConfig::from_text_with(
        "version: 1\nhandlers: {h: {class: myapp.logging.Collect, tag: 3}}\n",
        FileFormat::Yaml,
        &reg,
    )
    .unwrap()
    .build()
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "handlers.h: unable to configure handler 'h': myapp.logging.Collect: tag: expected a string, got 3"
    );
    // Without the registry: refused, naming the class and how to provide it.
    let e = DictConfig::from_yaml(YAML).unwrap_err().to_string();
    assert!(
        e.contains("formatter class 'myapp.logging.Upper' is not available")
            && e.contains("Registry::new().formatter(\"myapp.logging.Upper\", ...)"),
        "{e}"
    );
}

#[test]
fn check_names_ignored_keys_and_strict_refuses_them() {
    let mplog = env!("CARGO_BIN_EXE_mplog");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gunicorn.json");
    std::fs::write(
        &path,
        r#"{"version": 1, "loggers": {"gunicorn.error": {"level": "INFO", "qualname": "gunicorn.error"}}}"#,
    )
    .unwrap();
    let out = std::process::Command::new(mplog)
        .arg("check")
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let p = path.display();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        text,
        format!(
            "{p}: warning: loggers.gunicorn.error: key 'qualname' is ignored (Python's dictConfig does not read it for a logger)\n{p}: ok\n"
        )
    );
    let out = std::process::Command::new(mplog)
        .args(["check", "--strict"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("1 warning (--strict refuses them)\n"));
}

/// CPython's custom_formatter_class_validate (by `()`, keys as keyword arguments) and
/// custom_formatter_class_validate2 (by `class`: Python's `(fmt, datefmt, style, validate)`).
#[test]
fn custom_formatter_classes_with_validate() {
    let seen: Arc<Mutex<Vec<Kwargs>>> = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let reg = Registry::new().formatter("test_logging.ExceptionFormatter", move |kw| {
        record.lock().unwrap().push(kw.clone());
        let fmt = kw
            .str("fmt")?
            .or(kw.str("format")?)
            .unwrap_or("%(message)s");
        let f = mplog::Formatter::builder(fmt)
            .validate(kw.bool("validate")?.unwrap_or(true))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Arc::new(f) as Arc<dyn Format>)
    });
    let config = |form1: &str| {
        format!(
            r#"{{"version": 1, "formatters": {{"form1": {form1}}},
                "handlers": {{"hand1": {{"class": "logging.StreamHandler", "formatter": "form1",
                                         "level": "NOTSET", "stream": "ext://sys.stdout"}}}},
                "loggers": {{"my_test_logger_custom_formatter": {{"level": "DEBUG", "handlers": ["hand1"],
                                                                  "propagate": "true"}}}}}}"#
        )
    };
    for form1 in [
        r#"{"()": "test_logging.ExceptionFormatter", "format": "%(levelname)s:%(name)s:%(message)s", "validate": false}"#,
        r#"{"class": "test_logging.ExceptionFormatter", "format": "%(levelname)s:%(name)s:%(message)s", "validate": false}"#,
    ] {
        let cfg = DictConfig::from_text_with(&config(form1), FileFormat::Json, &reg).unwrap();
        let m = cfg.build().unwrap();
        let logger = m.get_logger("my_test_logger_custom_formatter");
        assert!(logger.propagate());
        assert!(logger.handlers()[0].base().formatter().is_some());
        m.shutdown();
    }
    let seen = seen.lock().unwrap();
    let keys: Vec<Vec<&str>> = seen.iter().map(|k| k.keys().collect()).collect();
    assert_eq!(
        keys,
        [
            vec!["format", "validate"],
            vec!["datefmt", "fmt", "style", "validate"]
        ]
    );
    assert_eq!(
        seen[1].str("fmt"),
        Ok(Some("%(levelname)s:%(name)s:%(message)s"))
    );
    assert_eq!(seen[1].str("style"), Ok(Some("%")));
    assert_eq!(seen[1].bool("validate"), Ok(Some(false)));
}
