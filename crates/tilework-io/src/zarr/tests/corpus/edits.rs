//! The `zarr.json` edits of the Zarr corpus: one field at a time, set to what a damaged or
//! hostile file may hold, with what the array must do then.

use super::Must;
use serde_json::{Value, json};

/// Edits of `zarr.json`: a label, the edit (None when it does not apply to this array) and
/// what the array must do then.
pub(super) type MetadataEdit = (&'static str, fn(&mut Value) -> Option<()>, Must);

fn set(value: &mut Value, pointer: &str, new: Value) -> Option<()> {
    *value.pointer_mut(pointer)? = new;
    Some(())
}

fn remove(value: &mut Value, parent: &str, key: &str) -> Option<()> {
    value
        .pointer_mut(parent)?
        .as_object_mut()?
        .remove(key)
        .map(|_| ())
}

fn codecs(value: &mut Value) -> Option<&mut Vec<Value>> {
    value.get_mut("codecs")?.as_array_mut()
}

const SHAPE_0: &str = "/shape/0";
const CHUNK: &str = "/chunk_grid/configuration/chunk_shape";
const CHUNK_0: &str = "/chunk_grid/configuration/chunk_shape/0";

pub(super) fn metadata_edits() -> Vec<MetadataEdit> {
    use Must::{Either, Fail};
    vec![
        (
            "shape[0] u64::MAX",
            |m| set(m, SHAPE_0, json!(u64::MAX)),
            Either,
        ),
        (
            "every size u64::MAX",
            |m| {
                let rank = m["shape"].as_array()?.len();
                set(m, "/shape", json!(vec![u64::MAX; rank]))
            },
            Either,
        ),
        (
            "shape[0] 2^62",
            |m| set(m, SHAPE_0, json!(1u64 << 62)),
            Either,
        ),
        (
            "shape[0] 2^40",
            |m| set(m, SHAPE_0, json!(1u64 << 40)),
            Either,
        ),
        (
            "shape[0] 2^59",
            |m| set(m, SHAPE_0, json!(1u64 << 59)),
            Either,
        ),
        ("shape[0] 0", |m| set(m, SHAPE_0, json!(0)), Either),
        ("shape[0] -1", |m| set(m, SHAPE_0, json!(-1)), Fail),
        ("shape[0] 2.5", |m| set(m, SHAPE_0, json!(2.5)), Fail),
        (
            "shape[0] as a float",
            |m| {
                let len = m["shape"][0].as_u64()?;
                set(m, SHAPE_0, json!(len as f64))
            },
            Either,
        ),
        ("shape[0] 1e300", |m| set(m, SHAPE_0, json!(1e300)), Fail),
        (
            "shape[0] 2^64",
            |m| {
                set(
                    m,
                    SHAPE_0,
                    serde_json::from_str("18446744073709551616").ok()?,
                )
            },
            Fail,
        ),
        ("shape[0] a string", |m| set(m, SHAPE_0, json!("10")), Fail),
        ("shape[0] null", |m| set(m, SHAPE_0, Value::Null), Fail),
        ("shape a string", |m| set(m, "/shape", json!("10x7")), Fail),
        (
            "shape one axis more",
            |m| {
                m.get_mut("shape")?.as_array_mut()?.push(json!(3));
                Some(())
            },
            Fail,
        ),
        (
            "shape one axis fewer",
            |m| m.get_mut("shape")?.as_array_mut()?.pop().map(|_| ()),
            Fail,
        ),
        ("shape missing", |m| remove(m, "", "shape"), Fail),
        ("chunk_shape[0] 0", |m| set(m, CHUNK_0, json!(0)), Fail),
        (
            "chunk_shape[0] u64::MAX",
            |m| set(m, CHUNK_0, json!(u64::MAX)),
            Fail,
        ),
        (
            "chunk_shape[0] 2^62",
            |m| set(m, CHUNK_0, json!(1u64 << 62)),
            Fail,
        ),
        (
            "chunk_shape[0] 2^40",
            |m| set(m, CHUNK_0, json!(1u64 << 40)),
            Fail,
        ),
        (
            "every chunk size 2^33",
            |m| {
                let rank = m.pointer(CHUNK)?.as_array()?.len();
                (rank > 0).then_some(())?;
                set(m, CHUNK, json!(vec![1u64 << 33; rank]))
            },
            Fail,
        ),
        ("chunk_shape[0] 1", |m| set(m, CHUNK_0, json!(1)), Either),
        ("chunk_shape[0] -1", |m| set(m, CHUNK_0, json!(-1)), Fail),
        ("chunk_shape[0] 2.5", |m| set(m, CHUNK_0, json!(2.5)), Fail),
        (
            "chunk_shape[0] a string",
            |m| set(m, CHUNK_0, json!("4")),
            Fail,
        ),
        (
            "chunk_shape one axis more",
            |m| {
                m.pointer_mut(CHUNK)?.as_array_mut()?.push(json!(2));
                Some(())
            },
            Fail,
        ),
        (
            "chunk_shape one axis fewer",
            |m| m.pointer_mut(CHUNK)?.as_array_mut()?.pop().map(|_| ()),
            Fail,
        ),
        (
            "chunk_shape missing",
            |m| remove(m, "/chunk_grid/configuration", "chunk_shape"),
            Fail,
        ),
        (
            "chunk grid rectilinear",
            |m| set(m, "/chunk_grid/name", json!("rectilinear")),
            Fail,
        ),
        (
            "chunk grid null",
            |m| set(m, "/chunk_grid", Value::Null),
            Fail,
        ),
        (
            "data_type complex64",
            |m| set(m, "/data_type", json!("complex64")),
            Fail,
        ),
        (
            "data_type int16",
            |m| set(m, "/data_type", json!("int16")),
            Fail,
        ),
        (
            "data_type unknown",
            |m| set(m, "/data_type", json!("quaternion256")),
            Fail,
        ),
        (
            "data_type a number",
            |m| set(m, "/data_type", json!(5)),
            Fail,
        ),
        (
            "data_type null",
            |m| set(m, "/data_type", Value::Null),
            Fail,
        ),
        (
            "data_type float64",
            |m| set(m, "/data_type", json!("float64")),
            Either,
        ),
        (
            "data_type uint8",
            |m| set(m, "/data_type", json!("uint8")),
            Either,
        ),
        (
            "data_type bool",
            |m| set(m, "/data_type", json!("bool")),
            Either,
        ),
        ("data_type missing", |m| remove(m, "", "data_type"), Fail),
        (
            "fill_value a word",
            |m| set(m, "/fill_value", json!("abc")),
            Fail,
        ),
        (
            "fill_value a list",
            |m| set(m, "/fill_value", json!([1, 2])),
            Fail,
        ),
        (
            "fill_value an object",
            |m| set(m, "/fill_value", json!({"a": 1})),
            Fail,
        ),
        (
            "fill_value null",
            |m| set(m, "/fill_value", Value::Null),
            Either,
        ),
        (
            "fill_value 300",
            |m| set(m, "/fill_value", json!(300)),
            Either,
        ),
        (
            "fill_value -1",
            |m| set(m, "/fill_value", json!(-1)),
            Either,
        ),
        (
            "fill_value 2^64",
            |m| {
                set(
                    m,
                    "/fill_value",
                    serde_json::from_str("18446744073709551616").ok()?,
                )
            },
            Either,
        ),
        (
            "fill_value NaN",
            |m| set(m, "/fill_value", json!("NaN")),
            Either,
        ),
        (
            "fill_value 1e300",
            |m| set(m, "/fill_value", json!(1e300)),
            Either,
        ),
        (
            "fill_value true",
            |m| set(m, "/fill_value", json!(true)),
            Either,
        ),
        ("fill_value missing", |m| remove(m, "", "fill_value"), Fail),
        ("no codecs", |m| set(m, "/codecs", json!([])), Fail),
        ("codecs null", |m| set(m, "/codecs", Value::Null), Fail),
        (
            "an unknown codec",
            |m| set(m, "/codecs", json!([{"name": "lzma9"}])),
            Fail,
        ),
        (
            "an unknown codec appended",
            |m| {
                codecs(m)?.push(json!({"name": "lzma9"}));
                Some(())
            },
            Fail,
        ),
        (
            "a checksum codec appended",
            |m| {
                codecs(m)?.push(json!({"name": "crc32c"}));
                Some(())
            },
            Fail,
        ),
        (
            "the bytes codec twice",
            |m| {
                let first = codecs(m)?.first()?.clone();
                codecs(m)?.insert(0, first);
                Some(())
            },
            Fail,
        ),
        (
            "the bytes codec missing",
            |m| {
                codecs(m)?.remove(0);
                Some(())
            },
            Fail,
        ),
        (
            "big-endian bytes",
            |m| set(m, "/codecs/0/configuration/endian", json!("big")),
            Either,
        ),
        (
            "an unknown endianness",
            |m| set(m, "/codecs/0/configuration/endian", json!("middle")),
            Fail,
        ),
        (
            "the last codec renamed gzip",
            |m| {
                let last = codecs(m)?.last_mut()?;
                last["name"] = json!("gzip");
                Some(())
            },
            Either,
        ),
        (
            "a compression level that is a word",
            |m| {
                let last = codecs(m)?.last_mut()?;
                last.pointer_mut("/configuration/level")?;
                last["configuration"]["level"] = json!("x");
                Some(())
            },
            Fail,
        ),
        (
            "a transpose of a bad order",
            |m| {
                let rank = m["shape"].as_array()?.len();
                codecs(m)?.insert(0, json!({"name": "transpose", "configuration": {"order": vec![rank + 3; rank.max(1)]}}));
                Some(())
            },
            Fail,
        ),
        (
            "a sharding codec with huge inner chunks",
            |m| {
                let rank = m["shape"].as_array()?.len();
                set(
                    m,
                    "/codecs",
                    json!([{"name": "sharding_indexed", "configuration": {
                "chunk_shape": vec![1u64 << 40; rank],
                "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
                "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
                "index_location": "end"}}]),
                )
            },
            Fail,
        ),
        (
            "chunk keys v2",
            |m| {
                set(
                    m,
                    "/chunk_key_encoding",
                    json!({"name": "v2", "configuration": {"separator": "."}}),
                )
            },
            Must::FailStrictly,
        ),
        (
            "chunk key separator .",
            |m| set(m, "/chunk_key_encoding/configuration/separator", json!(".")),
            Either,
        ),
        (
            "chunk key separator |",
            |m| set(m, "/chunk_key_encoding/configuration/separator", json!("|")),
            Fail,
        ),
        (
            "chunk key encoding unknown",
            |m| set(m, "/chunk_key_encoding/name", json!("weird")),
            Fail,
        ),
        (
            "chunk key encoding null",
            |m| set(m, "/chunk_key_encoding", Value::Null),
            Fail,
        ),
        (
            "chunk key encoding missing",
            |m| remove(m, "", "chunk_key_encoding"),
            Fail,
        ),
        ("zarr_format 2", |m| set(m, "/zarr_format", json!(2)), Fail),
        ("zarr_format 4", |m| set(m, "/zarr_format", json!(4)), Fail),
        (
            "zarr_format a string",
            |m| set(m, "/zarr_format", json!("3")),
            Fail,
        ),
        (
            "zarr_format missing",
            |m| remove(m, "", "zarr_format"),
            Fail,
        ),
        (
            "node_type group",
            |m| set(m, "/node_type", json!("group")),
            Fail,
        ),
        (
            "node_type unknown",
            |m| set(m, "/node_type", json!("banana")),
            Fail,
        ),
        ("node_type missing", |m| remove(m, "", "node_type"), Fail),
        (
            "attributes null",
            |m| set(m, "/attributes", Value::Null),
            Fail,
        ),
        (
            "completion a word",
            |m| set(m, "/attributes", json!({"tilework": {"complete": "yes"}})),
            Either,
        ),
        (
            "completion false",
            |m| set(m, "/attributes", json!({"tilework": {"complete": false}})),
            Must::FailStrictly,
        ),
        (
            "an unknown storage transformer",
            |m| set(m, "/storage_transformers", json!([{"name": "foo"}])),
            Fail,
        ),
        (
            "dimension names of the wrong rank",
            |m| set(m, "/dimension_names", json!(["a", "b", "c", "d", "e"])),
            Either,
        ),
        (
            "an extension that must be understood",
            |m| {
                m.as_object_mut()?.insert(
                    "future".into(),
                    json!({"name": "future", "must_understand": true}),
                );
                Some(())
            },
            Fail,
        ),
        (
            "a list",
            |m| {
                *m = json!([]);
                Some(())
            },
            Fail,
        ),
        (
            "a string",
            |m| {
                *m = json!("array");
                Some(())
            },
            Fail,
        ),
        (
            "null",
            |m| {
                *m = Value::Null;
                Some(())
            },
            Fail,
        ),
        (
            "an empty object",
            |m| {
                *m = json!({});
                Some(())
            },
            Fail,
        ),
    ]
}
