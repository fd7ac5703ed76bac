//! Filters: decide whether a record goes on, and may replace it on its way.
//!
//! Loggers and handlers each own a [`Filters`] list. Python's rule holds: every filter must
//! accept the record; a filter may return a changed record ([`Decision::Replace`]), which
//! replaces the original from then on (the next filters, the handlers, the ancestors' handlers).
//!
//! [`NameFilter`] is Python's `logging.Filter(name)`; any `Fn(&Record) -> bool` is a filter
//! through [`from_fn`], and [`map_fn`] wraps a closure that may rewrite the record.

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::record::Record;

/// What a filter decided about one record.
///
/// ```
/// use mplog::filter::{Decision, Filter};
/// let tag = mplog::filter::map_fn(|r| Some(r.clone().with_extra("tagged", true).unwrap()));
/// let r = mplog::Record::new("a", mplog::Level::INFO, "m");
/// assert!(matches!(tag.filter(&r), Decision::Replace(_)));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Drop the record.
    Reject,
    /// Let the record through unchanged.
    Accept,
    /// Let a changed record through in place of the original.
    Replace(Box<Record>),
}

/// A filter on records (Python's `Filter` protocol).
///
/// ```
/// use mplog::filter::{Decision, Filter};
/// use mplog::Record;
/// struct NoHealthChecks;
/// impl Filter for NoHealthChecks {
///     fn filter(&self, r: &Record) -> Decision {
///         if r.message.contains("/health") { Decision::Reject } else { Decision::Accept }
///     }
/// }
/// let r = Record::new("http", mplog::Level::INFO, "GET /health");
/// assert_eq!(NoHealthChecks.filter(&r), Decision::Reject);
/// ```
pub trait Filter: Send + Sync {
    /// Decides about `record`.
    ///
    /// ```
    /// use mplog::filter::{Decision, Filter, NameFilter};
    /// let f = NameFilter::new("app");
    /// assert_eq!(f.filter(&mplog::Record::new("app.db", mplog::Level::INFO, "m")), Decision::Accept);
    /// assert_eq!(f.filter(&mplog::Record::new("lib", mplog::Level::INFO, "m")), Decision::Reject);
    /// ```
    fn filter(&self, record: &Record) -> Decision;
}

/// Python's `logging.Filter(name)`: passes records of the logger `name` and its descendants.
///
/// ```
/// use mplog::filter::{Filter, NameFilter, Decision};
/// use mplog::{Level, Record};
/// let f = NameFilter::new("A.B");
/// let pass = |n: &str| f.filter(&Record::new(n, Level::INFO, "m")) == Decision::Accept;
/// assert!(pass("A.B") && pass("A.B.C"));
/// assert!(!pass("A.BB") && !pass("B.A.B") && !pass("A"));
/// assert!(NameFilter::new("").filter(&Record::new("x", Level::INFO, "m")) == Decision::Accept);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameFilter {
    name: String,
}

impl NameFilter {
    /// A filter for `name` and the loggers below it; `""` passes everything.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mplog::filter::NameFilter;
    /// let m = mplog::Manager::new();
    /// let only_db = Arc::new(NameFilter::new("app.db"));
    /// m.root().add_filter(only_db.clone());
    /// assert!(only_db.passes("app.db.pool") && !only_db.passes("app"));
    /// ```
    pub fn new(name: impl Into<String>) -> NameFilter {
        NameFilter { name: name.into() }
    }

    /// Whether a logger called `logger` passes (the rule of Python's `Filter.filter`).
    ///
    /// ```
    /// let f = mplog::filter::NameFilter::new("app");
    /// assert!(f.passes("app") && f.passes("app.db"));
    /// assert!(!f.passes("apple"));
    /// ```
    pub fn passes(&self, logger: &str) -> bool {
        let n = self.name.len();
        n == 0
            || logger == self.name
            || (logger.starts_with(&self.name) && logger.as_bytes().get(n) == Some(&b'.'))
    }
}

impl Filter for NameFilter {
    fn filter(&self, record: &Record) -> Decision {
        if self.passes(&record.name) {
            Decision::Accept
        } else {
            Decision::Reject
        }
    }
}

struct FnFilter<F>(F);

impl<F: Fn(&Record) -> bool + Send + Sync> Filter for FnFilter<F> {
    fn filter(&self, record: &Record) -> Decision {
        if (self.0)(record) {
            Decision::Accept
        } else {
            Decision::Reject
        }
    }
}

/// A filter from a predicate (Python accepts a plain callable as a filter).
///
/// ```
/// let only_db = mplog::filter::from_fn(|r| r.name.starts_with("db"));
/// # let _ = only_db;
/// ```
pub fn from_fn<F>(f: F) -> Arc<dyn Filter>
where
    F: Fn(&Record) -> bool + Send + Sync + 'static,
{
    Arc::new(FnFilter(f))
}

struct MapFilter<F>(F);

impl<F: Fn(&Record) -> Option<Record> + Send + Sync> Filter for MapFilter<F> {
    fn filter(&self, record: &Record) -> Decision {
        match (self.0)(record) {
            Some(r) => Decision::Replace(Box::new(r)),
            None => Decision::Reject,
        }
    }
}

/// A filter that returns a changed record (or `None` to drop it), as Python 3.12+ allows.
///
/// ```
/// let redact = mplog::filter::map_fn(|r| {
///     let mut r = r.clone();
///     r.message = r.message.replace("secret", "***").into();
///     Some(r)
/// });
/// # let _ = redact;
/// ```
pub fn map_fn<F>(f: F) -> Arc<dyn Filter>
where
    F: Fn(&Record) -> Option<Record> + Send + Sync + 'static,
{
    Arc::new(MapFilter(f))
}

/// A list of filters, shared by loggers and handlers; reading it takes no lock.
///
/// ```
/// use mplog::filter::{Filters, NameFilter};
/// use std::sync::Arc;
/// let filters = Filters::default();
/// let f: Arc<dyn mplog::filter::Filter> = Arc::new(NameFilter::new("app"));
/// filters.add(f.clone());
/// let r = mplog::Record::new("other", mplog::Level::INFO, "m");
/// assert!(filters.apply(&r).is_none());
/// filters.remove(&f);
/// assert!(filters.apply(&r).is_some());
/// ```
#[derive(Default)]
pub struct Filters {
    list: ArcSwap<Vec<Arc<dyn Filter>>>,
    /// Mirrors `list.len()`, so the common case (no filters) costs one load.
    len: AtomicUsize,
}

impl Filters {
    /// Appends a filter (a filter already present is not added twice, as in Python).
    ///
    /// ```
    /// let filters = mplog::filter::Filters::default();
    /// let f = mplog::filter::from_fn(|_| true);
    /// filters.add(f.clone());
    /// filters.add(f); // already there: not added twice
    /// assert!(!filters.is_empty());
    /// ```
    pub fn add(&self, filter: Arc<dyn Filter>) {
        self.list.rcu(|old| {
            let mut list = Vec::clone(old);
            if !list.iter().any(|f| Arc::ptr_eq(f, &filter)) {
                list.push(filter.clone());
            }
            list
        });
        self.sync_len();
    }

    fn sync_len(&self) {
        self.len.store(self.list.load().len(), Ordering::Release);
    }

    /// Removes a filter (compared by identity).
    ///
    /// ```
    /// let filters = mplog::filter::Filters::default();
    /// let f = mplog::filter::from_fn(|_| false);
    /// filters.add(f.clone());
    /// filters.remove(&f);
    /// assert!(filters.is_empty());
    /// ```
    pub fn remove(&self, filter: &Arc<dyn Filter>) {
        self.list.rcu(|old| {
            let mut list = Vec::clone(old);
            list.retain(|f| !Arc::ptr_eq(f, filter));
            list
        });
        self.sync_len();
    }

    /// Removes every filter.
    ///
    /// ```
    /// let filters = mplog::filter::Filters::default();
    /// filters.add(mplog::filter::from_fn(|_| false));
    /// filters.clear();
    /// assert!(filters.is_empty());
    /// ```
    pub fn clear(&self) {
        self.list.store(Arc::new(Vec::new()));
        self.sync_len();
    }

    /// Whether the list is empty.
    ///
    /// ```
    /// let filters = mplog::filter::Filters::default();
    /// assert!(filters.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len.load(Ordering::Acquire) == 0
    }

    /// Runs the filters in order: `None` if one rejects, else the record to go on with
    /// (borrowed when no filter replaced it).
    ///
    /// ```
    /// use std::borrow::Cow;
    /// let filters = mplog::filter::Filters::default();
    /// filters.add(mplog::filter::map_fn(|r| {
    ///     let mut r = r.clone();
    ///     r.message = r.message.replace("hunter2", "***").into();
    ///     Some(r)
    /// }));
    /// let record = mplog::Record::new("a", mplog::Level::INFO, "pw hunter2");
    /// let out = filters.apply(&record).unwrap();
    /// assert!(matches!(out, Cow::Owned(_)));
    /// assert_eq!(out.message, "pw ***");
    /// ```
    #[inline]
    pub fn apply<'a>(&self, record: &'a Record) -> Option<Cow<'a, Record>> {
        if self.is_empty() {
            return Some(Cow::Borrowed(record));
        }
        let list = self.list.load();
        let mut current = Cow::Borrowed(record);
        for f in list.iter() {
            match f.filter(&current) {
                Decision::Reject => return None,
                Decision::Accept => {}
                Decision::Replace(r) => current = Cow::Owned(*r),
            }
        }
        Some(current)
    }
}

impl std::fmt::Debug for Filters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Filters({})", self.list.load().len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::Level;

    fn rec(name: &str) -> Record {
        Record::new(name, Level::INFO, "m")
    }

    #[test]
    fn name_filter_matches_python() {
        // test_logging.BasicFilterTest: "spam.eggs" passes spam.eggs and spam.eggs.fish only.
        let f = NameFilter::new("spam.eggs");
        for (name, ok) in [
            ("spam", false),
            ("spam.eggs", true),
            ("spam.eggs.fish", true),
            ("spam.bakedbeans", false),
            ("spam.eggsy", false),
            ("eggs.spam.eggs", false),
        ] {
            assert_eq!(f.filter(&rec(name)) == Decision::Accept, ok, "{name}");
        }
    }

    #[test]
    fn a_replacing_filter_changes_what_later_filters_see() {
        let filters = Filters::default();
        filters.add(map_fn(|r| {
            let mut r = r.clone();
            r.message = "changed".into();
            Some(r)
        }));
        filters.add(from_fn(|r| r.message == "changed"));
        let original = rec("a");
        let out = filters.apply(&original).unwrap();
        assert_eq!(out.message, "changed");
        assert!(matches!(out, Cow::Owned(_)));
    }

    #[test]
    fn all_filters_must_accept() {
        let filters = Filters::default();
        filters.add(from_fn(|_| true));
        assert!(filters.apply(&rec("a")).is_some());
        filters.add(from_fn(|_| false));
        assert!(filters.apply(&rec("a")).is_none());
    }

    #[test]
    fn same_filter_is_added_once() {
        let filters = Filters::default();
        let f = from_fn(|_| false);
        filters.add(f.clone());
        filters.add(f.clone());
        filters.remove(&f);
        assert!(filters.is_empty());
    }
}
