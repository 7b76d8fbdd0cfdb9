//! Compiles the schemas of MaskBench files repeatedly (for profiling the
//! compiler): `compileprof N FILE...`.

use strictly_grammar::{Factory, JsonOptions, Vocabulary};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().ok_or("usage: compileprof N FILE...")?.parse()?;
    let schemas: Vec<serde_json::Value> = args
        .map(|p| -> Result<_, Box<dyn std::error::Error>> {
            let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p)?)?;
            Ok(v["schema"].clone())
        })
        .collect::<Result<_, _>>()?;
    for _ in 0..n {
        // A fresh factory each round, so nothing is cached.
        let f = Factory::new(Vocabulary::byte_level(&[]));
        for s in &schemas {
            let t = std::time::Instant::now();
            let r = f.compile_json_schema(s, &JsonOptions::lenient());
            println!("{:?} {}", t.elapsed(), r.is_ok());
        }
    }
    Ok(())
}
