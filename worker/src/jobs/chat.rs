//! `chat`: answers one user message of a conversation about a reading.
//!
//! Loads the conversation (by id: the worker is trusted), its analysis's stored reading
//! and the messages up to and including the payload's user message, answers it (offline
//! with `hast_palm::answer`, or with the configured model when `ANALYZER=openai`), and
//! stores the answer as an `assistant` message whose `job_id` is this job's id.
//!
//! Idempotent: `messages.job_id` is unique and the insert does nothing on conflict, so a
//! redelivered job never stores a second answer; one that finds its answer already
//! stored returns it without answering again.
//!
//! Result: `{"message_id", "engine": "offline"|"openai", "topics", "covered", "usage"}`
//! (`usage` is `null` offline; `topics`/`covered` are the offline answerer's, and `null`
//! for a model's answer).

use std::sync::Arc;

use futures::future::BoxFuture;
use hast_common::db::models::Message;
use hast_common::jobs::payloads::chat::ChatPayload;
use hast_palm::answer::{Role, Turn};
use hast_palm::Reading;
use serde_json::{json, Value};

use super::{JobContext, JobError, JobHandler};
use crate::ai::Ai;

/// The `chat` handler.
#[derive(Debug)]
pub struct Chat {
    ai: Option<Arc<Ai>>,
}

impl Chat {
    /// `ai`: the model client when `ANALYZER=openai`, else `None` (offline answers).
    pub fn new(ai: Option<Arc<Ai>>) -> Self {
        Self { ai }
    }
}

impl JobHandler for Chat {
    type Job = ChatPayload;

    fn run(
        &self,
        ctx: JobContext,
        job: ChatPayload,
    ) -> BoxFuture<'static, Result<Value, JobError>> {
        let ai = self.ai.clone();
        Box::pin(run(ai, ctx, job))
    }
}

/// One answer, before it is stored.
#[derive(Debug)]
pub(crate) struct Answered {
    pub text: String,
    pub engine: &'static str,
    pub topics: Value,
    pub covered: Value,
    pub usage: Value,
    /// Why the answer is not what was asked for (an offline fallback, dropped turns).
    pub note: Option<String>,
}

/// The question to answer and everything it is answered from.
struct Question {
    conversation_id: String,
    /// The user message being answered.
    message: Message,
    /// The conversation before it.
    history: Vec<Turn>,
    reading: Reading,
    /// The reading as stored (JSON), for the model's prompt.
    reading_text: String,
}

async fn run(
    ai: Option<Arc<Ai>>,
    ctx: JobContext,
    payload: ChatPayload,
) -> Result<Value, JobError> {
    ctx.progress(5).await;
    // A redelivery after the answer was stored: return it, answer nothing twice.
    if let Some(existing) = ctx.db.find_answer_of_job(&ctx.job_id).await? {
        ctx.progress(100).await;
        return Ok(json!({
            "message_id": existing.id,
            "conversation_id": existing.conversation_id,
            "replayed": true,
        }));
    }
    let question = load_question(&ctx, &payload).await?;
    ctx.progress(20).await;
    let answered = match &ai {
        Some(ai) => {
            ai.answer(
                &ctx,
                &question.reading,
                &question.reading_text,
                &question.history,
                &question.message.content,
            )
            .await?
        }
        None => offline_answer(
            &question.reading,
            &question.message.content,
            &question.history,
        ),
    };
    ctx.progress(80).await;
    let stored = store_answer(&ctx, &question, answered.text).await?;
    ctx.progress(100).await;
    tracing::info!(
        conversation.id = %stored.conversation_id,
        message.id = %stored.id,
        engine = answered.engine,
        "question answered"
    );
    Ok(json!({
        "message_id": stored.id,
        "conversation_id": stored.conversation_id,
        "question_id": question.message.id,
        "engine": answered.engine,
        "topics": answered.topics,
        "covered": answered.covered,
        "usage": answered.usage,
        "note": answered.note,
    }))
}

/// The payload's user message, the conversation before it and the analysis's reading;
/// a permanent failure when any of them is missing or is not what a question needs.
async fn load_question(ctx: &JobContext, payload: &ChatPayload) -> Result<Question, JobError> {
    let context = ctx
        .db
        .chat_context(&payload.conversation_id, &payload.message_id)
        .await?
        .map_err(|missing| JobError::permanent(missing.code(), missing.describe()))?;
    let Some((question, earlier)) = context.messages.split_last() else {
        return Err(JobError::permanent(
            "message_not_found",
            "the message to answer is not in the conversation",
        ));
    };
    if question.role != "user" {
        return Err(JobError::permanent(
            "not_a_user_message",
            "only a user message can be answered",
        ));
    }
    let Some(reading_text) = context.analysis.reading.clone() else {
        return Err(JobError::permanent(
            "reading_unavailable",
            "the analysis has no reading yet",
        ));
    };
    let reading: Reading = serde_json::from_str(&reading_text)
        .map_err(|e| JobError::permanent("reading_invalid", e.to_string()))?;
    let history = earlier
        .iter()
        .map(|m| Turn {
            role: if m.role == "assistant" {
                Role::Assistant
            } else {
                Role::User
            },
            content: m.content.clone(),
        })
        .collect();
    Ok(Question {
        conversation_id: context.conversation.id.clone(),
        message: question.clone(),
        history,
        reading,
        reading_text,
    })
}

/// Stores `text` as the `assistant` message of this job (once: `messages.job_id` is
/// unique), or fails permanently when the conversation was deleted meanwhile.
async fn store_answer(
    ctx: &JobContext,
    question: &Question,
    text: String,
) -> Result<Message, JobError> {
    let answer = Message {
        id: hast_common::db::new_id(),
        conversation_id: question.conversation_id.clone(),
        role: "assistant".into(),
        content: text,
        job_id: Some(ctx.job_id.clone()),
        created_at: hast_common::db::now(),
    };
    ctx.db.store_answer(&answer).await?.ok_or_else(|| {
        JobError::permanent(
            "conversation_not_found",
            "the conversation was deleted while its answer was written",
        )
    })
}

/// The offline answerer's answer.
pub(crate) fn offline_answer(reading: &Reading, question: &str, history: &[Turn]) -> Answered {
    let answer = hast_palm::answer::answer(reading, question, history);
    Answered {
        text: answer.text,
        engine: "offline",
        topics: serde_json::to_value(&answer.topics).unwrap_or(Value::Null),
        covered: Value::Bool(answer.covered),
        usage: Value::Null,
        note: None,
    }
}
