//! Migrations and repository round trips, with the same test bodies run against
//! SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)]

use hast_common::db::models::{Analysis, Conversation, JobResult, Message, User};
use hast_common::db::{new_id, now, Backend, Database, DbError};
use hast_tests::TestDatabase;

fn user(email: &str) -> User {
    let t = now();
    User {
        id: new_id(),
        email: Some(email.to_owned()),
        display_name: "Asha".into(),
        password_hash: Some("$argon2id$v=19$placeholder".into()),
        is_guest: false,
        created_at: t,
        updated_at: t,
    }
}

fn analysis(owner: &str) -> Analysis {
    let t = now();
    Analysis {
        id: new_id(),
        owner_id: owner.to_owned(),
        image_object: format!("photos/{}", new_id()),
        status: "queued".into(),
        job_id: Some(new_id()),
        reading: None,
        engine: None,
        error: None,
        created_at: t,
        updated_at: t,
        completed_at: None,
    }
}

/// The migrations in the repository for `backend` (one folder each).
fn migrations_in_repo(backend: Backend) -> usize {
    let folder = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    std::fs::read_dir(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../migrations")
            .join(folder),
    )
    .unwrap()
    .filter(|entry| entry.as_ref().unwrap().path().is_dir())
    .count()
}

async fn migrations_apply_once(backend: Backend) {
    let test_db = TestDatabase::new(backend).await;
    let db = Database::connect(&test_db.url, 2).unwrap();

    let first = db.run_migrations().await.unwrap();
    let second = db.run_migrations().await.unwrap();

    assert_eq!(
        first.len(),
        migrations_in_repo(backend),
        "every migration is applied"
    );
    assert!(first.len() >= 2);
    assert!(second.is_empty(), "a second run applies nothing");
    db.ping(std::time::Duration::from_secs(2)).await.unwrap();
}

async fn concurrent_migrations_do_not_collide(backend: Backend) {
    let test_db = TestDatabase::new(backend).await;
    let a = Database::connect(&test_db.url, 2).unwrap();
    let b = Database::connect(&test_db.url, 2).unwrap();

    let (ra, rb) = tokio::join!(a.run_migrations(), b.run_migrations());

    let total = ra.unwrap().len() + rb.unwrap().len();
    assert_eq!(
        total,
        migrations_in_repo(backend),
        "each migration is applied by exactly one process"
    );
}

async fn users_round_trip(backend: Backend) {
    let test_db = TestDatabase::new(backend).await;
    let db = test_db.connect().await;
    let asha = user("asha@example.com");

    db.insert_user(&asha).await.unwrap();

    assert_eq!(db.find_user(&asha.id).await.unwrap(), Some(asha.clone()));
    assert_eq!(
        db.find_user_by_email("  ASHA@example.com ").await.unwrap(),
        Some(asha.clone()),
        "email lookup is case-insensitive"
    );
    assert_eq!(db.find_user("missing").await.unwrap(), None);
    let duplicate = db.insert_user(&user("asha@example.com")).await;
    assert!(
        matches!(duplicate, Err(DbError::Conflict(_))),
        "{duplicate:?}"
    );
}

async fn analyses_are_scoped_by_owner_and_listed_newest_first(backend: Backend) {
    let test_db = TestDatabase::new(backend).await;
    let db = test_db.connect().await;
    let owner = user("owner@example.com");
    let other = user("other@example.com");
    db.insert_user(&owner).await.unwrap();
    db.insert_user(&other).await.unwrap();
    let older = analysis(&owner.id);
    let mut newer = analysis(&owner.id);
    newer.created_at = older.created_at + chrono::Duration::seconds(1);
    newer.reading = Some(r#"{"summary":"a steady life line"}"#.into());

    db.insert_analysis(&older).await.unwrap();
    db.insert_analysis(&newer).await.unwrap();

    assert_eq!(
        db.find_analysis(&owner.id, &newer.id).await.unwrap(),
        Some(newer.clone())
    );
    assert_eq!(
        db.find_analysis(&other.id, &newer.id).await.unwrap(),
        None,
        "owner scope"
    );
    let listed = db.list_analyses(&owner.id, 10, 0).await.unwrap();
    assert_eq!(listed, vec![newer.clone(), older.clone()]);
    assert_eq!(
        db.list_analyses(&owner.id, 1, 1).await.unwrap(),
        vec![older]
    );
    let orphan = db.insert_analysis(&analysis("no-such-user")).await;
    assert!(
        matches!(orphan, Err(DbError::ForeignKey(_))),
        "foreign keys are enforced: {orphan:?}"
    );
}

async fn conversations_and_messages_round_trip(backend: Backend) {
    let test_db = TestDatabase::new(backend).await;
    let db = test_db.connect().await;
    let owner = user("talk@example.com");
    db.insert_user(&owner).await.unwrap();
    let reading = analysis(&owner.id);
    db.insert_analysis(&reading).await.unwrap();
    let t = now();
    let conversation = Conversation {
        id: new_id(),
        analysis_id: reading.id.clone(),
        owner_id: owner.id.clone(),
        title: "My heart line".into(),
        created_at: t,
        updated_at: t,
    };
    let question = Message {
        id: new_id(),
        conversation_id: conversation.id.clone(),
        role: "user".into(),
        content: "What does my Hriday rekha say?".into(),
        job_id: None,
        created_at: t,
    };
    let answer = Message {
        id: new_id(),
        role: "assistant".into(),
        content: "It is long and gently curved.".into(),
        job_id: Some(new_id()),
        created_at: t + chrono::Duration::milliseconds(5),
        ..question.clone()
    };

    db.insert_conversation(&conversation).await.unwrap();
    db.insert_message(&question).await.unwrap();
    db.insert_message(&answer).await.unwrap();

    assert_eq!(
        db.find_conversation(&owner.id, &conversation.id)
            .await
            .unwrap(),
        Some(conversation.clone())
    );
    assert_eq!(
        db.list_messages(&conversation.id).await.unwrap(),
        vec![question.clone(), answer]
    );
    let bad_role = Message {
        id: new_id(),
        role: "system".into(),
        ..question
    };
    assert!(
        db.insert_message(&bad_role).await.is_err(),
        "role is constrained"
    );
}

async fn job_results_are_written_once(backend: Backend) {
    let test_db = TestDatabase::new(backend).await;
    let db = test_db.connect().await;
    let t = now();
    let result = JobResult {
        job_id: new_id(),
        kind: "echo".into(),
        owner_id: None,
        outcome: "completed".into(),
        result: Some(r#"{"hello":"world"}"#.into()),
        error: None,
        attempts: 1,
        created_at: t,
        finished_at: t,
    };

    let first = db.record_job_result(&result).await.unwrap();
    let again = db
        .record_job_result(&JobResult {
            attempts: 2,
            ..result.clone()
        })
        .await
        .unwrap();

    assert!(first);
    assert!(!again, "a redelivered job does not write a second row");
    assert_eq!(
        db.find_job_result(&result.job_id).await.unwrap(),
        Some(result)
    );
    assert_eq!(db.count_job_results().await.unwrap(), 1);
}

async fn deleting_a_user_removes_everything_they_own(backend: Backend) {
    let test_db = TestDatabase::new(backend).await;
    let db = test_db.connect().await;
    let owner = user("gone@example.com");
    db.insert_user(&owner).await.unwrap();
    let reading = analysis(&owner.id);
    db.insert_analysis(&reading).await.unwrap();

    assert!(db.delete_user(&owner.id).await.unwrap());

    assert_eq!(
        db.find_analysis(&owner.id, &reading.id).await.unwrap(),
        None
    );
    assert!(db.list_analyses(&owner.id, 10, 0).await.unwrap().is_empty());
    assert!(!db.delete_user(&owner.id).await.unwrap());
}

async fn a_cancelled_analysis_loses_its_reading(backend: Backend) {
    let test_db = TestDatabase::new(backend).await;
    let db = test_db.connect().await;
    let owner = user("cancel@example.com");
    db.insert_user(&owner).await.unwrap();
    let row = analysis(&owner.id);
    db.insert_analysis(&row).await.unwrap();
    assert!(db
        .complete_analysis(&row.id, r#"{"summary":"x"}"#, "offline")
        .await
        .unwrap());

    db.cancel_analysis(&row.id).await.unwrap();
    let after = db.find_analysis_by_id(&row.id).await.unwrap().unwrap();

    assert_eq!(after.status, "failed");
    assert_eq!(after.reading, None);
    assert!(after.error.unwrap().contains("cancelled"));
}

async fn old_job_results_are_pruned_oldest_first(backend: Backend) {
    let test_db = TestDatabase::new(backend).await;
    let db = test_db.connect().await;
    let day = chrono::Duration::days(1);
    let row = |age_days: i32| {
        let finished = now() - day * age_days;
        JobResult {
            job_id: new_id(),
            kind: "echo".into(),
            owner_id: None,
            outcome: "completed".into(),
            result: None,
            error: None,
            attempts: 1,
            created_at: finished,
            finished_at: finished,
        }
    };
    let (oldest, old, recent) = (row(40), row(35), row(1));
    for r in [&recent, &old, &oldest] {
        db.record_job_result(r).await.unwrap();
    }
    let cutoff = now() - day * 30;

    let first = db.prune_job_results(cutoff, 1).await.unwrap();
    let oldest_gone = db.find_job_result(&oldest.job_id).await.unwrap().is_none();
    let rest = db.prune_job_results(cutoff, 100).await.unwrap();

    assert_eq!(first, 1, "at most the limit");
    assert!(oldest_gone, "the oldest goes first");
    assert_eq!(rest, 1);
    assert_eq!(
        db.find_job_result(&recent.job_id).await.unwrap(),
        Some(recent),
        "a result within its retention stays"
    );
    assert_eq!(db.count_job_results().await.unwrap(), 1);
}

hast_tests::on_both_backends!(
    a_cancelled_analysis_loses_its_reading,
    old_job_results_are_pruned_oldest_first,
    migrations_apply_once,
    concurrent_migrations_do_not_collide,
    users_round_trip,
    analyses_are_scoped_by_owner_and_listed_newest_first,
    conversations_and_messages_round_trip,
    job_results_are_written_once,
    deleting_a_user_removes_everything_they_own,
);
