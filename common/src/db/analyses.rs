//! Queries on `analyses`. Every read is scoped by owner.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::models::Analysis;
use super::schema::analyses;
use super::{with_conn, Database, DbError};

impl Database {
    /// Inserts an analysis row.
    pub async fn insert_analysis(&self, analysis: &Analysis) -> Result<(), DbError> {
        with_conn!(self, |conn| {
            diesel::insert_into(analyses::table)
                .values(analysis)
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// The analysis `id` if it belongs to `owner_id`.
    pub async fn find_analysis(
        &self,
        owner_id: &str,
        id: &str,
    ) -> Result<Option<Analysis>, DbError> {
        with_conn!(self, |conn| {
            Ok(analyses::table
                .find(id)
                .filter(analyses::owner_id.eq(owner_id))
                .select(Analysis::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// An owner's analyses, most recent first.
    pub async fn list_analyses(
        &self,
        owner_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Analysis>, DbError> {
        with_conn!(self, |conn| {
            Ok(analyses::table
                .filter(analyses::owner_id.eq(owner_id))
                .order((analyses::created_at.desc(), analyses::id.desc()))
                .limit(limit)
                .offset(offset)
                .select(Analysis::as_select())
                .load(conn)
                .await?)
        })
    }
}

impl Database {
    /// How many analyses `owner_id` has.
    pub async fn count_analyses(&self, owner_id: &str) -> Result<i64, DbError> {
        with_conn!(self, |conn| {
            Ok(analyses::table
                .filter(analyses::owner_id.eq(owner_id))
                .count()
                .get_result(conn)
                .await?)
        })
    }

    /// Every analysis of `owner_id` (for account deletion: their objects and jobs).
    pub async fn all_analyses_of(&self, owner_id: &str) -> Result<Vec<Analysis>, DbError> {
        with_conn!(self, |conn| {
            Ok(analyses::table
                .filter(analyses::owner_id.eq(owner_id))
                .select(Analysis::as_select())
                .load(conn)
                .await?)
        })
    }

    /// Deletes the analysis `id` of `owner_id` (conversations and messages cascade) and
    /// returns it, or `None` if there is no such analysis of that owner.
    pub async fn delete_analysis(
        &self,
        owner_id: &str,
        id: &str,
    ) -> Result<Option<Analysis>, DbError> {
        with_conn!(self, |conn| {
            Ok(diesel::delete(
                analyses::table
                    .find(id)
                    .filter(analyses::owner_id.eq(owner_id)),
            )
            .returning(Analysis::as_returning())
            .get_result(conn)
            .await
            .optional()?)
        })
    }
}

impl Database {
    /// Records the job that analyses `id`.
    pub async fn set_analysis_job(&self, id: &str, job_id: &str) -> Result<(), DbError> {
        with_conn!(self, |conn| {
            diesel::update(analyses::table.find(id))
                .set((
                    analyses::job_id.eq(job_id),
                    analyses::updated_at.eq(super::now()),
                ))
                .execute(conn)
                .await?;
            Ok(())
        })
    }
}

impl Database {
    /// The analysis `id` whoever owns it (workers only; the API always scopes by owner).
    pub async fn find_analysis_by_id(&self, id: &str) -> Result<Option<Analysis>, DbError> {
        with_conn!(self, |conn| {
            Ok(analyses::table
                .find(id)
                .select(Analysis::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// Sets an analysis's status (`queued`, `running`, `completed`, `failed`).
    pub async fn set_analysis_status(&self, id: &str, status: &str) -> Result<(), DbError> {
        with_conn!(self, |conn| {
            diesel::update(analyses::table.find(id))
                .set((
                    analyses::status.eq(status),
                    analyses::updated_at.eq(super::now()),
                ))
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// Stores the reading of analysis `id` and marks it completed. Returns whether the
    /// analysis still existed.
    pub async fn complete_analysis(
        &self,
        id: &str,
        reading: &str,
        engine: &str,
    ) -> Result<bool, DbError> {
        let now = super::now();
        with_conn!(self, |conn| {
            let n = diesel::update(analyses::table.find(id))
                .set((
                    analyses::status.eq("completed"),
                    analyses::reading.eq(reading),
                    analyses::engine.eq(engine),
                    analyses::error.eq(None::<String>),
                    analyses::updated_at.eq(now),
                    analyses::completed_at.eq(now),
                ))
                .execute(conn)
                .await?;
            Ok(n > 0)
        })
    }

    /// Marks analysis `id` failed as cancelled and removes any reading a run of its job
    /// stored before the cancellation was seen.
    pub async fn cancel_analysis(&self, id: &str) -> Result<(), DbError> {
        let now = super::now();
        with_conn!(self, |conn| {
            diesel::update(analyses::table.find(id))
                .set((
                    analyses::status.eq("failed"),
                    analyses::error
                        .eq(r#"{"code":"cancelled","message":"the analysis was cancelled"}"#),
                    analyses::reading.eq(None::<String>),
                    analyses::engine.eq(None::<String>),
                    analyses::updated_at.eq(now),
                    analyses::completed_at.eq(now),
                ))
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// Marks analysis `id` failed with `error` (JSON `{"code","message"}`).
    pub async fn fail_analysis(&self, id: &str, error: &str) -> Result<(), DbError> {
        let now = super::now();
        with_conn!(self, |conn| {
            diesel::update(analyses::table.find(id))
                .set((
                    analyses::status.eq("failed"),
                    analyses::error.eq(error),
                    analyses::updated_at.eq(now),
                    analyses::completed_at.eq(now),
                ))
                .execute(conn)
                .await?;
            Ok(())
        })
    }
}
