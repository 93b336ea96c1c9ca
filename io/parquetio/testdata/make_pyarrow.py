"""Writes the Parquet files TestReadPyarrowFiles expects, the way other tools do.

Usage: python3 make_pyarrow.py OUTDIR   (needs: pip install pyarrow)

imagetext.parquet: flavabeam's own column names with pyarrow's defaults
(every column optional, map, timestamp[us, UTC]), two row groups.
hf_style.parquet: a Hugging Face datasets layout: int64 "key", the image
struct {bytes, path}, "caption" as large_string, timestamp[ms] without zone,
metadata as a JSON string column, an extra unused column.
"""
import datetime as dt
import sys

import pyarrow as pa
import pyarrow.parquet as pq

out = sys.argv[1]
utc = dt.timezone.utc

t = pa.table({
    "id": pa.array(["p0", "p1", "p2"], pa.string()),
    "image": pa.array([b"\xff\xd8\x00", None, b""], pa.binary()),
    "image_uri": pa.array([None, "s3://b/p1.jpg", None], pa.string()),
    "text": pa.array(["a photo", None, "only text"], pa.string()),
    "labels": pa.array([["cat", "dog"], None, []], pa.list_(pa.string())),
    "metadata": pa.array([[("k", "v"), ("z", "")], None, []], pa.map_(pa.string(), pa.string())),
    "event_time": pa.array([dt.datetime(2024, 2, 3, 4, 5, 6, 789000, tzinfo=utc), None,
                            dt.datetime(1999, 12, 31, 23, 59, 59, 1, tzinfo=utc)], pa.timestamp("us", tz="UTC")),
})
pq.write_table(t, f"{out}/imagetext.parquet", row_group_size=2, compression="snappy")

hf = pa.table({
    "key": pa.array([10, 11], pa.int64()),
    "image": pa.array([{"bytes": b"\x89PNG", "path": "a.png"}, {"bytes": None, "path": "b.png"}],
                      pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
    "caption": pa.array(["first", "second"], pa.large_string()),
    "timestamp": pa.array([dt.datetime(2020, 1, 1, 0, 0, 1, 500000), None], pa.timestamp("ms")),
    "metadata": pa.array(['{"src":"hf"}', None], pa.string()),
    "score": pa.array([0.5, 0.25], pa.float64()),
})
pq.write_table(hf, f"{out}/hf_style.parquet", compression="zstd")
