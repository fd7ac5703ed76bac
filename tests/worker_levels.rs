//! Worker-side levels: `MPLOG_LEVEL` decides what a worker sends (`warning,app=debug`), and a
//! bad directive stops `init_from_env` with an error naming it.

mod common;

use mplog::Level;

#[test]
fn child() {
    let Some(role) = common::role() else { return };
    match role.as_str() {
        "levels" => {
            let guard = mplog::worker::init_from_env().expect("init");
            for (logger, level) in [
                ("other", Level::INFO),
                ("other", Level::WARNING),
                ("app", Level::DEBUG),
                ("app.db", Level::DEBUG),
                ("apple", Level::INFO),
            ] {
                mplog::get_logger(logger).log(level, format!("{logger} {level}"));
            }
            drop(guard);
        }
        "bad" => {
            let err = mplog::worker::init_from_env().unwrap_err().to_string();
            println!("\nERROR {err}");
        }
        _ => unreachable!("unknown role {role}"),
    }
}

#[test]
fn mplog_level_chooses_what_workers_send() {
    if common::role().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.log");
    let listener = common::file_listener(&path);
    let mut c = common::spawn_child(
        "levels",
        listener.endpoint(),
        "w",
        &[("MPLOG_LEVEL", "warning, app=debug")],
    );
    assert!(c.wait().unwrap().success());
    listener.stop();
    assert_eq!(
        common::lines(&path),
        ["other WARNING", "app DEBUG", "app.db DEBUG"]
    );
}

#[test]
fn a_bad_directive_is_an_error_naming_it() {
    if common::role().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let listener = common::file_listener(&dir.path().join("x.log"));
    let c = common::spawn_child(
        "bad",
        listener.endpoint(),
        "w",
        &[("MPLOG_LEVEL", "info,app=verbose")],
    );
    let out = c.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("MPLOG_LEVEL: directive 'app=verbose': unknown level 'verbose'"),
        "{stdout}"
    );
}
