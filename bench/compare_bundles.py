"""Synthesize every stack and compare the bundles byte for byte against a reference.

A refactor that must not change behaviour (issue 8, the config package) is checked by
synthesizing all stacks before it and after it:

    python bench/compare_bundles.py --write /tmp/bundles-before   # before the change
    python bench/compare_bundles.py --against /tmp/bundles-before # after it

Exit status 0 when every file of every stack is byte-identical, 1 when anything differs
(each differing, missing or extra file is listed), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import filecmp
import subprocess
import sys
import tempfile
from pathlib import Path

STACKS = ("dev", "staging", "prod", "airgap", "onprem")
PROJECT = Path(__file__).resolve().parent.parent


def synth_all(out: Path, stacks: tuple[str, ...] = STACKS) -> None:
    """Run ``airlock synth <stack> --out <out>/<stack>`` for each stack (the real CLI)."""
    for stack in stacks:
        result = subprocess.run(
            [sys.executable, "-c", "from airlock.cli import main; main()", "synth", stack,
             "--out", str(out / stack), "--project", str(PROJECT)],
            capture_output=True, text=True, cwd=PROJECT,
        )
        if result.returncode != 0:
            raise SystemExit(f"airlock synth {stack} failed ({result.returncode}):\n{result.stdout}{result.stderr}")


def differences(reference: Path, candidate: Path) -> list[str]:
    """Every file that differs, is missing or is extra, relative to the bundle root."""
    found: list[str] = []
    ref_files = {p.relative_to(reference) for p in reference.rglob("*") if p.is_file()}
    new_files = {p.relative_to(candidate) for p in candidate.rglob("*") if p.is_file()}
    found += [f"missing: {p}" for p in sorted(ref_files - new_files)]
    found += [f"extra:   {p}" for p in sorted(new_files - ref_files)]
    for rel in sorted(ref_files & new_files):
        if not filecmp.cmp(reference / rel, candidate / rel, shallow=False):
            found.append(f"differs: {rel}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", type=Path, help="synthesize every stack into this directory (the reference)")
    group.add_argument("--against", type=Path, help="synthesize into a temp dir and compare with this reference")
    args = parser.parse_args(argv)
    if args.write:
        synth_all(args.write)
        print(f"wrote {sum(1 for p in args.write.rglob('*') if p.is_file())} files for {', '.join(STACKS)} to {args.write}")
        return 0
    reference: Path = args.against
    if not all((reference / stack).is_dir() for stack in STACKS):
        parser.error(f"{reference} has no bundle for every stack ({', '.join(STACKS)}); make one with --write")
    with tempfile.TemporaryDirectory(prefix="airlock-bundles-") as tmp:
        synth_all(Path(tmp))
        found = differences(reference, Path(tmp))
        total = sum(1 for p in reference.rglob("*") if p.is_file())
    for line in found:
        print(line)
    verdict = "IDENTICAL" if not found else f"{len(found)} DIFFERENCE(S)"
    print(f"{verdict}: {total} reference files across {len(STACKS)} stacks ({', '.join(STACKS)})")
    return 0 if not found else 1


if __name__ == "__main__":
    sys.exit(main())
