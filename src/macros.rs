//! The logging macros: `log!`, `debug!`, `info!`, `warning!`, `error!`, `critical!` and
//! `exception!`.
//!
//! Each takes a logger first (anything that dereferences to a [`Logger`](crate::Logger)), then
//! optional `extra` fields as `key = value` pairs ended by `;`, then a `format!`-style message:
//!
//! ```
//! let m = mplog::Manager::new();
//! let log = m.get_logger("app.db");
//! log.set_level(mplog::Level::DEBUG);
//! mplog::debug!(log, "pool size {}", 8);
//! mplog::info!(log, user = "bob", ms = 12; "query served in {} ms", 12);
//! let err = std::io::Error::other("connection reset");
//! mplog::exception!(log, &err, "query failed");
//! ```
//!
//! Nothing is evaluated (neither the message arguments nor the extra values) unless the logger
//! is enabled for the level: a disabled call is one atomic load. The call site's file, line,
//! module path and function name are recorded. An `extra` key that would overwrite a standard
//! record field (`name`, `message`, `asctime`, ...) is a compile-time error, as Python raises
//! `KeyError` for it.

/// Internals of the macros; not a public API.
#[doc(hidden)]
pub mod __private {
    use std::borrow::Cow;
    use std::fmt;

    use std::cell::Cell;
    use std::fmt::Write as _;

    /// Messages longer than this are not kept for reuse (their buffer is freed).
    const KEPT_MESSAGE: usize = 4096;

    thread_local! {
        /// The buffer of this thread's last rendered message, handed back by [`recycle`]: a
        /// log call renders into it instead of allocating a new `String` each time.
        static BUFFER: Cell<String> = const { Cell::new(String::new()) };
    }

    /// The message of a call: borrowed when it is a plain literal, rendered once otherwise
    /// (into this thread's reused buffer).
    #[inline]
    pub fn message(args: fmt::Arguments<'_>) -> Cow<'static, str> {
        match args.as_str() {
            Some(s) => Cow::Borrowed(s),
            None => {
                // A log call inside an argument's `Display` finds the buffer taken and
                // renders into a new one: nothing is shared.
                let mut text = BUFFER.try_with(Cell::take).unwrap_or_default();
                text.clear();
                let _ = text.write_fmt(args);
                Cow::Owned(text)
            }
        }
    }

    /// Gives the record's message buffer back for the next call of this thread.
    #[inline]
    pub fn recycle(record: &mut crate::record::Record) {
        if let Cow::Owned(text) = std::mem::take(&mut record.message) {
            if text.capacity() <= KEPT_MESSAGE {
                let _ = BUFFER.try_with(|b| b.set(text));
            }
        }
    }

    /// The enclosing function's name from the type name of a nested marker function
    /// (`crate::module::func::__mplog_fn`), closures skipped.
    pub fn function_name(path: &'static str) -> &'static str {
        let mut p = path.strip_suffix("::__mplog_fn").unwrap_or(path);
        while let Some(rest) = p.strip_suffix("::{{closure}}") {
            p = rest;
        }
        p.rsplit("::").next().unwrap_or(p)
    }

    /// Renders the error of `exception!` (a value or a reference to one).
    pub fn exc_text<E: std::error::Error + ?Sized>(error: &E) -> String {
        crate::record::render_error(&ErrorRef(error))
    }

    struct ErrorRef<'a, E: ?Sized>(&'a E);
    impl<E: std::error::Error + ?Sized> fmt::Debug for ErrorRef<'_, E> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            fmt::Debug::fmt(self.0, f)
        }
    }
    impl<E: std::error::Error + ?Sized> fmt::Display for ErrorRef<'_, E> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            fmt::Display::fmt(self.0, f)
        }
    }
    impl<E: std::error::Error + ?Sized> std::error::Error for ErrorRef<'_, E> {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.0.source()
        }
    }
}

#[doc(hidden)]
#[macro_export]
macro_rules! __mplog_log {
    ($logger:expr, $level:expr, [$($exc:expr)?], [$($key:ident = $value:expr),*], $($arg:tt)+) => {{
        let __mplog_logger = &$logger;
        let __mplog_level: $crate::Level = $level;
        if __mplog_logger.is_enabled_for(__mplog_level) {
            $(
                const _: () = ::std::assert!(
                    !$crate::record::is_reserved_field(::std::stringify!($key)),
                    ::std::concat!("extra field `", ::std::stringify!($key), "` would overwrite a standard record field"),
                );
            )*
            static __MPLOG_LOCATION: $crate::record::Location = $crate::record::Location {
                pathname: ::std::file!(),
                lineno: ::std::line!(),
                module_path: ::std::module_path!(),
            };
            fn __mplog_fn() {}
            // Resolved once per call site: deriving it from the type name costs more than the
            // rest of the call.
            static __MPLOG_FUNC: ::std::sync::OnceLock<&'static str> = ::std::sync::OnceLock::new();
            let mut __mplog_record = __mplog_logger.make_record(
                __mplog_level,
                $crate::macros::__private::message(::std::format_args!($($arg)+)),
                &__MPLOG_LOCATION,
            );
            __mplog_record.func_name = ::std::borrow::Cow::Borrowed(*__MPLOG_FUNC.get_or_init(|| {
                $crate::macros::__private::function_name(::std::any::type_name_of_val(&__mplog_fn))
            }));
            $(
                __mplog_record.extra.push((
                    ::std::borrow::Cow::Borrowed(::std::stringify!($key)),
                    $crate::record::Value::from($value),
                ));
            )*
            $( __mplog_record.exc_text = ::std::option::Option::Some($crate::macros::__private::exc_text($exc)); )?
            __mplog_logger.handle(&__mplog_record);
            $crate::macros::__private::recycle(&mut __mplog_record);
        }
    }};
}

/// Logs at a level given as an expression: `log!(logger, level, [key = value, ...;] "fmt", args...)`.
///
/// ```
/// let m = mplog::Manager::new();
/// mplog::log!(m.root(), mplog::Level::new(45), "custom level {}", 45);
/// ```
#[macro_export]
macro_rules! log {
    ($logger:expr, $level:expr, $($key:ident = $value:expr),+ ; $($arg:tt)+) => {
        $crate::__mplog_log!($logger, $level, [], [$($key = $value),+], $($arg)+)
    };
    ($logger:expr, $level:expr, $($arg:tt)+) => {
        $crate::__mplog_log!($logger, $level, [], [], $($arg)+)
    };
}

/// Logs at DEBUG. See the [module docs](crate::macros).
///
/// ```
/// let m = mplog::Manager::new();
/// mplog::debug!(m.get_logger("x"), "not shown: root is at WARNING");
/// ```
#[macro_export]
macro_rules! debug {
    ($logger:expr, $($rest:tt)+) => { $crate::log!($logger, $crate::Level::DEBUG, $($rest)+) };
}

/// Logs at INFO. See the [module docs](crate::macros).
///
/// ```
/// let m = mplog::Manager::new();
/// mplog::info!(m.get_logger("x"), id = 7; "served {}", 7);
/// ```
#[macro_export]
macro_rules! info {
    ($logger:expr, $($rest:tt)+) => { $crate::log!($logger, $crate::Level::INFO, $($rest)+) };
}

/// Logs at WARNING. See the [module docs](crate::macros).
///
/// ```
/// let m = mplog::Manager::new();
/// mplog::warning!(m.get_logger("x"), "disk {}% full", 91);
/// ```
#[macro_export]
macro_rules! warning {
    ($logger:expr, $($rest:tt)+) => { $crate::log!($logger, $crate::Level::WARNING, $($rest)+) };
}

/// Logs at ERROR. See the [module docs](crate::macros).
///
/// ```
/// let m = mplog::Manager::new();
/// mplog::error!(m.get_logger("x"), "lost connection");
/// ```
#[macro_export]
macro_rules! error {
    ($logger:expr, $($rest:tt)+) => { $crate::log!($logger, $crate::Level::ERROR, $($rest)+) };
}

/// Logs at CRITICAL. See the [module docs](crate::macros).
///
/// ```
/// let m = mplog::Manager::new();
/// mplog::critical!(m.get_logger("x"), "shutting down");
/// ```
#[macro_export]
macro_rules! critical {
    ($logger:expr, $($rest:tt)+) => { $crate::log!($logger, $crate::Level::CRITICAL, $($rest)+) };
}

/// Logs at ERROR with an error's chain as the exception text (Python's `logger.exception`):
/// `exception!(logger, error, [key = value, ...;] "fmt", args...)`. The error may be a value
/// or a reference.
///
/// ```
/// let m = mplog::Manager::new();
/// let err = std::io::Error::other("disk full");
/// mplog::exception!(m.get_logger("x"), err, "write failed");
/// ```
#[macro_export]
macro_rules! exception {
    ($logger:expr, $err:expr, $($key:ident = $value:expr),+ ; $($arg:tt)+) => {
        $crate::__mplog_log!($logger, $crate::Level::ERROR, [&$err], [$($key = $value),+], $($arg)+)
    };
    ($logger:expr, $err:expr, $($arg:tt)+) => {
        $crate::__mplog_log!($logger, $crate::Level::ERROR, [&$err], [], $($arg)+)
    };
}
