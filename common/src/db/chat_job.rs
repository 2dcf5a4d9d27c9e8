//! Queries the `chat` job runs (the worker side of conversations). The worker is trusted:
//! these look rows up by id, without an owner scope.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::models::{Analysis, Conversation, Message};
use super::schema::{analyses, conversations, messages};
use super::{with_conn, Database, DbError};

/// What the `chat` job needs to answer one user message.
#[derive(Debug, Clone)]
pub struct ChatContext {
    pub conversation: Conversation,
    /// The conversation's analysis (its `reading` may still be `None`).
    pub analysis: Analysis,
    /// The messages up to and including the one to answer, oldest first.
    pub messages: Vec<Message>,
}

/// Why a [`ChatContext`] could not be loaded: which row is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatLookup {
    Conversation,
    Analysis,
    /// The message is not in the conversation (deleted, or never was).
    Message,
}

// `chat` is a private module (its types are reachable through these methods and fields,
// not by name), so a lookup failure says what it is itself.
impl ChatLookup {
    /// A stable snake_case code: `conversation_not_found`, `analysis_not_found`,
    /// `message_not_found`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Conversation => "conversation_not_found",
            Self::Analysis => "analysis_not_found",
            Self::Message => "message_not_found",
        }
    }

    /// What is missing, for the job's error message.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Conversation => "the conversation no longer exists",
            Self::Analysis => "the conversation's analysis no longer exists",
            Self::Message => "the message to answer is not in the conversation",
        }
    }
}

impl Database {
    /// The conversation `conversation_id`, its analysis, and its messages up to and
    /// including `message_id` (ordered by `created_at`, then id, like the API lists them).
    pub async fn chat_context(
        &self,
        conversation_id: &str,
        message_id: &str,
    ) -> Result<Result<ChatContext, ChatLookup>, DbError> {
        with_conn!(self, |conn| {
            let Some(conversation) = conversations::table
                .find(conversation_id)
                .select(Conversation::as_select())
                .first(conn)
                .await
                .optional()?
            else {
                return Ok(Err(ChatLookup::Conversation));
            };
            let Some(analysis) = analyses::table
                .find(&conversation.analysis_id)
                .select(Analysis::as_select())
                .first(conn)
                .await
                .optional()?
            else {
                return Ok(Err(ChatLookup::Analysis));
            };
            let mut all: Vec<Message> = messages::table
                .filter(messages::conversation_id.eq(conversation_id))
                .order((messages::created_at.asc(), messages::id.asc()))
                .select(Message::as_select())
                .load(conn)
                .await?;
            let Some(position) = all.iter().position(|m| m.id == message_id) else {
                return Ok(Err(ChatLookup::Message));
            };
            all.truncate(position + 1);
            Ok(Ok(ChatContext {
                conversation,
                analysis,
                messages: all,
            }))
        })
    }

    /// The answer a job already stored, if any (`messages.job_id` is unique).
    pub async fn find_answer_of_job(&self, job_id: &str) -> Result<Option<Message>, DbError> {
        with_conn!(self, |conn| {
            Ok(messages::table
                .filter(messages::job_id.eq(job_id))
                .select(Message::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// Stores an answer unless its job already stored one (`ON CONFLICT DO NOTHING` on
    /// the unique `messages.job_id`); touches the conversation's `updated_at`. Returns
    /// the stored answer: `answer` itself, or the one an earlier delivery stored.
    /// `Ok(None)`: the conversation was deleted meanwhile.
    pub async fn store_answer(&self, answer: &Message) -> Result<Option<Message>, DbError> {
        let job_id = answer.job_id.clone().unwrap_or_default();
        match self.insert_answer_row(answer).await {
            Ok(Some(true)) => Ok(Some(answer.clone())),
            Ok(Some(false)) => self.find_answer_of_job(&job_id).await,
            Ok(None) => Ok(None),
            // The conversation vanished between the check and the insert (foreign key).
            Err(DbError::ForeignKey(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `Some(inserted)`, or `None` when the conversation no longer exists.
    async fn insert_answer_row(&self, answer: &Message) -> Result<Option<bool>, DbError> {
        with_conn!(self, |conn| {
            let exists: i64 = conversations::table
                .find(&answer.conversation_id)
                .count()
                .get_result(conn)
                .await?;
            if exists == 0 {
                return Ok(None);
            }
            let n = diesel::insert_into(messages::table)
                .values(answer)
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
            if n > 0 {
                diesel::update(conversations::table.find(&answer.conversation_id))
                    .set(conversations::updated_at.eq(answer.created_at))
                    .execute(conn)
                    .await?;
            }
            Ok(Some(n > 0))
        })
    }
}
