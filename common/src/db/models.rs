//! Row types, one per table. `New*` types are what callers insert.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{analyses, conversations, job_results, messages, users};

/// An account, or a guest (no email, no password).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    /// Lower-cased; `None` for guests.
    pub email: Option<String>,
    pub display_name: String,
    /// argon2id PHC string; `None` for guests. Never serialised or logged.
    pub password_hash: Option<String>,
    pub is_guest: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// One uploaded palm photo and, once analysed, its reading.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = analyses)]
pub struct Analysis {
    pub id: String,
    pub owner_id: String,
    /// Object name in the `images` object store.
    pub image_object: String,
    pub status: String,
    pub job_id: Option<String>,
    /// The reading as JSON text.
    pub reading: Option<String>,
    pub engine: Option<String>,
    pub error: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub completed_at: Option<NaiveDateTime>,
}

/// A conversation about one analysis.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = conversations)]
pub struct Conversation {
    pub id: String,
    pub analysis_id: String,
    pub owner_id: String,
    pub title: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// One turn of a conversation; `role` is `user` or `assistant`.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = messages)]
pub struct Message {
    pub id: String,
    pub conversation_id: String,
    pub role: String,
    pub content: String,
    pub job_id: Option<String>,
    pub created_at: NaiveDateTime,
}

/// The durable outcome of one job, keyed by job id (written once, however often delivered).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = job_results)]
pub struct JobResult {
    pub job_id: String,
    pub kind: String,
    pub owner_id: Option<String>,
    /// `completed` or `failed`.
    pub outcome: String,
    /// Result JSON text.
    pub result: Option<String>,
    /// Error JSON text (`{"code","message"}`).
    pub error: Option<String>,
    pub attempts: i32,
    pub created_at: NaiveDateTime,
    pub finished_at: NaiveDateTime,
}
