//! Queries on `job_results`: one row per job id, written once.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::models::JobResult;
use super::schema::job_results;
use super::{with_conn, Database, DbError};

impl Database {
    /// Records a job's outcome. Delivery is at-least-once, so a second write for the same
    /// job id is ignored; returns whether this call inserted the row.
    pub async fn record_job_result(&self, result: &JobResult) -> Result<bool, DbError> {
        with_conn!(self, |conn| {
            let n = diesel::insert_into(job_results::table)
                .values(result)
                .on_conflict(job_results::job_id)
                .do_nothing()
                .execute(conn)
                .await?;
            Ok(n > 0)
        })
    }

    /// The stored outcome of a job.
    pub async fn find_job_result(&self, job_id: &str) -> Result<Option<JobResult>, DbError> {
        with_conn!(self, |conn| {
            Ok(job_results::table
                .find(job_id)
                .select(JobResult::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// How many results are stored (operators and tests use it to check exactly-once writes).
    pub async fn count_job_results(&self) -> Result<i64, DbError> {
        with_conn!(self, |conn| {
            Ok(job_results::table.count().get_result(conn).await?)
        })
    }
}

impl Database {
    /// Records several outcomes in one transaction (group commit); for each row,
    /// whether it was inserted (false: a row for that job id already existed).
    pub async fn record_job_results(&self, rows: &[JobResult]) -> Result<Vec<bool>, DbError> {
        use diesel_async::AsyncConnection;
        with_conn!(self, |conn| {
            conn.transaction::<_, DbError, _>(async |conn| {
                let mut inserted = Vec::with_capacity(rows.len());
                for row in rows {
                    let n = diesel::insert_into(job_results::table)
                        .values(row)
                        .on_conflict(job_results::job_id)
                        .do_nothing()
                        .execute(conn)
                        .await?;
                    inserted.push(n > 0);
                }
                Ok(inserted)
            })
            .await
        })
    }
}

impl Database {
    /// Deletes the result of job `job_id` if `owner_id` owns it; whether a row went.
    pub async fn delete_job_result(&self, owner_id: &str, job_id: &str) -> Result<bool, DbError> {
        with_conn!(self, |conn| {
            let n = diesel::delete(
                job_results::table
                    .find(job_id)
                    .filter(job_results::owner_id.eq(owner_id)),
            )
            .execute(conn)
            .await?;
            Ok(n > 0)
        })
    }

    /// Deletes up to `limit` results that finished before `cutoff`, oldest first
    /// (retention); how many went.
    pub async fn prune_job_results(
        &self,
        cutoff: chrono::NaiveDateTime,
        limit: i64,
    ) -> Result<usize, DbError> {
        with_conn!(self, |conn| {
            let oldest: Vec<String> = job_results::table
                .select(job_results::job_id)
                .filter(job_results::finished_at.lt(cutoff))
                .order(job_results::finished_at)
                .limit(limit)
                .load(conn)
                .await?;
            if oldest.is_empty() {
                return Ok(0);
            }
            let n = diesel::delete(job_results::table.filter(job_results::job_id.eq_any(&oldest)))
                .execute(conn)
                .await?;
            Ok(n)
        })
    }

    /// Deletes the result of job `job_id` whoever owns it (a worker withdrawing what it
    /// stored for a job cancelled as it finished); whether a row went.
    pub async fn withdraw_job_result(&self, job_id: &str) -> Result<bool, DbError> {
        with_conn!(self, |conn| {
            let n = diesel::delete(job_results::table.find(job_id))
                .execute(conn)
                .await?;
            Ok(n > 0)
        })
    }
}

impl Database {
    /// Up to `limit` results with `outcome` (`completed` or `failed`), of `kind` or of
    /// every kind, newest first (operators' `hast-api jobs list`; the index on `(kind,
    /// outcome, finished_at)` serves it).
    pub async fn finished_jobs(
        &self,
        kind: Option<&str>,
        outcome: &str,
        limit: i64,
    ) -> Result<Vec<JobResult>, DbError> {
        with_conn!(self, |conn| {
            let mut query = job_results::table
                .select(JobResult::as_select())
                .filter(job_results::outcome.eq(outcome))
                .order(job_results::finished_at.desc())
                .limit(limit)
                .into_boxed();
            if let Some(kind) = kind {
                query = query.filter(job_results::kind.eq(kind));
            }
            Ok(query.load(conn).await?)
        })
    }
}
