"""Check vLLM server arguments with vLLM's own parser and engine-config validation, without
starting an engine (run with the vLLM venv's python; about 16 s of imports, so all models
are checked in one process).

stdin: JSON list of {"label": str, "argv": [arguments after "vllm serve"]}.
stdout: a line "FLAGCHECK <JSON list of {"label": str, "ok": bool, "error": str}, one per entry, same order>" (vLLM may log to stdout too).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import vllm_launcher  # noqa: E402,F401  (the version shim, before vLLM is imported)


def _parser():
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    try:
        from vllm.entrypoints.launchers.cli_args import make_arg_parser, validate_parsed_serve_args
    except ImportError:  # before 0.32
        from vllm.entrypoints.openai.cli_args import make_arg_parser, validate_parsed_serve_args
    return make_arg_parser(FlexibleArgumentParser(prog="vllm serve")), validate_parsed_serve_args


def tool_parsers() -> list[str]:
    from vllm.tool_parsers import ToolParserManager

    return sorted(ToolParserManager.list_registered())


def check(argv: list[str]) -> str:
    """'' when vLLM accepts the arguments, else vLLM's own message."""
    from vllm.engine.arg_utils import AsyncEngineArgs

    parser, validate = _parser()
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            args = parser.parse_args(argv)
    except SystemExit:
        return stderr.getvalue().strip().splitlines()[-1] if stderr.getvalue().strip() else "rejected by the parser"
    if getattr(args, "model_tag", None):  # what `vllm serve MODEL` does with its positional
        args.model = args.model_tag
    parser_name = getattr(args, "tool_call_parser", None)
    if parser_name and parser_name not in tool_parsers():  # the server checks this only at start-up
        return f"--tool-call-parser {parser_name!r} is not registered; registered: {', '.join(tool_parsers())}"
    try:
        validate(args)
        AsyncEngineArgs.from_cli_args(args).create_engine_config()
    except Exception as error:  # vLLM raises ValueError, TypeError, KeyError, pydantic errors...
        text = " ".join(line.strip() for line in f"{type(error).__name__}: {error}".splitlines() if line.strip())
        return text[:600]
    return ""


def main() -> None:
    if sys.argv[1:] == ["--tool-parsers"]:
        print("FLAGCHECK " + json.dumps(tool_parsers()))
        return
    entries = json.load(sys.stdin)
    results = []
    for entry in entries:
        error = check(entry["argv"])
        results.append({"label": entry["label"], "ok": not error, "error": error})
    print("FLAGCHECK " + json.dumps(results))


if __name__ == "__main__":
    main()
