//! Drafts: tokens copied from the document and checked by the model in
//! the same forward pass, and the small masks whose logits alone are
//! computed.

use super::{DRAFT_BYTES, MAX_MATCH, ONLY_MAX, Sequence};
use crate::scheduler::Ctx;

impl<C> Sequence<C> {
    /// Computes the next mask now, before the step, and keeps its tokens
    /// when they are few: the model then computes only their logits.
    pub(super) fn prepare_only(&mut self, ctx: &Ctx) {
        if self.job.matcher.is_none() {
            return;
        }
        self.refresh_mask(ctx);
        if self.mask.count() <= ONLY_MAX {
            self.only.extend(self.mask.iter());
        }
    }

    /// Appends draft tokens to `pending`: the document's text after the
    /// place the answer's tail matches, tokenized, cut where the grammar
    /// refuses it, and ended after any tokens the grammar forces there.
    pub(super) fn prepare_draft(&mut self, step_rows: usize, ctx: &Ctx) {
        let max = step_rows
            .saturating_sub(self.pending.len())
            .min(ctx.config.max_draft_tokens);
        if max == 0 || self.pending.is_empty() || self.steered {
            return;
        }
        // Near the end of the budget, steering decides token by token.
        let remaining = self.job.max_tokens.saturating_sub(self.generated);
        if remaining <= 2 * (self.shortest + ctx.config.steer_slack) + max {
            return;
        }
        let Some(source) = self.job.source.as_mut() else {
            return;
        };
        let tail = self.utf8.last_bytes(MAX_MATCH);
        let Some(bytes) = source.continuation(&tail, DRAFT_BYTES) else {
            return;
        };
        let cut = bytes.len() == DRAFT_BYTES;
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
        };
        let Ok(mut tokens) = ctx.codec.encode(text) else {
            return;
        };
        if cut {
            // The byte limit may have split the last word.
            tokens.pop();
        }
        tokens.truncate(max);
        let mut draft = Vec::with_capacity(max);
        match self.job.matcher.as_mut() {
            Some(matcher) => {
                for token in tokens {
                    if ctx.stop_tokens.contains(&token) || matcher.commit(token).is_err() {
                        break;
                    }
                    draft.push(token);
                    let forced = matcher.forced_tokens();
                    if !forced.is_empty() {
                        // The document's text rarely goes on the way the
                        // grammar does, so the draft ends with what it forces.
                        for token in forced {
                            if draft.len() >= max
                                || ctx.stop_tokens.contains(&token)
                                || matcher.commit(token).is_err()
                            {
                                break;
                            }
                            draft.push(token);
                        }
                        break;
                    }
                }
                matcher.rollback(draft.len());
            }
            None => draft.extend(tokens.into_iter().take_while(|&t| !ctx.codec.is_special(t))),
        }
        self.pending.extend_from_slice(&draft);
        self.draft = draft;
    }
}
