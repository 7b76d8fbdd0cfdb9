//! The one place where GGUF tensor names meet the canonical Hugging Face names.
//!
//! The model is defined once, with the names of the Hugging Face checkpoint
//! (`model.layers.N.self_attn.q_proj.weight`); GGUF files name the same tensors the llama.cpp
//! way (`blk.N.attn_q.weight`). For Qwen2 the conversion only renames: the q/k projections are
//! not permuted (Qwen2 uses the NeoX rotary layout, as the Hugging Face model does), and shapes
//! are the same once the GGUF dimension order is reversed.

/// Tensors outside the decoder layers.
const GLOBAL: &[(&str, &str)] = &[
    ("token_embd.weight", "model.embed_tokens.weight"),
    ("output_norm.weight", "model.norm.weight"),
    ("output.weight", "lm_head.weight"),
];

/// Per-layer tensors, without the `blk.N.` / `model.layers.N.` prefixes.
const LAYER: &[(&str, &str)] = &[
    ("attn_norm.weight", "input_layernorm.weight"),
    ("attn_q.weight", "self_attn.q_proj.weight"),
    ("attn_q.bias", "self_attn.q_proj.bias"),
    ("attn_k.weight", "self_attn.k_proj.weight"),
    ("attn_k.bias", "self_attn.k_proj.bias"),
    ("attn_v.weight", "self_attn.v_proj.weight"),
    ("attn_v.bias", "self_attn.v_proj.bias"),
    ("attn_output.weight", "self_attn.o_proj.weight"),
    ("ffn_norm.weight", "post_attention_layernorm.weight"),
    ("ffn_gate.weight", "mlp.gate_proj.weight"),
    ("ffn_up.weight", "mlp.up_proj.weight"),
    ("ffn_down.weight", "mlp.down_proj.weight"),
];

const GGUF_LAYER: &str = "blk.";
const HF_LAYER: &str = "model.layers.";

/// Splits `<prefix><N>.<rest>` into `(N, rest)`.
fn split_layer<'a>(name: &'a str, prefix: &str) -> Option<(usize, &'a str)> {
    let tail = name.strip_prefix(prefix)?;
    let (n, rest) = tail.split_once('.')?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((n.parse().ok()?, rest))
}

/// The canonical (Hugging Face) name of a GGUF tensor, if it is one the model uses.
pub fn gguf_to_hf(name: &str) -> Option<String> {
    if let Some(&(_, hf)) = GLOBAL.iter().find(|(g, _)| *g == name) {
        return Some(hf.to_owned());
    }
    let (n, rest) = split_layer(name, GGUF_LAYER)?;
    let &(_, hf) = LAYER.iter().find(|(g, _)| *g == rest)?;
    Some(format!("{HF_LAYER}{n}.{hf}"))
}

/// The GGUF name of a canonical (Hugging Face) tensor name, if it has one.
pub fn hf_to_gguf(name: &str) -> Option<String> {
    if let Some(&(g, _)) = GLOBAL.iter().find(|(_, h)| *h == name) {
        return Some(g.to_owned());
    }
    let (n, rest) = split_layer(name, HF_LAYER)?;
    let &(g, _) = LAYER.iter().find(|(_, h)| *h == rest)?;
    Some(format!("{GGUF_LAYER}{n}.{g}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_both_ways() {
        let pairs = [
            ("token_embd.weight", "model.embed_tokens.weight"),
            ("output.weight", "lm_head.weight"),
            ("blk.0.attn_q.bias", "model.layers.0.self_attn.q_proj.bias"),
            (
                "blk.23.ffn_down.weight",
                "model.layers.23.mlp.down_proj.weight",
            ),
            (
                "blk.7.ffn_norm.weight",
                "model.layers.7.post_attention_layernorm.weight",
            ),
        ];
        for (g, h) in pairs {
            assert_eq!(gguf_to_hf(g).as_deref(), Some(h));
            assert_eq!(hf_to_gguf(h).as_deref(), Some(g));
        }
    }

    #[test]
    fn every_table_entry_roundtrips() {
        for &(g, _) in LAYER {
            let gguf = format!("blk.12.{g}");
            let hf = gguf_to_hf(&gguf).unwrap();
            assert_eq!(hf_to_gguf(&hf).as_deref(), Some(gguf.as_str()));
        }
    }

    #[test]
    fn rejects_unknown_and_malformed() {
        for name in [
            "blk.x.attn_q.weight",
            "blk..attn_q.weight",
            "blk.1.attn_qq.weight",
            "rope_freqs.weight",
            "blk.-1.attn_q.weight",
        ] {
            assert_eq!(gguf_to_hf(name), None, "{name}");
        }
        assert_eq!(
            hf_to_gguf("model.layers.1.self_attn.rotary_emb.inv_freq"),
            None
        );
    }
}
