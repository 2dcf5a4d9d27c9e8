//! [`fit_to_budget`]: fits a conversation into a prompt budget by dropping its oldest turns.
//!
//! The token estimate ([`estimate_tokens`]) is deliberately simple and tokenizer-free: a
//! message costs `ceil(chars / 4)` for its text (Unicode scalar values, all text parts
//! together) plus [`MESSAGE_OVERHEAD_TOKENS`] (4) for its role and framing, plus
//! [`IMAGE_TOKENS`] per image. Four characters per token is the usual figure for English with
//! OpenAI's tokenizers; leave headroom in the budget for other languages and for the reply.

use crate::request::{Message, Part, Role};

/// Characters per token in the estimate.
pub const CHARS_PER_TOKEN: usize = 4;
/// Tokens added per message for its role and framing.
pub const MESSAGE_OVERHEAD_TOKENS: usize = 4;
/// Tokens counted per image (OpenAI's cost of a 512 × 512 high-detail tile set, 765).
pub const IMAGE_TOKENS: usize = 765;

/// The estimated prompt tokens of one message (see the module documentation).
pub fn estimate_tokens(message: &Message) -> usize {
    let (chars, images) = message
        .parts
        .iter()
        .fold((0usize, 0usize), |(chars, images), part| match part {
            Part::Text(text) => (chars + text.chars().count(), images),
            Part::Jpeg(_) => (chars, images + 1),
        });
    chars.div_ceil(CHARS_PER_TOKEN) + MESSAGE_OVERHEAD_TOKENS + images * IMAGE_TOKENS
}

fn estimate_all(messages: &[Message]) -> usize {
    messages.iter().map(estimate_tokens).sum()
}

/// Keeps `system` and the newest turns of `history` whose estimate fits `budget_tokens`.
///
/// A turn starts at each user message and runs to the next one (messages before the first
/// user message form a turn of their own). Whole turns are dropped, oldest first, and the kept
/// turns are contiguous. The last turn, which holds the newest user message, is always kept;
/// if it does not fit even alone, that user message's text is cut from the front (its end, the
/// most recent words, is kept) until it does. The result can still exceed the budget only when
/// the system message and the fixed per-message costs alone do.
///
/// Returns `system` followed by the kept messages, and how many messages were dropped.
pub fn fit_to_budget(
    system: &Message,
    history: &[Message],
    budget_tokens: usize,
) -> (Vec<Message>, usize) {
    let fixed = estimate_tokens(system);
    let last_user = history.iter().rposition(|m| m.role == Role::User);
    // The first kept index: everything from here on is always kept.
    let mut start = last_user.unwrap_or(history.len());
    let must_keep = estimate_all(&history[start..]);

    let mut kept = Vec::with_capacity(history.len() + 1);
    kept.push(system.clone());

    if fixed + must_keep > budget_tokens {
        let Some(user) = last_user else {
            return (kept, history.len());
        };
        let others = fixed + estimate_all(&history[user + 1..]);
        let mut newest = history[user].clone();
        let text_only = Message {
            role: newest.role,
            parts: vec![Part::Text(newest.text())],
        };
        let framing =
            estimate_tokens(&newest) - estimate_tokens(&text_only) + MESSAGE_OVERHEAD_TOKENS;
        let tokens_for_text = budget_tokens.saturating_sub(others + framing);
        keep_text_tail(&mut newest, tokens_for_text * CHARS_PER_TOKEN);
        kept.push(newest);
        kept.extend_from_slice(&history[user + 1..]);
        return (kept, user);
    }

    let mut remaining = budget_tokens - fixed - must_keep;
    while start > 0 {
        // The turn ending at `start`: back to the previous user message (or the beginning).
        let turn_start = history[..start]
            .iter()
            .rposition(|m| m.role == Role::User)
            .unwrap_or(0);
        let cost = estimate_all(&history[turn_start..start]);
        if cost > remaining {
            break;
        }
        remaining -= cost;
        start = turn_start;
    }
    kept.extend_from_slice(&history[start..]);
    (kept, start)
}

/// Cuts the message's text from the front so that at most `max_chars` characters remain;
/// images stay.
fn keep_text_tail(message: &mut Message, max_chars: usize) {
    let mut left = max_chars;
    let mut parts = Vec::with_capacity(message.parts.len());
    for part in message.parts.drain(..).rev() {
        match part {
            Part::Text(text) => {
                let chars = text.chars().count();
                if chars <= left {
                    left -= chars;
                    parts.push(Part::Text(text));
                } else if left > 0 {
                    let tail: String = text.chars().skip(chars - left).collect();
                    left = 0;
                    parts.push(Part::Text(tail));
                }
            }
            image @ Part::Jpeg(_) => parts.push(image),
        }
    }
    parts.reverse();
    if !parts.iter().any(|p| matches!(p, Part::Text(_))) {
        parts.insert(0, Part::Text(String::new()));
    }
    message.parts = parts;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use bytes::Bytes;

    /// A message of exactly 14 estimated tokens (40 characters + 4).
    fn msg(role: Role, tag: char) -> Message {
        Message::new(role, tag.to_string().repeat(40))
    }

    fn total(messages: &[Message]) -> usize {
        messages.iter().map(estimate_tokens).sum()
    }

    #[test]
    fn the_estimate_is_chars_over_four_rounded_up_plus_overhead() {
        assert_eq!(estimate_tokens(&Message::user("")), 4);
        assert_eq!(estimate_tokens(&Message::user("abcd")), 5);
        assert_eq!(estimate_tokens(&Message::user("abcde")), 6);
        assert_eq!(estimate_tokens(&Message::user("ééééé")), 6);
        let with_image = Message::user_with_images("abcd", [Bytes::from_static(b"x")]);
        assert_eq!(estimate_tokens(&with_image), 5 + IMAGE_TOKENS);
    }

    #[test]
    fn everything_is_kept_when_it_fits() {
        let system = Message::system("sys");
        let history = vec![
            msg(Role::User, 'a'),
            msg(Role::Assistant, 'b'),
            msg(Role::User, 'c'),
        ];
        let (kept, dropped) = fit_to_budget(&system, &history, 1000);
        assert_eq!(dropped, 0);
        assert_eq!(kept[0], system);
        assert_eq!(&kept[1..], &history[..]);
    }

    #[test]
    fn the_oldest_whole_turns_are_dropped() {
        let system = Message::system("sys"); // 5 tokens
        let history = vec![
            msg(Role::User, 'a'),
            msg(Role::Assistant, 'b'),
            msg(Role::User, 'c'),
            msg(Role::Assistant, 'd'),
            msg(Role::User, 'e'),
        ];
        // Room for the system message and exactly three messages: the two newest turns.
        let (kept, dropped) = fit_to_budget(&system, &history, 5 + 3 * 14);
        assert_eq!(dropped, 2);
        assert_eq!(&kept[1..], &history[2..]);
        // One token less: the turn (c, d) no longer fits and is dropped whole, even though
        // its assistant message alone would fit.
        let (kept, dropped) = fit_to_budget(&system, &history, 5 + 3 * 14 - 1);
        assert_eq!(dropped, 4);
        assert_eq!(&kept[1..], &history[4..]);
        assert!(total(&kept) < 5 + 3 * 14);
    }

    #[test]
    fn messages_before_the_first_user_message_form_a_turn() {
        let system = Message::system("sys");
        let history = vec![
            msg(Role::Assistant, 'g'),
            msg(Role::User, 'a'),
            msg(Role::Assistant, 'b'),
            msg(Role::User, 'c'),
        ];
        let (kept, dropped) = fit_to_budget(&system, &history, 5 + 3 * 14);
        assert_eq!(dropped, 1);
        assert_eq!(&kept[1..], &history[1..]);
        let (kept, dropped) = fit_to_budget(&system, &history, 5 + 4 * 14);
        assert_eq!((kept.len(), dropped), (5, 0));
    }

    #[test]
    fn an_oversized_newest_user_message_is_kept_and_cut_from_the_front() {
        let system = Message::system("sys");
        let long: String = (0..1000)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let history = vec![
            msg(Role::User, 'a'),
            msg(Role::Assistant, 'b'),
            Message::user(long.clone()),
        ];
        let budget = 50;
        let (kept, dropped) = fit_to_budget(&system, &history, budget);
        assert_eq!(dropped, 2);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[1].role, Role::User);
        let text = kept[1].text();
        assert!(!text.is_empty() && text.len() < long.len());
        assert!(long.ends_with(&text), "the end of the message is kept");
        assert!(total(&kept) <= budget, "{}", total(&kept));
        assert_eq!(total(&kept), budget, "the cut uses the whole budget");
    }

    #[test]
    fn a_budget_smaller_than_the_system_message_still_keeps_the_user_message() {
        let system = Message::system("s".repeat(400));
        let history = vec![Message::user("question")];
        let (kept, dropped) = fit_to_budget(&system, &history, 10);
        assert_eq!(dropped, 0);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[1].role, Role::User);
        assert_eq!(kept[1].text(), "");
    }

    #[test]
    fn without_a_user_message_the_newest_turns_that_fit_are_kept() {
        let system = Message::system("sys");
        let history = vec![msg(Role::Assistant, 'a'), msg(Role::Assistant, 'b')];
        // Both assistant messages form one turn: it fits whole or not at all.
        let (kept, dropped) = fit_to_budget(&system, &history, 5 + 2 * 14);
        assert_eq!((kept.len(), dropped), (3, 0));
        let (kept, dropped) = fit_to_budget(&system, &history, 5 + 14);
        assert_eq!((kept.len(), dropped), (1, 2));
    }
}
