//! A `tracing` layer feeding a queue listener's hierarchy follows the listener's reloads: the
//! new configuration's levels filter `tracing` events at once and its handlers get them (the
//! old ones are closed). Its own binary: one global subscriber per process.
#![cfg(feature = "tracing")]

use mplog::config::DictConfig;
use mplog::queue::{Endpoint, QueueListener};
use tracing_subscriber::layer::SubscriberExt;

fn config(level: &str, path: &std::path::Path) -> DictConfig {
    let json = serde_json::json!({
        "version": 1,
        // A reload applies as CPython's dictConfig: by default it would disable `svc.db`,
        // which the first configuration's records created and the second does not name.
        "disable_existing_loggers": false,
        "formatters": {"plain": {"format": "%(levelname)s %(name)s %(message)s"}},
        "handlers": {"file": {"class": "logging.FileHandler", "filename": path, "formatter": "plain"}},
        "root": {"level": level, "handlers": ["file"]},
    });
    DictConfig::from_json(&json.to_string()).unwrap()
}

#[test]
fn the_layer_follows_a_listener_reload_to_the_new_hierarchy() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("first.log"), dir.path().join("second.log"));
    let listener = QueueListener::builder()
        .manager(config("ERROR", &first).build().unwrap())
        .endpoint_kind(Endpoint::InProcess)
        .start()
        .unwrap();
    let layer = mplog::compat::tracing::layer_for(listener.manager().unwrap());
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer.clone()))
        .unwrap();

    tracing::debug!(target: "svc::db", "off under the first configuration");
    tracing::error!(target: "svc::db", "one");
    listener.reload(config("DEBUG", &second)).unwrap();
    assert_eq!(layer.manager(), listener.manager().unwrap());
    tracing::debug!(target: "svc::db", "two");
    listener.stop();

    let read = |p: &std::path::Path| std::fs::read_to_string(p).unwrap();
    assert_eq!(read(&first), "ERROR svc.db one\n");
    assert_eq!(read(&second), "DEBUG svc.db two\n");
}
