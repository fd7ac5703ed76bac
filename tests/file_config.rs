//! fileConfig INI: CPython's `ConfigFileTest` shapes (a root handler, a `compiler.parser`
//! logger with `propagate=0`, `args` tuples for stream, file, rotating and timed handlers) read
//! into the same hierarchy as the dict form; what is not supported is refused clearly.

use mplog::config::DictConfig;
use mplog::Level;

fn ini(dir: &std::path::Path) -> String {
    let p = |n: &str| dir.join(n).display().to_string();
    format!(
        "[loggers]\nkeys=root,parser\n\n\
         [handlers]\nkeys=hand1,rot,timed,err\n\n\
         [formatters]\nkeys=form1\n\n\
         [logger_root]\nlevel=WARNING\nhandlers=hand1\n\n\
         [logger_parser]\nlevel=DEBUG\nhandlers=rot,timed\npropagate=0\nqualname=compiler.parser\n\n\
         [handler_hand1]\nclass=FileHandler\nlevel=NOTSET\nformatter=form1\nargs=('{}', 'w')\n\n\
         [handler_rot]\nclass=handlers.RotatingFileHandler\nformatter=form1\n\
         args=('{}', 'a', 15, 2)\n\n\
         [handler_timed]\nclass=logging.handlers.TimedRotatingFileHandler\nformatter=form1\n\
         args=('{}', 'midnight')\nkwargs={{'backupCount': 3, 'utc': True}}\n\n\
         [handler_err]\nclass=StreamHandler\nlevel=ERROR\nargs=(sys.stderr,)\n\n\
         [formatter_form1]\nformat=%(levelname)s ++ %(message)s\ndatefmt=\n",
        p("root.log"),
        p("parser.log"),
        p("timed.log")
    )
}

#[test]
fn ini_routes_like_the_dict_form() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logging.conf");
    std::fs::write(&path, ini(dir.path())).unwrap();
    let m = DictConfig::from_path(&path).unwrap().build().unwrap();
    let parser = m.get_logger("compiler.parser");
    assert!(!parser.propagate());
    parser.log(Level::DEBUG, "1");
    parser.log(Level::INFO, "2");
    m.root().log(Level::INFO, "not shown");
    m.root().log(Level::WARNING, "3");
    m.shutdown();
    assert_routed(dir.path());
}

/// What the records of both tests leave in the files.
fn assert_routed(dir: &std::path::Path) {
    let read = |n: &str| std::fs::read_to_string(dir.join(n)).unwrap_or_default();
    assert_eq!(read("root.log"), "WARNING ++ 3\n");
    assert_eq!(read("timed.log"), "DEBUG ++ 1\nINFO ++ 2\n");
    // 15 bytes: the second line rolled the first over.
    assert_eq!(read("parser.log"), "INFO ++ 2\n");
    assert_eq!(read("parser.log.1"), "DEBUG ++ 1\n");
}

#[test]
fn python_reads_the_same_file_the_same_way() {
    // The same INI through Python's fileConfig, where python3 is installed.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logging.ini");
    std::fs::write(&path, ini(dir.path())).unwrap();
    let script = "import logging, logging.config, sys\n\
        logging.config.fileConfig(sys.argv[1])\n\
        p = logging.getLogger('compiler.parser')\n\
        p.debug('1'); p.info('2'); logging.info('not shown'); logging.warning('3')\n\
        logging.shutdown()\n";
    let Ok(out) = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&path)
        .output()
    else {
        eprintln!("python3 not run");
        return;
    };
    assert!(out.status.success(), "{out:?}");
    assert_routed(dir.path());
}

#[test]
fn unsupported_ini_is_refused_naming_the_section() {
    let base = "[loggers]\nkeys=root\n[logger_root]\nhandlers=h\n[handlers]\nkeys=h\n[handler_h]\n";
    let err = |handler: &str| {
        DictConfig::from_ini(&format!("{base}{handler}"))
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err("class=StreamHandler\nargs=(open('x'),)\n"),
        "handler_h: args: 'open' is not a literal mplog can read in \"(open('x'),)\""
    );
    assert!(err("class=handlers.NTEventLogHandler\nargs=('app',)\n")
        .contains("handler class 'handlers.NTEventLogHandler' is not available in mplog"));
    assert!(err("class=FileHandler\nargs=('%(logdir)s/a.log',)\n")
        .contains("interpolation is not supported"));
    assert!(err("class=StreamHandler\nargs=sys.stderr\n").contains("args must be a tuple"));
    // A key fileConfig does not read has no effect there either: a warning.
    let cfg = DictConfig::from_ini(&format!("{base}class=StreamHandler\ncolour=red\n")).unwrap();
    assert_eq!(
        cfg.warnings()[0].to_string(),
        "handler_h: key 'colour' is ignored (Python's fileConfig does not read it)"
    );
    let e = DictConfig::from_ini("[loggers]\nkeys=root,x\n[logger_root]\n[logger_x]\nlevel=INFO\n")
        .unwrap_err()
        .to_string();
    assert_eq!(e, "logger_x: missing required key 'qualname'");
}
