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

impl Database {
    /// The conversations of analysis `analysis_id` owned by `owner_id`, most recent
    /// activity first (`updated_at`, then id, descending).
    pub async fn list_conversations(
        &self,
        owner_id: &str,
        analysis_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Conversation>, DbError> {
        with_conn!(self, |conn| {
            Ok(conversations::table
                .filter(conversations::owner_id.eq(owner_id))
                .filter(conversations::analysis_id.eq(analysis_id))
                .order((conversations::updated_at.desc(), conversations::id.desc()))
                .limit(limit)
                .offset(offset)
                .select(Conversation::as_select())
                .load(conn)
                .await?)
        })
    }

    /// Renames the conversation `id` of `owner_id` and bumps its `updated_at`; the
    /// renamed row, or `None` if there is no such conversation of that owner.
    pub async fn rename_conversation(
        &self,
        owner_id: &str,
        id: &str,
        title: &str,
    ) -> Result<Option<Conversation>, DbError> {
        let now = super::now();
        with_conn!(self, |conn| {
            Ok(diesel::update(
                conversations::table
                    .find(id)
                    .filter(conversations::owner_id.eq(owner_id)),
            )
            .set((
                conversations::title.eq(title),
                conversations::updated_at.eq(now),
            ))
            .returning(Conversation::as_returning())
            .get_result(conn)
            .await
            .optional()?)
        })
    }

    /// Deletes the conversation `id` of `owner_id` (its messages cascade); whether a
    /// row went.
    pub async fn delete_conversation(&self, owner_id: &str, id: &str) -> Result<bool, DbError> {
        with_conn!(self, |conn| {
            let n = diesel::delete(
                conversations::table
                    .find(id)
                    .filter(conversations::owner_id.eq(owner_id)),
            )
            .execute(conn)
            .await?;
            Ok(n > 0)
        })
    }

    /// Sets the `updated_at` of conversation `id` (its latest activity).
    pub async fn touch_conversation(
        &self,
        id: &str,
        at: chrono::NaiveDateTime,
    ) -> Result<(), DbError> {
        with_conn!(self, |conn| {
            diesel::update(conversations::table.find(id))
                .set(conversations::updated_at.eq(at))
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// Appends `message` and sets its conversation's `updated_at` to the message's
    /// `created_at`, in one transaction.
    pub async fn post_message(&self, message: &Message) -> Result<(), DbError> {
        use diesel_async::AsyncConnection;
        with_conn!(self, |conn| {
            conn.transaction::<_, DbError, _>(async |conn| {
                diesel::insert_into(messages::table)
                    .values(message)
                    .execute(conn)
                    .await?;
                diesel::update(conversations::table.find(&message.conversation_id))
                    .set(conversations::updated_at.eq(message.created_at))
                    .execute(conn)
                    .await?;
                Ok(())
            })
            .await
        })
    }

    /// Undoes [`Database::post_message`]: deletes `message` and, unless something else
    /// has touched the conversation since, puts its `updated_at` back to `previous`.
    /// Whether the message was still there.
    pub async fn retract_message(
        &self,
        message: &Message,
        previous: chrono::NaiveDateTime,
    ) -> Result<bool, DbError> {
        use diesel_async::AsyncConnection;
        with_conn!(self, |conn| {
            conn.transaction::<_, DbError, _>(async |conn| {
                let n = diesel::delete(messages::table.find(&message.id))
                    .execute(conn)
                    .await?;
                diesel::update(
                    conversations::table
                        .find(&message.conversation_id)
                        .filter(conversations::updated_at.eq(message.created_at)),
                )
                .set(conversations::updated_at.eq(previous))
                .execute(conn)
                .await?;
                Ok(n > 0)
            })
            .await
        })
    }

    /// Deletes the message `id`; whether it existed.
    pub async fn delete_message(&self, id: &str) -> Result<bool, DbError> {
        with_conn!(self, |conn| {
            let n = diesel::delete(messages::table.find(id))
                .execute(conn)
                .await?;
            Ok(n > 0)
        })
    }

    /// How many messages conversation `conversation_id` has.
    pub async fn count_messages(&self, conversation_id: &str) -> Result<i64, DbError> {
        with_conn!(self, |conn| {
            Ok(messages::table
                .filter(messages::conversation_id.eq(conversation_id))
                .count()
                .get_result(conn)
                .await?)
        })
    }

    /// How many of `owner_id`'s questions asked since `since` have no answer yet: a
    /// question counts until an `assistant` message of its conversation is stored at or
    /// after it. Two small queries (the owner's recent questions, then the latest answer
    /// of each of their conversations), compared here.
    pub async fn unanswered_questions(
        &self,
        owner_id: &str,
        since: chrono::NaiveDateTime,
    ) -> Result<usize, DbError> {
        let questions: Vec<(String, chrono::NaiveDateTime)> = with_conn!(self, |conn| {
            Ok::<_, DbError>(
                messages::table
                    .inner_join(conversations::table)
                    .filter(conversations::owner_id.eq(owner_id))
                    .filter(messages::role.eq("user"))
                    .filter(messages::created_at.ge(since))
                    .select((messages::conversation_id, messages::created_at))
                    .load(conn)
                    .await?,
            )
        })?;
        if questions.is_empty() {
            return Ok(0);
        }
        let mut asked: Vec<String> = questions.iter().map(|(c, _)| c.clone()).collect();
        asked.sort();
        asked.dedup();
        let answers: Vec<(String, Option<chrono::NaiveDateTime>)> = with_conn!(self, |conn| {
            Ok::<_, DbError>(
                messages::table
                    .filter(messages::conversation_id.eq_any(&asked))
                    .filter(messages::role.eq("assistant"))
                    .group_by(messages::conversation_id)
                    .select((
                        messages::conversation_id,
                        diesel::dsl::max(messages::created_at),
                    ))
                    .load(conn)
                    .await?,
            )
        })?;
        let latest: std::collections::HashMap<String, chrono::NaiveDateTime> = answers
            .into_iter()
            .filter_map(|(c, t)| t.map(|t| (c, t)))
            .collect();
        Ok(questions
            .iter()
            .filter(|(c, asked_at)| latest.get(c).is_none_or(|answered| answered < asked_at))
            .count())
    }
}
