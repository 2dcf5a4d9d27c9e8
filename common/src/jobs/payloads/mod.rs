//! The payload types of the job kinds, each implementing [`super::Job`] (the handlers
//! live in the worker).

pub mod analysis;
pub mod chat;
pub mod echo;
pub mod health;
pub mod thumbnail;
