//! The tagger's weights: `data/model.bin`, compiled in and widened into rows of eight lanes
//! once, on first use.

use std::sync::LazyLock;

use super::NTAGS;

/// A bucket's weights, one per tag and a zero to make eight lanes, so that adding a row to the
/// scores is two vector additions rather than seven scalar ones.
pub(super) const LANES: usize = NTAGS + 1;

/// Widened from the file's `i16` once at load: an addition per feature then needs no sign
/// extension (the table is twice the file's size, 2 MiB for 16 bits).
#[repr(C, align(32))]
pub(super) struct Row(pub(super) [i32; LANES]);

/// The model file, compiled in.
const MODEL_DATA: &[u8] = include_bytes!("data/model.bin");
/// The bits of a bucket number, read from the model's header at compile time: a bucket is then
/// the top `BITS` bits of a product, below [`NROWS`] by construction, so indexing the rows
/// needs no bounds check.
pub(super) const BITS: u32 =
    u32::from_le_bytes([MODEL_DATA[4], MODEL_DATA[5], MODEL_DATA[6], MODEL_DATA[7]]);
const NROWS: usize = 1 << BITS;

pub(super) struct Model {
    pub(super) rows: Box<[Row; NROWS]>,
    /// Integer score units per unit of the trained (float) weights.
    pub(super) scale: f64,
}

#[expect(
    clippy::expect_used,
    reason = "the weights are written by scripts/train/ner.py and compiled in; the unit tests load them"
)]
fn load_model(data: &[u8]) -> Model {
    assert_eq!(data.get(..4), Some(&b"SNER"[..]), "ner model magic");
    let word = |at: usize| {
        u32::from_le_bytes(
            data[at..at + 4]
                .try_into()
                .expect("a four-byte header field"),
        )
    };
    let bits = word(4);
    assert!((8..=24).contains(&bits) && bits == BITS, "ner model bits");
    assert_eq!(word(8) as usize, NTAGS, "ner model tags");
    let scale = f64::from(f32::from_bits(word(12)));
    let body = &data[16..];
    assert_eq!(body.len(), (1usize << bits) * NTAGS * 2, "ner model size");
    let rows: Box<[Row]> = body
        .chunks_exact(NTAGS * 2)
        .map(|c| {
            let mut row = [0i32; LANES];
            for (t, v) in row.iter_mut().take(NTAGS).enumerate() {
                *v = i32::from(i16::from_le_bytes([c[2 * t], c[2 * t + 1]]));
            }
            Row(row)
        })
        .collect();
    Model {
        rows: rows
            .try_into()
            .ok()
            .expect("as many rows as the header says"),
        scale,
    }
}

pub(super) static MODEL: LazyLock<Model> = LazyLock::new(|| load_model(MODEL_DATA));
