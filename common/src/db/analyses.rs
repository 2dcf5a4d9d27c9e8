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
