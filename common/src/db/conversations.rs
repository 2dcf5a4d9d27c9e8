//! Queries on `conversations` and `messages`.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::models::{Conversation, Message};
use super::schema::{conversations, messages};
use super::{with_conn, Database, DbError};

impl Database {
    /// Inserts a conversation.
    pub async fn insert_conversation(&self, conversation: &Conversation) -> Result<(), DbError> {
        with_conn!(self, |conn| {
            diesel::insert_into(conversations::table)
                .values(conversation)
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// The conversation `id` if it belongs to `owner_id`.
    pub async fn find_conversation(
        &self,
        owner_id: &str,
        id: &str,
    ) -> Result<Option<Conversation>, DbError> {
        with_conn!(self, |conn| {
            Ok(conversations::table
                .find(id)
                .filter(conversations::owner_id.eq(owner_id))
                .select(Conversation::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// Appends a message to a conversation.
    pub async fn insert_message(&self, message: &Message) -> Result<(), DbError> {
        with_conn!(self, |conn| {
            diesel::insert_into(messages::table)
                .values(message)
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// A conversation's messages, oldest first.
    pub async fn list_messages(&self, conversation_id: &str) -> Result<Vec<Message>, DbError> {
        with_conn!(self, |conn| {
            Ok(messages::table
                .filter(messages::conversation_id.eq(conversation_id))
                .order((messages::created_at.asc(), messages::id.asc()))
                .select(Message::as_select())
                .load(conn)
                .await?)
        })
    }
}
