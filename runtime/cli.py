"""`airlock-runtime`: run, resume and control agent tasks in embedded mode.

Exit status: 0 when the command did what was asked (for run/resume: the task reached
one of succeeded, failed, budget_exceeded, waiting_approval, killed); 1 from
`audit verify` when the chain is broken, and for internal faults; 2 for bad input
(spec, arguments, unknown ids, environment), always with one message and no traceback.

argparse rather than typer: exit codes and error text stay entirely under our control,
and it imports in a millisecond.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runtime.contract import STORE_ENV
from runtime.errors import BadInput, UnknownTask
from runtime.sandbox_flags import add_isolation_argument

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's own exit code is 2 already; keep the text short
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def _identifier(text: str) -> str:
    """Task and approval ids: an empty one (an unset shell variable) is bad input, never "all"."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty (an unset shell variable?)")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="airlock-runtime", description="Airlock agent runtime (embedded mode).")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")

    def state(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--state", metavar="DIR", help="state directory (SQLite + audit log); not needed when AIRLOCK_STORE is set"
        )

    def as_json(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="print one JSON object as the last line")

    run = sub.add_parser("run", help="start a task")
    run.add_argument("--agent", required=True, metavar="SPEC", help="agent spec YAML")
    run.add_argument("--task", required=True, metavar="TEXT", help="what the agent should do")
    state(run)
    as_json(run)
    add_isolation_argument(run)

    resume = sub.add_parser("resume", help="continue a task from its last checkpoint")
    resume.add_argument("task_id", metavar="TASK_ID", type=_identifier)
    state(resume)
    as_json(resume)
    add_isolation_argument(resume)

    status = sub.add_parser("status", help="show a task's state without running it")
    status.add_argument("task_id", metavar="TASK_ID", type=_identifier)
    state(status)
    as_json(status)

    appr = sub.add_parser("approvals", help="list and decide pending approvals")
    appr_sub = appr.add_subparsers(dest="approvals_command", required=True, parser_class=_Parser, metavar="ACTION")
    lst = appr_sub.add_parser("list", help="list pending approvals")
    state(lst)
    as_json(lst)
    lst.add_argument("--all", action="store_true", help="include decided approvals")
    dec = appr_sub.add_parser("decide", help="approve or deny a pending approval")
    dec.add_argument("approval_id", metavar="APPROVAL_ID", type=_identifier)
    dec.add_argument("decision", choices=["approve", "deny"])
    state(dec)
    dec.add_argument("--reason", metavar="TEXT", help="why (shown to the model on deny, kept in the audit log)")
    as_json(dec)

    aud = sub.add_parser("audit", help="audit log tools")
    aud_sub = aud.add_subparsers(dest="audit_command", required=True, parser_class=_Parser, metavar="ACTION")
    ver = aud_sub.add_parser("verify", help="verify the audit hash chain")
    state(ver)
    as_json(ver)

    kill = sub.add_parser("kill", help="stop one task, or every task, at the next step boundary")
    kill.add_argument("task_id", nargs="?", metavar="TASK_ID", type=_identifier, help="omit to stop every task and block new steps")
    state(kill)
    kill.add_argument("--clear", action="store_true", help="clear the kill switch for all tasks")
    as_json(kill)

    from runtime.service.server import add_serve_arguments, add_token_arguments

    add_serve_arguments(sub.add_parser("serve", help="run the HTTP service: API, workers, approvals page"))
    token = sub.add_parser("token", help="API tokens for `serve`")
    token_sub = token.add_subparsers(dest="token_command", required=True, parser_class=_Parser, metavar="ACTION")
    add_token_arguments(token_sub.add_parser("create", help="print a new token once and append its hash to a file"))
    return parser


class _Output:
    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.redact = lambda text: text

    def say(self, text: str) -> None:
        if not self.as_json:
            print(self.redact(text))

    def progress(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def result(self, obj: dict[str, Any]) -> None:
        if self.as_json:
            print(json.dumps(obj, ensure_ascii=False))


def _who(env_var: str) -> str:
    """Who is acting, for the audit log: an explicit name, else the OS user."""
    name = os.environ.get(env_var)
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # containers often run as a UID without a passwd entry
        return f"uid:{os.getuid()}"


def _outcome_text(outcome: Any, state_dir: str) -> str:
    lines = [f"task {outcome.task_id}: {outcome.status}", f"agent version: {outcome.agent_version}"]
    if outcome.output is not None:
        lines.append(f"output: {outcome.output}")
    if outcome.error:
        lines.append(f"error: {outcome.error}")
    u = outcome.usage
    lines.append(
        f"usage: {u.steps} steps, {u.model_calls} model calls, {u.input_tokens} input tokens, "
        f"{u.output_tokens} output tokens, ${u.cost_usd:.6f}"
    )
    if outcome.pending_approval:
        a = outcome.pending_approval
        lines.append(
            f"pending approval {a['id']}: {a['tool']} {json.dumps(a['arguments'], ensure_ascii=False)} ({a['reason']})"
        )
        lines.append(f"  decide:   airlock-runtime approvals decide {a['id']} approve|deny --state {state_dir}")
        lines.append(f"  continue: airlock-runtime resume {outcome.task_id} --state {state_dir}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- commands


def _cmd_run(args: argparse.Namespace, out: _Output) -> int:
    from runtime.agent import load_agent
    from runtime.sandbox_tool import local_sandboxes
    from runtime.spec import load_spec_file

    if not args.task.strip():
        raise BadInput("--task: must not be empty; say what the agent should do")
    loaded = load_spec_file(args.agent)
    with local_sandboxes(loaded.spec.tools, args.sandbox_isolation) as sandboxes:
        agent = load_agent(loaded, sandboxes=sandboxes)  # before touching --state: bad input leaves nothing behind
        out.redact = agent.redactor.text
        return _run_segment(args, out, agent, lambda runner: runner.start(args.task))


def _cmd_resume(args: argparse.Namespace, out: _Output) -> int:
    from runtime import approvals
    from runtime.agent import load_agent
    from runtime.loop import stored_outcome
    from runtime.sandbox_tool import local_sandboxes
    from runtime.spec import parse_spec
    from runtime.store import FINAL, WAITING_APPROVAL

    store = _store_for(args, create=False)
    try:
        task = store.get_task(args.task_id)
        if task is None:
            raise UnknownTask(args.task_id)
        pending = approvals.pending_for_task(store, task.id) if task.status == WAITING_APPROVAL else None
        # Waiting with its webhook notification done: nothing to do. (Not yet notified: the
        # runner re-sends it, so it needs the agent loaded.)
        idle = task.status in FINAL or (pending is not None and pending.notify_status is not None)
        if idle:  # nothing to run: report without loading tools or secrets
            outcome = stored_outcome(store, task.id)
            out.say(_outcome_text(outcome, args.state))
            out.result(outcome.to_json())
            return EXIT_OK
        loaded = parse_spec(
            task.spec_text,
            source=f"(spec stored with task {task.id}, from {task.spec_path or 'text'})",
            base_dir=Path(task.spec_dir),
            path=Path(task.spec_path) if task.spec_path else None,
        )
    finally:
        store.close()
    with local_sandboxes(loaded.spec.tools, args.sandbox_isolation) as sandboxes:
        agent = load_agent(loaded, sandboxes=sandboxes)
        out.redact = agent.redactor.text
        return _run_segment(args, out, agent, lambda runner: runner.resume(args.task_id))


def _run_segment(args: argparse.Namespace, out: _Output, agent: Any, go: Any) -> int:
    from runtime.loop import Runner
    from runtime.telemetry import configure

    from runtime.terminal import redacted_terminal

    store = _store_for(args, create=True)
    audit = store.open_audit()
    # Values given to earlier runs (since rotated) stay redacted.
    agent.redactor.retire(store.secret_history().remember(agent.redactor.values))
    telemetry = configure(agent.spec.telemetry)
    try:
        with redacted_terminal(agent.redactor.text):  # tools' print, stderr and logging too
            runner = Runner(agent, store, audit, telemetry, progress=None if out.as_json else out.progress)
            outcome = go(runner)
    finally:
        telemetry.shutdown()
        agent.close()
        audit.close()
        store.close()
    out.say(_outcome_text(outcome, args.state))
    out.result(outcome.to_json())
    return EXIT_OK


def _cmd_status(args: argparse.Namespace, out: _Output) -> int:
    from runtime.loop import stored_outcome

    store = _store_for(args, create=False)
    try:
        outcome = stored_outcome(store, args.task_id)
    finally:
        store.close()
    out.say(_outcome_text(outcome, args.state))
    out.result(outcome.to_json())
    return EXIT_OK


def _cmd_approvals(args: argparse.Namespace, out: _Output) -> int:
    from runtime import approvals

    store = _store_for(args, create=False)
    try:
        if args.approvals_command == "list":
            records = approvals.list_approvals(store, include_decided=args.all)
            if not records:
                out.say("no pending approvals" if not args.all else "no approvals")
            for r in records:
                req = r.request
                out.say(
                    f"{req.id}  {r.status:8}  task {req.task_id}  tool {req.tool} "
                    f"{json.dumps(req.arguments, ensure_ascii=False)}  ({req.reason}; notify: {r.notify_status})"
                )
            out.result({"approvals": [r.to_json() for r in records]})
            return EXIT_OK
        from runtime.redact import placeholder

        by = _who("AIRLOCK_APPROVER")
        if args.reason:  # a pasted secret must not reach the audit log, the state or the model
            args.reason = store.secret_history().known().redact(args.reason, placeholder)
        audit = store.open_audit()  # before deciding: the decision and its record go together
        try:
            record = approvals.decide(
                store, args.approval_id, approve=args.decision == "approve", by=by, reason=args.reason, audit=audit
            )
        finally:
            audit.close()
        out.say(f"approval {record.id} {record.status} by {by}")
        out.say(f"continue the task with: airlock-runtime resume {record.request.task_id} --state {args.state}")
        out.result(record.to_json())
        return EXIT_OK
    finally:
        store.close()


def _cmd_audit(args: argparse.Namespace, out: _Output) -> int:
    from runtime.audit import verify
    from runtime.store import DB_NAME, Store

    if os.environ.get(STORE_ENV, "").strip():
        store = _store_for(args, create=False)
        try:
            result = store.verify_audit()
        finally:
            store.close()
        return _print_verify(result, out)
    state_dir = Path(_state_arg(args))
    audit_dir = state_dir / "audit"
    if not (state_dir / DB_NAME).exists() and not audit_dir.exists():
        raise BadInput(f"--state: {args.state!r} holds no Airlock state (no {DB_NAME}, no audit/)")
    head = None
    if (state_dir / DB_NAME).exists():
        store = Store(state_dir, create=False)
        try:
            head = store.audit_head()
        finally:
            store.close()
    return _print_verify(verify(audit_dir, head), out)


def _print_verify(result: Any, out: _Output) -> int:
    if out.as_json:
        out.result(
            {
                "ok": result.ok,
                "records": result.records,
                "message": result.message,
                "line": result.bad_line,
                "seq": result.bad_seq,
            }
        )
    else:
        print(result.message, file=sys.stdout if result.ok else sys.stderr)
    return EXIT_OK if result.ok else 1


def _cmd_kill(args: argparse.Namespace, out: _Output) -> int:
    from runtime.loop import kill_message
    from runtime.store import FAILED, FINAL, KILLED, RUNNING, WAITING_APPROVAL, now_iso, owner_alive
    from runtime.store_api import AuditedAction

    store = _store_for(args, create=False)
    audit = store.open_audit()
    by = _who("AIRLOCK_OPERATOR")
    try:
        if args.clear:
            if args.task_id is not None:
                raise BadInput(
                    f"kill --clear takes no TASK_ID (got {args.task_id!r}); it clears the switch for all tasks. "
                    "A killed task continues with `airlock-runtime resume TASK_ID`"
                )
            cleared = store.global_kill() is not None
            if cleared:
                store.clear_global_kill(audited=AuditedAction(audit, "kill_switch_cleared", {"by": by}))
            out.say(
                "kill switch cleared; killed tasks stay killed until resumed"
                if cleared
                else "kill switch was not engaged"
            )
            out.result({"kill_switch": "cleared" if cleared else "not engaged"})
            return EXIT_OK

        def stop_idle(task: Any, global_info: dict[str, Any] | None) -> None:
            record = {"by": by, "from_status": task.status}
            store.set_status(
                task.id, KILLED, error=kill_message(task.id, global_info, args.state),
                audited=AuditedAction(audit, "task_killed", record, task_id=task.id, agent_version=task.agent_version),
            )

        if args.task_id is not None:
            if not args.task_id.strip():
                raise BadInput(
                    "TASK_ID: must not be empty (an unset shell variable?); omit it to stop every task"
                )
            task = store.get_task(args.task_id)
            if task is None:
                raise UnknownTask(args.task_id)
            if task.status in FINAL or task.status in (FAILED, KILLED):
                result = f"already {task.status}"
            elif task.status == RUNNING and owner_alive(task.owner):
                store.request_kill(
                    task.id, audited=AuditedAction(audit, "kill_requested", {"by": by}, task_id=task.id, agent_version=task.agent_version)
                )
                result = "stopping at the next step boundary"
            else:
                stop_idle(task, None)
                result = "killed"
            out.say(f"task {task.id}: {result}")
            out.result({"task_id": task.id, "result": result})
            return EXIT_OK

        info = {"engaged_at": now_iso(), "by": by}
        store.engage_global_kill(info, audited=AuditedAction(audit, "kill_switch_engaged", info))
        stopping, killed = [], []
        for task in store.list_tasks():
            if task.status == RUNNING and owner_alive(task.owner):
                stopping.append(task.id)
            elif task.status in (RUNNING, WAITING_APPROVAL):
                stop_idle(task, info)
                killed.append(task.id)
        out.say(
            f"kill switch engaged: {len(stopping)} running task(s) stop at their next step boundary, "
            f"{len(killed)} idle task(s) killed; no step starts until `airlock-runtime kill --state {args.state} --clear`"
        )
        out.result({"kill_switch": "engaged", "stopping": stopping, "killed": killed})
        return EXIT_OK
    finally:
        audit.close()
        store.close()




def _state_arg(args: argparse.Namespace) -> str:
    if not args.state:
        raise BadInput(f"--state: required (or set {STORE_ENV}, e.g. postgresql://USER@HOST/DB)")
    return str(args.state)


def _store_for(args: argparse.Namespace, *, create: bool) -> Any:
    """The store ``AIRLOCK_STORE`` names, else the SQLite one in ``--state``."""
    url = os.environ.get(STORE_ENV, "").strip()
    if url:
        from runtime.store_api import open_store

        if not args.state:
            args.state = url  # messages name the store the way the user can pass it back
        return open_store(url, create=create)
    from runtime.store import Store

    return Store(Path(_state_arg(args)), create=create)


STORE_COMMANDS = frozenset({"run", "resume", "status", "approvals", "audit", "kill"})

COMMANDS = {
    "run": _cmd_run,
    "resume": _cmd_resume,
    "status": _cmd_status,
    "approvals": _cmd_approvals,
    "audit": _cmd_audit,
    "kill": _cmd_kill,
    "serve": lambda args, out: _service_command("cmd_serve", args),
    "token": lambda args, out: _service_command("cmd_token_create", args),
}


def _service_command(name: str, args: argparse.Namespace) -> int:
    from runtime.service import server

    return int(getattr(server, name)(args))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = _Output(getattr(args, "json", False))
    try:
        if args.command in STORE_COMMANDS and not os.environ.get(STORE_ENV, "").strip():
            _state_arg(args)  # no store named: say so before loading anything
        return COMMANDS[args.command](args, out)
    except BadInput as exc:
        message = out.redact(str(exc))
        print(f"airlock-runtime: error: {message}", file=sys.stderr)
        out.result({"error": message, "exit_code": EXIT_BAD_INPUT})
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("airlock-runtime: interrupted; continue with `airlock-runtime resume`", file=sys.stderr)
        return 130
    except Exception as exc:
        message = out.redact(f"{type(exc).__name__}: {exc}")
        print(f"airlock-runtime: internal error: {message}", file=sys.stderr)
        if os.environ.get("AIRLOCK_DEBUG"):
            print(out.redact(traceback.format_exc()), file=sys.stderr)
        else:
            print("airlock-runtime: set AIRLOCK_DEBUG=1 for the traceback", file=sys.stderr)
        out.result({"error": message, "exit_code": EXIT_INTERNAL})
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
