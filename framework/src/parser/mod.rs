//! Socket.IO packet parsers: how packets become Engine.IO messages and back.
//!
//! [`json`] is the default parser of every Socket.IO client.

pub mod json;
