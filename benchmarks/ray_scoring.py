"""Batch scoring throughput: single process (``predict --output``) vs Ray Data with 1 and 2 actors,
same model (the default path: the shipped model's int8 export), same tweets, one run, one machine.

    python benchmarks/ray_scoring.py \
        --data ../shared/data/sentiment140/training.1600000.polarity_text.csv.gz \
        --n 80000 --files 8

writes benchmarks/results/ray_scoring.json. The tweets are written as ``--files`` Parquet files
(the unit of work of the Ray engine). Each figure is tweets / wall second for the whole job:
single process = score_file over the files one after another (ONNX Runtime with one thread per core);
Ray = ``score_dataset`` from the call to its return, including starting a local Ray (reported apart
as ``ray_start_s``) and each actor loading the model, with one thread per actor.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import write_result  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="Sentiment140-format file to take tweets from")
    ap.add_argument("--n", type=int, default=80000, help="tweets in all")
    ap.add_argument("--files", type=int, default=8, help="Parquet files they are split into")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "ray_scoring.json"))
    args = ap.parse_args()

    import pyarrow as pa
    import pyarrow.parquet as pq
    import ray

    import tinysent
    from tinysent.apps.raydata import score_dataset
    from tinysent.apps.score import score_file
    from tinysent.data import sentiment140 as D

    texts = D.read(args.data).texts[: args.n]
    tmp = Path(tempfile.mkdtemp(prefix="ray-bench-"))
    (tmp / "in").mkdir()
    per = -(-len(texts) // args.files)
    for i in range(args.files):
        part = texts[i * per : (i + 1) * per]
        ids = pa.array(range(i * per, i * per + len(part)), pa.int64())
        pq.write_table(pa.table({"id": ids, "text": part}), tmp / "in" / f"part-{i:03d}.parquet")
    files = sorted((tmp / "in").iterdir())

    predictor = tinysent.load()  # builds the int8 export into the cache once, outside the timings
    t = time.perf_counter()
    for f in files:
        score_file(predictor, f, tmp / f"single-{f.stem}.parquet", id_column="id", progress=False)
    single_s = time.perf_counter() - t
    results = {
        "single_process": {"seconds": round(single_s, 2), "tweets_per_s": round(len(texts) / single_s)}
    }

    for workers in (1, 2):
        t = time.perf_counter()
        ray.init(num_cpus=workers, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
        start_s = time.perf_counter() - t
        t = time.perf_counter()
        summary = score_dataset(
            str(tmp / "in"), str(tmp / f"ray{workers}"), id_column="id", workers=workers, progress=False
        )
        job_s = time.perf_counter() - t
        ray.shutdown()
        assert summary["scored"] + summary["errors"] == len(texts)
        results[f"ray_{workers}_actor{'s' if workers > 1 else ''}"] = {
            "ray_start_s": round(start_s, 2),
            "seconds": round(job_s, 2),
            "tweets_per_s": round(len(texts) / job_s),
            "tweets_per_s_with_start": round(len(texts) / (job_s + start_s)),
        }
        for f in files:  # the same records as single-process scoring, file by file
            from tinysent.apps.raydata import shard_name

            got = pq.read_table(tmp / f"ray{workers}" / shard_name(str(f), "parquet"))
            assert got.equals(pq.read_table(tmp / f"single-{f.stem}.parquet")), f
    doc = write_result(
        args.out,
        "ray_scoring",
        {"tweets": len(texts), "files": args.files, "model": "shipped (default path, int8 ONNX)", **results},
    )
    print(doc)


if __name__ == "__main__":
    main()
