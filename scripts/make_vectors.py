#!/usr/bin/env python3
"""Write protocol/vectors/*.json: golden conformance vectors from fixed seeds.

Run after a deliberate change of the wire format (and say so in protocol/SPEC.md); the
test suite recomputes every vector and fails on any difference in bytes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the builder lives with the vectors, in protocol/

from protocol.vectors_builder import all_vectors  # noqa: E402

OUT = ROOT / "protocol" / "vectors"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, content in all_vectors().items():
        path = OUT / f"{name}.json"
        path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
