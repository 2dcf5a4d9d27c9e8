// @generated-style Diesel schema shared by SQLite and PostgreSQL.
// Keep in step with migrations/sqlite and migrations/postgres.

diesel::table! {
    users (id) {
        id -> Text,
        email -> Nullable<Text>,
        display_name -> Text,
        password_hash -> Nullable<Text>,
        is_guest -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    analyses (id) {
        id -> Text,
        owner_id -> Text,
        image_object -> Text,
        status -> Text,
        job_id -> Nullable<Text>,
        reading -> Nullable<Text>,
        engine -> Nullable<Text>,
        error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        completed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    conversations (id) {
        id -> Text,
        analysis_id -> Text,
        owner_id -> Text,
        title -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    messages (id) {
        id -> Text,
        conversation_id -> Text,
        role -> Text,
        content -> Text,
        job_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    job_results (job_id) {
        job_id -> Text,
        kind -> Text,
        owner_id -> Nullable<Text>,
        outcome -> Text,
        result -> Nullable<Text>,
        error -> Nullable<Text>,
        attempts -> Integer,
        created_at -> Timestamp,
        finished_at -> Timestamp,
    }
}

diesel::joinable!(analyses -> users (owner_id));
diesel::joinable!(conversations -> analyses (analysis_id));
diesel::joinable!(conversations -> users (owner_id));
diesel::joinable!(messages -> conversations (conversation_id));
diesel::joinable!(job_results -> users (owner_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    analyses,
    conversations,
    messages,
    job_results,
);
