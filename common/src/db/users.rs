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
