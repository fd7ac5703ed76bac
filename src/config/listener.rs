//! A queue listener configured by file, and its live reload.
//!
//! A reload reads and checks the new configuration and builds it into a fresh hierarchy on the
//! caller's thread (opening its files); only then is the new hierarchy handed to the dispatch
//! thread, which swaps it in between two batches and flushes and closes the old one's
//! handlers. So each record is handled by exactly one configuration and none is lost. An
//! incremental configuration changes levels of the running hierarchy in place instead.
//!
//! A reload applies as CPython's `dictConfig` applies to a running process: the running
//! hierarchy's loggers are carried into the new one first, so with `disable_existing_loggers`
//! (the default) those the new configuration does not name, nor has below one it names, are
//! disabled (mplog's own `mplog.*` loggers excepted).
//!
//! The new configuration's files are opened before the swap: a file handler with `mode: w`
//! truncates its file then, as a Python `dictConfig` would; reloaded listeners usually want
//! `mode: a` (the default).

use super::error::{ConfigError, ErrorKind};
use super::{ConfigSource, Registry};
use crate::level::Level;
use crate::queue::listener::Target;
use crate::queue::{ListenerHandle, QueueListener, QueueListenerBuilder};

impl QueueListener {
    /// A builder whose dispatch hierarchy is built from `source` (a file path or a
    /// [`DictConfig`](super::DictConfig)); set the endpoint and start it as usual.
    ///
    /// ```
    /// use mplog::queue::{Endpoint, QueueListener};
    /// let listener = QueueListener::from_config("examples/configs/dev.toml")
    ///     .unwrap()
    ///     .endpoint_kind(Endpoint::InProcess)
    ///     .start()
    ///     .unwrap();
    /// assert!(listener.manager().unwrap().root().has_handlers());
    /// listener.stop();
    /// ```
    pub fn from_config(
        source: impl Into<ConfigSource>,
    ) -> Result<QueueListenerBuilder, ConfigError> {
        QueueListener::from_config_with(source, &Registry::new())
    }

    /// [`from_config`](QueueListener::from_config) with a program's own classes (see
    /// [`Registry`]).
    ///
    /// ```
    /// use mplog::config::Registry;
    /// use mplog::queue::{Endpoint, QueueListener};
    /// let listener = QueueListener::from_config_with("examples/configs/dev.toml", &Registry::new())
    ///     .unwrap()
    ///     .endpoint_kind(Endpoint::InProcess)
    ///     .start()
    ///     .unwrap();
    /// listener.stop();
    /// ```
    pub fn from_config_with(
        source: impl Into<ConfigSource>,
        registry: &Registry,
    ) -> Result<QueueListenerBuilder, ConfigError> {
        let manager = source.into().load_with(registry)?.build()?;
        Ok(QueueListener::builder().manager(manager))
    }
}

impl ListenerHandle {
    /// Swaps the whole configuration for the one in `source`, atomically for the records (see
    /// the module docs). On error the running configuration stays, and the error is also
    /// logged on the listener's own logger.
    ///
    /// ```
    /// use mplog::config::DictConfig;
    /// use mplog::queue::{Endpoint, QueueListener};
    /// let listener = QueueListener::from_config("examples/configs/dev.toml")
    ///     .unwrap()
    ///     .endpoint_kind(Endpoint::InProcess)
    ///     .start()
    ///     .unwrap();
    /// let quiet = DictConfig::from_json(r#"{"version": 1, "root": {"level": "ERROR"}}"#).unwrap();
    /// listener.reload(quiet).unwrap();
    /// assert!(!listener.manager().unwrap().root().has_handlers());
    /// assert!(listener.reload("no/such/file.toml").is_err());
    /// listener.stop();
    /// ```
    pub fn reload(&self, source: impl Into<ConfigSource>) -> Result<(), ConfigError> {
        self.reload_with(source, &Registry::new())
    }

    /// [`reload`](ListenerHandle::reload) with a program's own classes (see [`Registry`]).
    ///
    /// ```
    /// use mplog::config::Registry;
    /// use mplog::queue::{Endpoint, QueueListener};
    /// let listener = QueueListener::from_config("examples/configs/dev.toml")
    ///     .unwrap()
    ///     .endpoint_kind(Endpoint::InProcess)
    ///     .start()
    ///     .unwrap();
    /// listener.reload_with("examples/configs/dev.toml", &Registry::new()).unwrap();
    /// listener.stop();
    /// ```
    pub fn reload_with(
        &self,
        source: impl Into<ConfigSource>,
        registry: &Registry,
    ) -> Result<(), ConfigError> {
        let result = self.try_reload(source.into(), registry);
        if let Err(e) = &result {
            self.notice(
                Level::ERROR,
                format!("configuration reload failed, keeping the running one: {e}"),
            );
        }
        result
    }

    fn try_reload(&self, source: ConfigSource, registry: &Registry) -> Result<(), ConfigError> {
        let config = source.load_with(registry)?;
        if config.is_incremental() {
            let manager = self.manager().ok_or_else(|| {
                ConfigError::new(
                    "incremental",
                    ErrorKind::Unsupported(
                        "an incremental configuration needs a listener with a hierarchy".into(),
                    ),
                )
            })?;
            return config.apply_to(&manager);
        }
        // The running loggers carry over, so `disable_existing_loggers` applies as in CPython.
        let manager = match self.manager() {
            Some(running) => config.build_replacing(&running)?,
            None => config.build()?,
        };
        if self.swap_target(Target::Manager(manager.clone())) {
            Ok(())
        } else {
            manager.shutdown();
            Err(ConfigError::new(
                "",
                ErrorKind::Invalid("the listener is stopped".into()),
            ))
        }
    }
}
