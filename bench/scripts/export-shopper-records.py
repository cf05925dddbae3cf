#!/usr/bin/env python3
"""Exports shopper state records from a store for `Persona.Benchmarks --decode-probe` (bench/README.md):

    python3 bench/scripts/export-shopper-records.py STORE_FOLDER_OR_DB OUT_FILE [COUNT]

COUNT records (default 20000) of shoppers spread over the table, each as a 4-byte little-endian length and its bytes.
"""
import os
import sqlite3
import struct
import sys

path, out = sys.argv[1], sys.argv[2]
count = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
if os.path.isdir(path):
    path = os.path.join(path, "persona.db")
db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
total = db.execute("SELECT count(*) FROM shopper_states").fetchone()[0]
step = max(1, total // count)
written = 0
with open(out, "wb") as f:
    for (state,) in db.execute("SELECT state FROM shopper_states WHERE rowid % ? = 0 LIMIT ?", (step, count)):
        f.write(struct.pack("<i", len(state)))
        f.write(state)
        written += 1
print(f"{written} of {total} records written to {out}")
