use super::*;
use crate::quant::GgmlType;
use crate::weights::TensorSource;

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A small file with every value type, a nested array and three tensors of different types.
fn sample(version: u32) -> Vec<u8> {
    let q8: Vec<u8> = {
        // One Q8_0 block: d = 0.5, q = -16..16.
        let mut b = half::f16::from_f32(0.5).to_le_bytes().to_vec();
        b.extend((-16i8..16).map(|q| q as u8));
        b
    };
    GgufWriter::new(version)
        .metadata("general.architecture", Value::String("qwen2".into()))
        .metadata("u8", Value::U8(7))
        .metadata("i8", Value::I8(-7))
        .metadata("u16", Value::U16(65535))
        .metadata("i16", Value::I16(-300))
        .metadata("u32", Value::U32(4_000_000_000))
        .metadata("i32", Value::I32(-5))
        .metadata("f32", Value::F32(1.5))
        .metadata("bool", Value::Bool(true))
        .metadata("u64", Value::U64(u64::MAX))
        .metadata("i64", Value::I64(i64::MIN))
        .metadata("f64", Value::F64(1e6))
        .metadata(
            "strings",
            Value::Array(Array::String(vec!["a".into(), "".into(), "日本".into()])),
        )
        .metadata("ints", Value::Array(Array::I32(vec![1, -2, 3])))
        .metadata(
            "nested",
            Value::Array(Array::Array(vec![
                Array::U8(vec![1, 2]),
                Array::Bool(vec![false, true]),
            ])),
        )
        .tensor(
            "token_embd.weight",
            &[3, 2],
            GgmlType::F32,
            f32_bytes(&[1., 2., 3., 4., 5., 6.]),
        )
        .tensor("blk.0.attn_q.bias", &[32], GgmlType::Q8_0, q8)
        .tensor(
            "blk.0.attn_norm.weight",
            &[2],
            GgmlType::F16,
            [1.0f32, -2.0]
                .iter()
                .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
                .collect(),
        )
        .to_bytes()
}

#[test]
fn reads_every_value_type() {
    for version in [2, 3] {
        let f = GgufFile::from_bytes(sample(version)).unwrap();
        assert_eq!(f.version(), version);
        assert_eq!(f.get_str("general.architecture").unwrap(), "qwen2");
        assert_eq!(f.get("u8"), Some(&Value::U8(7)));
        assert_eq!(f.get("i8"), Some(&Value::I8(-7)));
        assert_eq!(f.get("u16"), Some(&Value::U16(65535)));
        assert_eq!(f.get("i16"), Some(&Value::I16(-300)));
        assert_eq!(f.get_u64("u32").unwrap(), 4_000_000_000);
        assert_eq!(f.get("i32"), Some(&Value::I32(-5)));
        assert_eq!(f.get_f64("f32").unwrap(), 1.5);
        assert_eq!(f.get("bool"), Some(&Value::Bool(true)));
        assert_eq!(f.get_u64("u64").unwrap(), u64::MAX);
        assert_eq!(f.get("i64"), Some(&Value::I64(i64::MIN)));
        assert_eq!(f.get_f64("f64").unwrap(), 1e6);
        assert_eq!(f.get_str_array("strings").unwrap(), ["a", "", "日本"]);
        assert_eq!(
            f.get_array("ints").unwrap().to_i64_vec(),
            Some(vec![1, -2, 3])
        );
        assert_eq!(
            f.get_array("nested").unwrap(),
            &Array::Array(vec![Array::U8(vec![1, 2]), Array::Bool(vec![false, true])])
        );
    }
}

#[test]
fn typed_getters_explain_mismatches() {
    let f = GgufFile::from_bytes(sample(3)).unwrap();
    assert!(matches!(f.get_str("missing"), Err(GgufError::MissingKey(k)) if k == "missing"));
    assert!(matches!(
        f.get_u64("i32"),
        Err(GgufError::WrongType { found: "int32", .. })
    ));
    assert!(matches!(
        f.get_str_array("ints"),
        Err(GgufError::WrongType { found: "int32", .. })
    ));
}

#[test]
fn reads_tensors() {
    let f = GgufFile::from_bytes(sample(3)).unwrap();
    assert_eq!(f.tensors().len(), 3);
    let emb = f.tensor_info("token_embd.weight").unwrap();
    assert_eq!(emb.dims, [3, 2]);
    assert_eq!(emb.shape(), [2, 3], "shape is outermost-first");
    assert_eq!(
        f.tensor_f32("token_embd.weight").unwrap(),
        [1., 2., 3., 4., 5., 6.]
    );
    let q: Vec<f32> = (-16..16).map(|q| q as f32 * 0.5).collect();
    assert_eq!(f.tensor_f32("blk.0.attn_q.bias").unwrap(), q);
    assert_eq!(f.tensor_f32("blk.0.attn_norm.weight").unwrap(), [1.0, -2.0]);
    for t in f.tensors() {
        assert_eq!(t.offset % f.alignment(), 0);
    }
    assert!(matches!(f.tensor("nope"), Err(GgufError::MissingTensor(_))));
}

#[test]
fn tensor_source_uses_canonical_names() {
    let f = GgufFile::from_bytes(sample(3)).unwrap();
    let mut names = f.names();
    names.sort();
    assert_eq!(
        names,
        [
            "model.embed_tokens.weight",
            "model.layers.0.input_layernorm.weight",
            "model.layers.0.self_attn.q_proj.bias"
        ]
    );
    assert_eq!(f.shape("model.embed_tokens.weight"), Some(vec![2, 3]));
    assert_eq!(
        f.shape("token_embd.weight"),
        None,
        "GGUF names are not canonical"
    );
    assert_eq!(
        f.load_f32("model.layers.0.input_layernorm.weight").unwrap(),
        [1.0, -2.0]
    );
    let raw = f.raw("model.layers.0.self_attn.q_proj.bias").unwrap();
    assert_eq!(
        (raw.ty, raw.shape.as_slice(), raw.bytes.len()),
        (GgmlType::Q8_0, &[32][..], 34)
    );
    assert!(f.load_f32("lm_head.weight").is_err());
}

#[test]
fn honours_custom_alignment() {
    let bytes = GgufWriter::new(3)
        .metadata("general.alignment", Value::U32(64))
        .tensor("a", &[1], GgmlType::F32, f32_bytes(&[1.0]))
        .tensor("b", &[1], GgmlType::F32, f32_bytes(&[2.0]))
        .to_bytes();
    let f = GgufFile::from_bytes(bytes).unwrap();
    assert_eq!(f.alignment(), 64);
    assert_eq!(f.tensor_info("b").unwrap().offset, 64);
    assert_eq!(f.tensor_f32("b").unwrap(), [2.0]);
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = sample(3);
    for len in 0..bytes.len() {
        let r = GgufFile::from_bytes(bytes[..len].to_vec());
        // The last tensor ends exactly at the end of the file, so any shorter prefix is
        // missing something.
        assert!(r.is_err(), "prefix of {len} bytes parsed");
    }
}

#[test]
fn random_corruption_never_panics() {
    let base = sample(3);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..20_000 {
        let mut bytes = base.clone();
        for _ in 0..1 + next() % 4 {
            let i = (next() as usize) % bytes.len();
            bytes[i] = next() as u8;
        }
        if let Ok(f) = GgufFile::from_bytes(bytes) {
            for t in f.tensors() {
                let _ = f.tensor_f32(&t.name);
            }
        }
    }
}

/// Writes `value` over the bytes at `at` in a copy of `bytes`.
fn patch(bytes: &[u8], at: usize, value: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[at..at + value.len()].copy_from_slice(value);
    out
}

fn find(bytes: &[u8], needle: &[u8]) -> usize {
    bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap()
}

#[test]
fn header_errors() {
    let bytes = sample(3);
    assert!(matches!(
        GgufFile::from_bytes(patch(&bytes, 0, b"GGML")),
        Err(GgufError::BadMagic(_))
    ));
    assert!(matches!(
        GgufFile::from_bytes(patch(&bytes, 4, &1u32.to_le_bytes())),
        Err(GgufError::UnsupportedVersion(1))
    ));
    assert!(matches!(
        GgufFile::from_bytes(patch(&bytes, 4, &3u32.to_be_bytes())),
        Err(GgufError::BigEndian)
    ));
    assert!(matches!(
        GgufFile::from_bytes(patch(&bytes, 8, &u64::MAX.to_le_bytes())),
        Err(GgufError::CountTooLarge { what: "tensor", .. })
    ));
    assert!(matches!(
        GgufFile::from_bytes(patch(&bytes, 16, &(1u64 << 40).to_le_bytes())),
        Err(GgufError::CountTooLarge { .. })
    ));
}

#[test]
fn metadata_errors() {
    let bytes = sample(3);
    // The length prefix of the first key ("general.architecture", 20 bytes) at byte 24.
    assert!(matches!(
        GgufFile::from_bytes(patch(&bytes, 24, &u64::MAX.to_le_bytes())),
        Err(GgufError::Truncated { .. })
    ));
    // Its value type, right after the key.
    assert!(matches!(
        GgufFile::from_bytes(patch(&bytes, 24 + 8 + 20, &13u32.to_le_bytes())),
        Err(GgufError::UnknownValueType { type_id: 13, .. })
    ));
    // A huge array count in "strings" (after the key, the value type and the element type).
    let at = find(&bytes, b"strings") + 7 + 4 + 4;
    assert!(matches!(
        GgufFile::from_bytes(patch(&bytes, at, &(u64::MAX / 2).to_le_bytes())),
        Err(GgufError::CountTooLarge {
            what: "array element",
            ..
        })
    ));
    let dup = GgufWriter::new(3)
        .metadata("k", Value::U8(1))
        .metadata("k", Value::U8(2))
        .to_bytes();
    assert!(matches!(
        GgufFile::from_bytes(dup),
        Err(GgufError::DuplicateKey(_))
    ));
    let bad_utf8 = patch(&bytes, find(&bytes, "日本".as_bytes()), &[0xff]);
    assert!(matches!(
        GgufFile::from_bytes(bad_utf8),
        Err(GgufError::InvalidUtf8 { .. })
    ));
}

#[test]
fn deep_nesting_is_rejected() {
    let mut a = Array::U8(vec![]);
    for _ in 0..20 {
        a = Array::Array(vec![a]);
    }
    let bytes = GgufWriter::new(3)
        .metadata("deep", Value::Array(a))
        .to_bytes();
    assert!(matches!(
        GgufFile::from_bytes(bytes),
        Err(GgufError::NestingTooDeep { .. })
    ));
}

#[test]
fn alignment_errors() {
    for bad in [Value::U32(0), Value::U32(48), Value::U64(32)] {
        let bytes = GgufWriter::new(3)
            .metadata("general.alignment", bad)
            .to_bytes();
        assert!(matches!(
            GgufFile::from_bytes(bytes),
            Err(GgufError::BadAlignment(_))
        ));
    }
}

fn one_tensor(dims: &[u64], ty: GgmlType, data: Vec<u8>) -> Result<GgufFile, GgufError> {
    GgufFile::from_bytes(GgufWriter::new(3).tensor("t", dims, ty, data).to_bytes())
}

#[test]
fn tensor_table_errors() {
    let ok = one_tensor(&[4], GgmlType::F32, vec![0; 16])
        .unwrap()
        .tensor_f32("t")
        .unwrap();
    assert_eq!(ok, [0.0; 4]);
    assert!(matches!(
        one_tensor(&[1, 1, 1, 1, 1], GgmlType::F32, vec![0; 4]),
        Err(GgufError::TooManyDims { n_dims: 5, .. })
    ));
    assert!(matches!(
        one_tensor(&[1 << 40, 1 << 40], GgmlType::F32, vec![0; 4]),
        Err(GgufError::ShapeOverflow { .. })
    ));
    assert!(matches!(
        one_tensor(&[16, 2], GgmlType::Q8_0, vec![0; 34]),
        Err(GgufError::PartialBlockRow { ne0: 16, .. })
    ));
    assert!(matches!(
        one_tensor(&[8], GgmlType::F32, vec![0; 16]),
        Err(GgufError::TensorOutOfBounds { .. })
    ));
    let bytes = GgufWriter::new(3)
        .tensor("t", &[1], GgmlType::F32, vec![0; 4])
        .to_bytes();
    // The tensor's type id sits 12 bytes before its offset field, which ends the table.
    let table_end = 24 + 8 + 1 + 4 + 8 + 4 + 8;
    assert!(matches!(
        GgufFile::from_bytes(patch(&bytes, table_end - 12, &4u32.to_le_bytes())),
        Err(GgufError::UnknownTensorType { type_id: 4, .. })
    ));
    assert!(matches!(
        GgufFile::from_bytes(patch(&bytes, table_end - 8, &4u64.to_le_bytes())),
        Err(GgufError::MisalignedTensor { offset: 4, .. })
    ));
    assert!(matches!(
        GgufFile::from_bytes(patch(&bytes, table_end - 8, &u64::MAX.to_le_bytes())),
        Err(GgufError::MisalignedTensor { .. } | GgufError::TensorOutOfBounds { .. })
    ));
    let dup = GgufWriter::new(3)
        .tensor("t", &[1], GgmlType::F32, vec![0; 4])
        .tensor("t", &[1], GgmlType::F32, vec![0; 4])
        .to_bytes();
    assert!(matches!(
        GgufFile::from_bytes(dup),
        Err(GgufError::DuplicateTensor(_))
    ));
}

#[test]
fn opens_files_by_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.gguf");
    std::fs::write(&path, sample(2)).unwrap();
    let f = GgufFile::open(&path).unwrap();
    assert_eq!(f.path(), Some(path.as_path()));
    assert_eq!(f.tensor_f32("blk.0.attn_norm.weight").unwrap(), [1.0, -2.0]);
    assert!(matches!(
        GgufFile::open(dir.path().join("absent.gguf")),
        Err(GgufError::Io { .. })
    ));
    let empty = dir.path().join("empty.gguf");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(
        GgufFile::open(&empty),
        Err(GgufError::Truncated { .. })
    ));
}

/// Checks against the default model as read by the `gguf` Python package
/// (`tests/reference/gguf/make_tensor_stats.py`).
mod default_model {
    use super::*;

    const STATS: &str = include_str!("../../../../tests/reference/gguf/tensor_stats.json");

    fn open() -> GgufFile {
        let path = crate::fetch::ensure_default_model().expect("fetching the default model");
        GgufFile::open(path).unwrap()
    }

    fn stats() -> serde_json::Value {
        serde_json::from_str(STATS).unwrap()
    }

    #[test]
    fn metadata_and_tensor_table_match() {
        let f = open();
        let s = stats();
        assert_eq!(f.get_str("general.architecture").unwrap(), "qwen2");
        for (key, want) in s["metadata"].as_object().unwrap() {
            let got = f.get(key).unwrap();
            match want {
                serde_json::Value::String(w) => assert_eq!(got.as_str(), Some(w.as_str())),
                w => assert_eq!(got.as_f64(), w.as_f64(), "{key}"),
            }
        }
        let table = s["tensors"].as_array().unwrap();
        assert_eq!(f.tensors().len(), table.len());
        for (got, want) in f.tensors().iter().zip(table) {
            assert_eq!(got.name, want["name"].as_str().unwrap());
            assert_eq!(
                format!("{:?}", got.ty),
                want["type"].as_str().unwrap(),
                "{}",
                got.name
            );
            let dims: Vec<u64> = serde_json::from_value(want["dims"].clone()).unwrap();
            assert_eq!(got.dims, dims, "{}", got.name);
        }
    }

    #[test]
    fn dequantized_tensors_match() {
        let f = open();
        for sample in stats()["samples"].as_array().unwrap() {
            let name = sample["name"].as_str().unwrap();
            let values = f.tensor_f32(name).unwrap();
            assert_eq!(values.len() as u64, sample["n_elems"].as_u64().unwrap());
            let idx: Vec<usize> = serde_json::from_value(sample["indices"].clone()).unwrap();
            let bits: Vec<String> = serde_json::from_value(sample["f32_bits"].clone()).unwrap();
            for (i, b) in idx.iter().zip(bits) {
                let want = u32::from_str_radix(&b, 16).unwrap();
                assert_eq!(values[*i].to_bits(), want, "{name}[{i}]");
            }
            let sum: f64 = values.iter().map(|&v| f64::from(v)).sum();
            let abs: f64 = values.iter().map(|&v| f64::from(v).abs()).sum();
            let (want_sum, want_abs) = (
                sample["sum"].as_f64().unwrap(),
                sample["abs_sum"].as_f64().unwrap(),
            );
            // Summation order differs; the values themselves are compared exactly above.
            assert!(
                (sum - want_sum).abs() <= 1e-6 * want_abs.max(1.0),
                "{name}: sum {sum} vs {want_sum}"
            );
            assert!(
                (abs - want_abs).abs() <= 1e-6 * want_abs.max(1.0),
                "{name}: |sum| {abs} vs {want_abs}"
            );
        }
    }

    #[test]
    fn canonical_names_cover_qwen2() {
        let f = open();
        let names = f.names();
        // Every tensor in the file is one the model uses.
        assert_eq!(names.len(), f.tensors().len());
        assert_eq!(
            f.shape("model.embed_tokens.weight"),
            Some(vec![151_936, 896])
        );
        assert_eq!(f.shape("lm_head.weight"), Some(vec![151_936, 896]));
        assert_eq!(f.shape("model.norm.weight"), Some(vec![896]));
        for layer in [0, 23] {
            let p = format!("model.layers.{layer}");
            assert_eq!(
                f.shape(&format!("{p}.self_attn.q_proj.weight")),
                Some(vec![896, 896])
            );
            assert_eq!(
                f.shape(&format!("{p}.self_attn.k_proj.weight")),
                Some(vec![128, 896])
            );
            assert_eq!(
                f.shape(&format!("{p}.self_attn.k_proj.bias")),
                Some(vec![128])
            );
            assert_eq!(
                f.shape(&format!("{p}.mlp.gate_proj.weight")),
                Some(vec![4864, 896])
            );
            assert_eq!(
                f.shape(&format!("{p}.mlp.down_proj.weight")),
                Some(vec![896, 4864])
            );
            assert!(f.raw(&format!("{p}.mlp.up_proj.weight")).is_some());
        }
        assert_eq!(f.shape("model.layers.24.self_attn.q_proj.weight"), None);
        let types: std::collections::BTreeSet<String> =
            f.tensors().iter().map(|t| format!("{:?}", t.ty)).collect();
        assert!(
            types
                .iter()
                .all(|t| ["F32", "Q4_K", "Q5_0", "Q6_K", "Q8_0"].contains(&t.as_str())),
            "{types:?}"
        );
    }
}

/// Files written by the `gguf` Python package (the fuzzer's seeds, `fuzz/make_seeds.py`).
#[test]
fn reads_files_written_by_an_independent_writer() {
    let tensors =
        GgufFile::from_bytes(include_bytes!("../../fuzz/seeds/gguf/tensors.gguf").to_vec())
            .unwrap();
    let types: Vec<GgmlType> = tensors.tensors().iter().map(|t| t.ty).collect();
    assert_eq!(
        types,
        [
            GgmlType::F32,
            GgmlType::F16,
            GgmlType::Q4_0,
            GgmlType::Q5_0,
            GgmlType::Q8_0,
            GgmlType::Q4_K,
            GgmlType::Q5_K,
            GgmlType::Q6_K,
            GgmlType::BF16
        ]
    );
    assert_eq!(tensors.tensor_info("f32").unwrap().shape(), [2, 4]);
    for t in tensors.tensors() {
        assert_eq!(tensors.tensor_f32(&t.name).unwrap().len() as u64, t.n_elems);
    }
    let meta = GgufFile::from_bytes(include_bytes!("../../fuzz/seeds/gguf/metadata.gguf").to_vec())
        .unwrap();
    assert_eq!(meta.get("i16"), Some(&Value::I16(-2)));
    assert_eq!(meta.get("f64"), Some(&Value::F64(0.25)));
    assert_eq!(meta.get_str("str").unwrap(), "héllo");
    assert_eq!(meta.get_str_array("strs").unwrap(), ["a", "bc"]);
    assert_eq!(
        meta.get_array("arr").unwrap().to_i64_vec(),
        Some(vec![1, 2, 3])
    );
}
