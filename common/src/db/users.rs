//! Queries on `users`.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::models::User;
use super::schema::users;
use super::{with_conn, Database, DbError};

impl Database {
    /// Inserts a user; a duplicate email is [`DbError::Conflict`].
    pub async fn insert_user(&self, user: &User) -> Result<(), DbError> {
        with_conn!(self, |conn| {
            diesel::insert_into(users::table)
                .values(user)
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// The user with this id.
    pub async fn find_user(&self, id: &str) -> Result<Option<User>, DbError> {
        with_conn!(self, |conn| {
            Ok(users::table
                .find(id)
                .select(User::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// The user with this email (compared lower-cased).
    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, DbError> {
        let email = email.trim().to_lowercase();
        with_conn!(self, |conn| {
            Ok(users::table
                .filter(users::email.eq(&email))
                .select(User::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// Deletes a user and, through `ON DELETE CASCADE`, everything they own.
    /// Returns whether a row was deleted.
    pub async fn delete_user(&self, id: &str) -> Result<bool, DbError> {
        with_conn!(self, |conn| {
            let n = diesel::delete(users::table.find(id)).execute(conn).await?;
            Ok(n > 0)
        })
    }
}

impl Database {
    /// Moves everything a guest owns (analyses, conversations, job results) to
    /// `user_id`, in one transaction. Returns how many analyses moved. The (now empty)
    /// guest row stays, so a job still running for the guest can store its result.
    pub async fn claim_guest(&self, guest_id: &str, user_id: &str) -> Result<usize, DbError> {
        use super::schema::{analyses, conversations, job_results};
        use diesel_async::AsyncConnection;
        with_conn!(self, |conn| {
            conn.transaction::<_, DbError, _>(async |conn| {
                let moved = diesel::update(analyses::table.filter(analyses::owner_id.eq(guest_id)))
                    .set(analyses::owner_id.eq(user_id))
                    .execute(conn)
                    .await?;
                diesel::update(conversations::table.filter(conversations::owner_id.eq(guest_id)))
                    .set(conversations::owner_id.eq(user_id))
                    .execute(conn)
                    .await?;
                diesel::update(job_results::table.filter(job_results::owner_id.eq(guest_id)))
                    .set(job_results::owner_id.eq(user_id))
                    .execute(conn)
                    .await?;
                Ok(moved)
            })
            .await
        })
    }

    /// How many rows in any table belong to `user_id` (the user row included): zero
    /// after account deletion.
    pub async fn count_rows_owned_by(&self, user_id: &str) -> Result<i64, DbError> {
        use super::schema::{analyses, conversations, job_results, messages};
        with_conn!(self, |conn| {
            let users_n: i64 = users::table
                .filter(users::id.eq(user_id))
                .count()
                .get_result(conn)
                .await?;
            let analyses_n: i64 = analyses::table
                .filter(analyses::owner_id.eq(user_id))
                .count()
                .get_result(conn)
                .await?;
            let conversations_n: i64 = conversations::table
                .filter(conversations::owner_id.eq(user_id))
                .count()
                .get_result(conn)
                .await?;
            let messages_n: i64 = messages::table
                .inner_join(conversations::table)
                .filter(conversations::owner_id.eq(user_id))
                .count()
                .get_result(conn)
                .await?;
            let results_n: i64 = job_results::table
                .filter(job_results::owner_id.eq(user_id))
                .count()
                .get_result(conn)
                .await?;
            Ok(users_n + analyses_n + conversations_n + messages_n + results_n)
        })
    }
}
