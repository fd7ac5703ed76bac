//! The example configurations build and route as their comments say: `prod.yaml` writes under
//! `${LOG_DIR}` (rotating app log at INFO, errors file at ERROR, `app.db` in its own file at
//! DEBUG), `dev.toml` puts everything on the console. `tests/cli.rs` checks them with
//! `mplog check`; `cookbook_config.rs` runs `cookbook.json`.

use mplog::config::DictConfig;
use mplog::Level;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/configs");

#[test]
fn prod_yaml_routes_by_level_and_logger() {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var("LOG_DIR", dir.path());
    let cfg = DictConfig::from_path(format!("{DIR}/prod.yaml").as_ref()).unwrap();
    let m = cfg.build().unwrap();
    m.get_logger("app.http").log(Level::DEBUG, "http debug");
    m.get_logger("app.http").log(Level::INFO, "http info");
    m.get_logger("app.db").log(Level::DEBUG, "db debug");
    m.get_logger("app.db.pool").log(Level::ERROR, "db error");
    m.shutdown();
    // Each message is two words, at the end of the detailed line.
    let read = |n: &str| -> Vec<String> {
        let text = std::fs::read_to_string(dir.path().join(n)).unwrap_or_default();
        text.lines()
            .map(|l| {
                let words: Vec<&str> = l.split_whitespace().collect();
                words[words.len().saturating_sub(2)..].join(" ")
            })
            .collect()
    };
    assert_eq!(read("app.log"), ["http info", "db debug", "db error"]);
    assert_eq!(read("app-errors.log"), ["db error"]);
    assert_eq!(read("app-db.log"), ["db debug", "db error"]);
}

#[test]
fn dev_toml_sends_everything_to_the_console() {
    let cfg = DictConfig::from_path(format!("{DIR}/dev.toml").as_ref()).unwrap();
    let m = cfg.build().unwrap();
    assert_eq!(m.root().level(), Level::DEBUG);
    let handlers = m.root().handlers();
    assert_eq!(handlers.len(), 1);
    assert_eq!(handlers[0].level(), Level::DEBUG);
    assert_eq!(handlers[0].base().name().as_deref(), Some("console"));
}
