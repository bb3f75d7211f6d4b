"""Where the contract's bytes go (issue 19, item 4): compact size as test_shared_components
measures it, per section, split into prose (descriptions and summaries), examples and
structure, and the repeated subtrees worth sharing.

`python -m tests.contract.size [openapi.json]` (default: the document the app serves).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

PROSE = frozenset({"description", "summary"})
EXAMPLES = frozenset({"examples", "example"})


def compact(node: Any) -> int:
    """Bytes of `json.dumps(node, separators=(",", ":"))` (ASCII: other text escaped)."""
    return len(json.dumps(node, separators=(",", ":")).encode())


def _member(key: str, value: Any) -> int:
    return compact(key) + 1 + compact(value)  # "key":value


def split(node: Any) -> Counter[str]:
    """Bytes of `node` by kind, summing to `compact(node)`: prose, examples, structure
    (everything else, with the brackets, separators and keys)."""
    out: Counter[str] = Counter()
    if isinstance(node, dict):
        out["structure"] += 2 + max(len(node) - 1, 0)  # braces, commas
        for key, value in node.items():
            if key in PROSE and isinstance(value, str):
                out["prose"] += _member(key, value)
            elif key in EXAMPLES:
                out["examples"] += _member(key, value)
            else:
                out["structure"] += compact(key) + 1
                out += split(value)
    elif isinstance(node, list):
        out["structure"] += 2 + max(len(node) - 1, 0)
        for value in node:
            out += split(value)
    else:
        out["structure"] += compact(node)
    return out


def prose(node: Any, out: list[str]) -> list[str]:
    """Every description and summary below `node`, in document order."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in PROSE and isinstance(value, str):
                out.append(value)
            else:
                prose(value, out)
    elif isinstance(node, list):
        for value in node:
            prose(value, out)
    return out


def repeated(doc: dict[str, Any], top: int = 15) -> list[tuple[int, int, str]]:
    """(bytes a single copy would save, copies, subtree) for the subtrees written most often."""
    seen: Counter[str] = Counter()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if set(node) != {"$ref"}:  # a lone reference is shared already
                seen[json.dumps(node, sort_keys=True, separators=(",", ":"))] += 1
            for key, value in node.items():
                if key not in EXAMPLES:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    rows = [(len(k) * (n - 1), n, k) for k, n in seen.items() if n > 1]
    return sorted(rows, reverse=True)[:top]


def report(doc: dict[str, Any]) -> str:
    lines = [f"compact: {compact(doc):,} bytes"]
    sections = {"paths": doc.get("paths", {}), "webhooks": doc.get("webhooks", {})}
    sections |= {f"components.{k}": v for k, v in doc.get("components", {}).items()}
    for name, node in sections.items():
        kinds = split(node)
        lines.append(
            f"  {name:<26}{compact(node):>9,}  prose {kinds['prose']:>8,}  "
            f"examples {kinds['examples']:>7,}  structure {kinds['structure']:>8,}"
        )
    texts = prose(doc, [])
    kinds = split(doc)
    lines.append(
        f"prose: {len(texts):,} texts, {kinds['prose']:,} bytes with their keys; "
        f"{sum(compact(t) for t in set(texts)):,} bytes of distinct text"
    )
    lines.append(f"structure and examples alone: {kinds['structure'] + kinds['examples']:,} bytes")
    lines.append("written most often (bytes saved by one copy, copies, subtree):")
    lines += [f"  {saved:>7,} {n:>4}  {text[:110]}" for saved, n, text in repeated(doc)]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv:
        doc = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    else:
        from tests.contract import served

        doc = served()
    print(report(doc))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
