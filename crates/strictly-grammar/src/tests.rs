//! End-to-end tests of the core over hand-built grammars.

use crate::dfa::Dfa;
use crate::{Factory, GrammarBuilder, Sym, Vocabulary};
use regex_syntax::ParserBuilder;

fn re(s: &str) -> Dfa {
    Dfa::from_hir(&ParserBuilder::new().build().parse(s).unwrap(), 10_000).unwrap()
}

/// The mask must equal brute force: a token is allowed iff committing it
/// succeeds (checked token by token on a clone of the state).
pub(crate) fn check_mask_against_commit(f: &std::sync::Arc<Factory>, m: &mut crate::Matcher) {
    let mask = m.compute_mask();
    for id in 0..f.vocab().len() as u32 {
        let ok = m.commit_token(id).is_ok();
        if ok {
            m.rollback(1).unwrap();
        }
        assert_eq!(
            mask.contains(id),
            ok,
            "token {id} {:?}",
            String::from_utf8_lossy(f.vocab().token_bytes(id))
        );
    }
}

#[test]
fn list_of_numbers_with_whitespace() {
    // value := "[" (num ("," num)*)? "]" with lenient whitespace of up to 2.
    let mut b = GrammarBuilder::new();
    let open = b.literal(b"[");
    let close = b.literal(b"]");
    let comma = b.literal(b",");
    let num = b.lexeme(re("-?(0|[1-9][0-9]*)"), 0, 6).unwrap();
    let tail = b.nonterminal("tail");
    b.rule(tail, vec![]);
    b.rule(tail, vec![comma, num, Sym::N(tail)]);
    let body = b.nonterminal("body");
    b.rule(body, vec![]);
    b.rule(body, vec![num, Sym::N(tail)]);
    let top = b.seq("list", vec![open, Sym::N(body), close]);
    let g = b.finish(top, 2).unwrap();
    let vocab = Vocabulary::byte_level(&[b"[1", b", ", b"],", b"12", b"0]", b"  ", b"   ", b"1,2"]);
    let f = Factory::new(vocab);
    let cg = f.from_grammar(g);
    let mut m = f.matcher(&cg);
    check_mask_against_commit(&f, &mut m);
    m.commit_bytes(b" [").unwrap();
    check_mask_against_commit(&f, &mut m);
    m.commit_bytes(b"12").unwrap();
    check_mask_against_commit(&f, &mut m);
    assert!(!m.is_accepting());
    m.commit_bytes(b", 3").unwrap();
    check_mask_against_commit(&f, &mut m);
    assert!(m.commit_bytes(b"0").is_ok());
    assert!(m.commit_bytes(b"-").is_err());
    m.commit_bytes(b"]").unwrap();
    assert!(m.is_accepting());
    check_mask_against_commit(&f, &mut m);
    m.rollback(2).unwrap();
    assert!(!m.is_accepting());
    // Number length bound: 6 characters at most.
    m.commit_bytes(b"00001").unwrap();
    assert!(m.commit_bytes(b"5").is_err(), "7 digits exceed the bound");
    m.reset();
    assert_eq!(m.forced_bytes(), b"".to_vec(), "whitespace or [ may start");
}

#[test]
fn forced_bytes_and_tokens() {
    let mut b = GrammarBuilder::new();
    let k = b.literal(b"{\"name\":");
    let v = b.lexeme(re("\"[a-z]+\""), 0, u32::MAX).unwrap();
    let e = b.literal(b"}");
    let top = b.seq("obj", vec![k, v, e]);
    let g = b.finish(top, 0).unwrap();
    let vocab = Vocabulary::byte_level(&[b"{\"", b"name", b"\":", b"\":\""]);
    let f = Factory::new(vocab);
    let cg = f.from_grammar(g);
    let mut m = f.matcher(&cg);
    assert_eq!(m.forced_bytes(), b"{\"name\":\"".to_vec());
    let toks = m.forced_tokens();
    let spelled: Vec<u8> = toks
        .iter()
        .flat_map(|&t| f.vocab().token_bytes(t).to_vec())
        .collect();
    assert_eq!(spelled, b"{\"name\":\"".to_vec());
    m.commit_bytes(b"{\"name\":\"ab\"").unwrap();
    assert_eq!(m.forced_bytes(), b"}".to_vec());
    m.commit_bytes(b"}").unwrap();
    assert!(m.is_accepting());
    let eos = f.vocab().eos_ids()[0];
    assert!(m.compute_mask().contains(eos));
    m.commit_token(eos).unwrap();
    assert!(m.is_finished());
    assert_eq!(m.compute_mask().count(), 0);
    m.rollback(1).unwrap();
    assert!(!m.is_finished());
}
