//! Dynamic namespaces: the namespaces they create for clients, how many they may create,
//! and the removal of those that empty.
//!
//! A client connecting to a created namespace holds a [`Seat`] in it from the moment the
//! namespace is looked up until its socket leaves (or is refused). Seats are taken under
//! the namespaces' lock and a namespace is removed under it only when it has none, so a
//! client connecting while the namespace is being removed either finds it still there,
//! seated, or finds it gone and gets a new one.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::IoInner;
use crate::namespace::{Handlers, Namespace};
use crate::sync::{read, write};

/// The namespaces of a server.
#[derive(Default)]
pub(crate) struct Namespaces {
    pub(crate) by_name: HashMap<String, Namespace>,
    /// How many of them dynamic namespaces created.
    children: usize,
}

/// A dynamic namespace: the names it matches, and the handlers of every namespace it
/// creates.
pub(super) struct Dynamic {
    pub(super) matches: Box<dyn Fn(&str) -> bool + Send + Sync>,
    pub(super) handlers: Arc<Handlers>,
}

/// A dynamic namespace ([`Io::dynamic_ns`](crate::Io::dynamic_ns)): its middleware applies
/// to every namespace it creates.
#[derive(Clone)]
pub struct DynamicNamespace(pub(super) Arc<Handlers>);

impl DynamicNamespace {
    /// Adds connection middleware to every namespace this one creates (see
    /// [`Namespace::middleware`]).
    pub fn middleware<H: crate::Middleware<M>, M: 'static>(&self, middleware: H) -> &Self {
        self.0.add_middleware(middleware);
        self
    }
}

impl fmt::Debug for DynamicNamespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DynamicNamespace")
    }
}

/// Why a client cannot connect to the namespace it asked for; the message is the
/// `connect_error` it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unavailable {
    /// No namespace has that name, and no dynamic namespace accepts it.
    Invalid,
    /// A dynamic namespace accepts it, but they have created as many as they may.
    TooMany,
}

impl Unavailable {
    pub(crate) fn message(self) -> &'static str {
        match self {
            Unavailable::Invalid => "Invalid namespace",
            Unavailable::TooMany => "Too many namespaces",
        }
    }
}

/// A connection's hold on a namespace that a dynamic namespace created, which keeps it
/// from being removed; empty for other namespaces. Released once, by
/// [`release`](Self::release) or when dropped.
pub(crate) struct Seat {
    namespace: Option<Namespace>,
    held: AtomicBool,
}

impl Seat {
    /// No hold: for a namespace that is never removed.
    pub(crate) fn none() -> Seat {
        Seat {
            namespace: None,
            held: AtomicBool::new(false),
        }
    }

    /// Takes a seat in `namespace`; the caller holds the namespaces' lock.
    fn take(namespace: &Namespace) -> Seat {
        if !namespace.is_child() {
            return Seat::none();
        }
        namespace.seat_taken();
        Seat {
            namespace: Some(namespace.clone()),
            held: AtomicBool::new(true),
        }
    }

    /// Gives the seat up; the namespace is removed if it was the last and the server
    /// removes empty namespaces.
    pub(crate) fn release(&self) {
        if !self.held.swap(false, Ordering::AcqRel) {
            return;
        }
        if let Some(namespace) = &self.namespace
            && namespace.seat_left()
            && let Some(io) = namespace.owner()
        {
            io.remove_if_empty(namespace);
        }
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.release();
    }
}

impl IoInner {
    /// The namespace a client asks to connect to, with a seat in it: a static one, or one a
    /// dynamic namespace creates.
    pub(crate) fn namespace_for(
        self: &Arc<Self>,
        name: &str,
    ) -> Result<(Namespace, Seat), Unavailable> {
        if let Some(namespace) = read(&self.namespaces).by_name.get(name) {
            let seat = Seat::take(namespace);
            return Ok((namespace.clone(), seat));
        }
        let handlers = read(&self.dynamic)
            .iter()
            .find(|dynamic| (dynamic.matches)(name))
            .map(|dynamic| dynamic.handlers.clone())
            .ok_or(Unavailable::Invalid)?;
        let mut namespaces = write(&self.namespaces);
        if let Some(namespace) = namespaces.by_name.get(name) {
            let seat = Seat::take(namespace);
            return Ok((namespace.clone(), seat));
        }
        if namespaces.children >= self.max_children {
            // At debug, as every refusal a client can cause: the metrics count connect errors.
            tracing::debug!(
                namespace = name,
                max = self.max_children,
                "dynamic namespace limit reached; refusing the client"
            );
            return Err(Unavailable::TooMany);
        }
        let namespace = Namespace::new(
            name.to_owned(),
            self.core.clone(),
            handlers,
            &self.adapter,
            Some(Arc::downgrade(self)),
        );
        namespaces.children += 1;
        namespaces
            .by_name
            .insert(name.to_owned(), namespace.clone());
        let seat = Seat::take(&namespace);
        Ok((namespace, seat))
    }

    /// Removes `namespace`, which a dynamic namespace created, if no one holds a seat in it
    /// and the server removes empty namespaces.
    fn remove_if_empty(&self, namespace: &Namespace) {
        if !self.cleanup {
            return;
        }
        let mut namespaces = write(&self.namespaces);
        let current = namespaces.by_name.get(namespace.name());
        if !namespace.has_seats() && current == Some(namespace) {
            let removed = namespaces.by_name.remove(namespace.name());
            namespaces.children -= 1;
            drop(namespaces);
            tracing::debug!(namespace = namespace.name(), "empty namespace removed");
            // Its adapter goes with the last handle, outside the lock.
            drop(removed);
        }
    }
}
