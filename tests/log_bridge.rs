//! The `log` facade routed into mplog. Its own test binary: `log` allows one logger per process.

mod common;

use std::sync::Arc;

use common::Keep;
use mplog::record::Value;
use mplog::Level;

#[test]
fn log_records_reach_the_hierarchy_and_max_level_follows_it() {
    mplog::compat::log_bridge::install().unwrap();
    let keep = Arc::new(Keep::default());
    mplog::root().add_handler(keep.clone());

    // Root at WARNING: log's own max level stops info! before mplog sees it.
    assert_eq!(log::max_level(), log::LevelFilter::Warn);
    log::info!(target: "my_crate::db", "dropped early");
    assert!(keep.records.lock().is_empty());

    mplog::get_logger("my_crate").set_level(Level::DEBUG);
    assert_eq!(log::max_level(), log::LevelFilter::Debug);
    log::debug!(target: "my_crate::db", user = "bob", rows = 3; "query took {} ms", 12);
    log::trace!(target: "my_crate::db", "still too verbose");
    log::info!(target: "other", "below root's WARNING");

    let records = keep.records.lock().clone();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(&*r.name, "my_crate.db");
    assert_eq!(r.level, Level::DEBUG);
    assert_eq!(r.message, "query took 12 ms");
    assert_eq!(r.filename(), "log_bridge.rs");
    assert_eq!(r.get_extra("user"), Some(&Value::Str("bob".into())));
    assert_eq!(r.get_extra("rows"), Some(&Value::Int(3)));

    mplog::disable(Level::CRITICAL);
    assert_eq!(log::max_level(), log::LevelFilter::Off);
    mplog::disable(Level::NOTSET);

    mplog::get_logger("my_crate").set_level(Level::new(5));
    log::trace!(target: "my_crate", "trace arrives");
    let last = keep.records.lock().last().cloned().unwrap();
    assert_eq!(last.level_name, "TRACE");
}
