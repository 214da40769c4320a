"""Store overhead: what each state store costs per step, and PostgreSQL against LangGraph's PostgresSaver.

The task: N steps, each a model turn that calls one tool, then a final answer; the model's
text and the tool's result are PAYLOAD characters each. The model is scripted in-process
(zero latency, no HTTP), so what is measured is orchestration plus persistence:

- Airlock, ``runtime.loop.Runner`` on each store backend (``open_store``): SQLite in a temp
  directory; PostgreSQL (a server this bench starts, fsync on, like production); and, when
  ``runtime.store_aws`` is in the tree, ``aws:`` against moto's server in its own process.
  moto is not AWS: its figures are this code path's overhead only (request building, boto3,
  moto's in-memory emulation over loopback HTTP), not DynamoDB/SQS/S3 latency.
  Per step the runner persists: a checkpoint with the model's response and the ledger
  intent, write-ahead audit records (model call, policy decision, tool call, tool result)
  and a checkpoint with the tool result and the ledger result, each committed before the
  next action.
- LangGraph, on the same PostgreSQL server: a ``StateGraph(MessagesState)`` with an agent
  node and the prebuilt ``ToolNode``, compiled with ``PostgresSaver``
  (langgraph-checkpoint-postgres), run with ``durability="sync"`` (each checkpoint written
  before the next step, the guarantee Airlock's ledger needs) and, for reference, with its
  default ``durability="async"`` (writes overlap the next step).

Reported per store: ``step`` = the time between consecutive model calls (one whole step:
orchestration and every write); ``persist`` = the time spent in the store's write calls
during it (Airlock: ``checkpoint`` and the audit ``append``, the latter also alone as
``audit``; LangGraph: ``put`` and ``put_writes``, which LangGraph may run on its background
executor, so they can overlap and add up to more than the step), median and p95 over every
step of TASKS sequential tasks; ``tasks_per_s`` with one worker (sequential) and with
WORKERS threads, each with its own connection. For PostgreSQL, ratios Airlock /
LangGraph-sync. The contenders take turns in ROUNDS interleaved rounds, so the machine's
drifting load hits all alike. Setup (servers, schemas, loading the agent) is outside the
timed regions; one untimed warm-up task per contender.

    python bench/store_overhead.py [--steps 20] [--tasks 30] [--workers 4] [--rounds 3] [--payload 512] [--json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing
# The PostgreSQL server and the AWS resources are started exactly as the tests start them
# (one source for how: tests/runtime/pg_server.py and aws_moto.py; they import nothing of tests').
sys.path.insert(1, str(ROOT / "tests" / "runtime"))

AWS_AVAILABLE = importlib.util.find_spec("runtime.store_aws") is not None
MOTO_NOTE = "moto, not AWS: code-path overhead only"


def fetch_record(record_id: int) -> str:
    """Fetch a record.

    Args:
        record_id: The record number.
    """
    return _payload(f"record {record_id}: ", PAYLOAD_CHARS)


PAYLOAD_CHARS = 512  # set from --payload before anything runs


def _payload(prefix: str, size: int) -> str:
    return (prefix + "x" * size)[:size]


# --------------------------------------------------------------------------- timing


@dataclass
class Timings:
    """Step boundaries (model calls) and time spent in the store's write calls, per task."""

    steps: list[float] = field(default_factory=list)  # whole-step durations
    persist: list[float] = field(default_factory=list)  # write time per step
    audit: list[float] = field(default_factory=list)  # the part of it in audit appends (Airlock)
    _last_call: float | None = None
    _pending_write: float = 0.0
    _pending_audit: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def model_called(self) -> None:
        now = time.perf_counter()
        with self._lock:
            if self._last_call is not None:  # the first call of a task starts its first step
                self.steps.append(now - self._last_call)
                self.persist.append(self._pending_write)
                self.audit.append(self._pending_audit)
            self._last_call = now
            self._pending_write = self._pending_audit = 0.0

    def reset(self) -> None:
        with self._lock:
            self.steps.clear()
            self.persist.clear()
            self.audit.clear()

    def task_ended(self) -> None:
        with self._lock:
            self._last_call = None
            self._pending_write = self._pending_audit = 0.0

    def wrote(self, seconds: float, *, audit: bool) -> None:
        with self._lock:
            self._pending_write += seconds
            if audit:
                self._pending_audit += seconds

    def wrap(self, fn: Callable[..., Any], *, audit: bool = False) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.wrote(time.perf_counter() - start, audit=audit)

        return timed


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def ms(value: float) -> float:
    return round(value * 1000, 3)


# --------------------------------------------------------------------------- Airlock


class ScriptedClient:
    """An in-process model: a tool call per turn until `steps`, then a final answer."""

    route_name = "default"
    provider_name = "vllm"
    model = "scripted"
    server_address = None
    server_port = None

    def __init__(self, steps: int, timings: Timings | None) -> None:
        self.steps = steps
        self.timings = timings

    def complete(self, request: Any) -> Any:
        from runtime.models.base import ModelResponse, RequestUsage, ToolCall

        if self.timings is not None:
            self.timings.model_called()
        turn = sum(1 for m in request.messages if m["role"] == "assistant")
        text = _payload(f"turn {turn}: ", PAYLOAD_CHARS)
        if turn < self.steps:
            call = ToolCall(id=f"call_{turn}", name="fetch_record", arguments=json.dumps({"record_id": turn}))
            return ModelResponse(text=text, tool_calls=(call,), usage=RequestUsage(100, 20), finish_reason="tool_calls")
        return ModelResponse(text=text, tool_calls=(), usage=RequestUsage(100, 20), finish_reason="stop")

    def close(self) -> None:
        pass


SPEC = """
name: bench
instructions: Fetch the records.
models:
  default: {{provider: openai, baseUrl: "http://localhost:1/v1", model: scripted}}
tools:
  - {{name: fetch_record, kind: python, target: "store_overhead:fetch_record", policy: allow}}
budgets: {{maxSteps: {max_steps}}}
"""


class AirlockWorker:
    """One runner's store, audit log and agent (a worker thread's own connections)."""

    def __init__(self, url: str, steps: int, timings: Timings | None) -> None:
        from runtime.agent import load_agent
        from runtime.router import Router
        from runtime.spec import parse_spec
        from runtime.store_api import open_store

        self.steps = steps
        self.timings = timings
        self.agent = load_agent(
            parse_spec(SPEC.format(max_steps=steps + 1), source="bench", base_dir=HERE),
            router=Router({"default": ScriptedClient(steps, timings)}),
        )
        self.store = open_store(url)
        self.audit = self.store.open_audit()
        if timings is not None:
            self.store.checkpoint = timings.wrap(self.store.checkpoint)  # type: ignore[method-assign]
            self.audit.append = timings.wrap(self.audit.append, audit=True)  # type: ignore[method-assign]

    def run_task(self) -> None:
        from runtime.loop import Runner

        outcome = Runner(self.agent, self.store, self.audit).start("Fetch the records.")  # type: ignore[arg-type]
        if self.timings is not None:
            self.timings.task_ended()
        assert outcome.status == "succeeded" and outcome.usage.model_calls == self.steps + 1, outcome

    def close(self) -> None:
        self.audit.close()
        self.store.close()


class AirlockContender:
    """The runner on one store: a timed sequential worker, and fresh workers for the threads."""

    def __init__(
        self, name: str, url: str, steps: int, note: str | None = None, prepare: Callable[[], None] | None = None
    ) -> None:
        self.name, self.url, self.steps, self.note = name, url, steps, note
        self.timings = Timings()
        self.sequential = AirlockWorker(url, steps, self.timings)
        self._prepare = prepare

    def prepare(self) -> None:
        if self._prepare is not None:
            self._prepare()

    def run_sequential(self) -> None:
        self.sequential.run_task()

    def make_worker(self) -> Worker:
        return AirlockWorker(self.url, self.steps, None)

    def close(self) -> None:
        self.sequential.close()


# --------------------------------------------------------------------------- LangGraph


def langgraph_app(steps: int, saver: Any, timings: Timings | None) -> Any:
    from langchain_core.messages import AIMessage
    from langchain_core.tools import tool
    from langgraph.graph import START, MessagesState, StateGraph
    from langgraph.prebuilt import ToolNode, tools_condition

    fetch = tool(fetch_record)

    def agent(state: MessagesState) -> dict[str, Any]:
        if timings is not None:
            timings.model_called()
        turn = sum(1 for m in state["messages"] if isinstance(m, AIMessage))
        text = _payload(f"turn {turn}: ", PAYLOAD_CHARS)
        usage = {"input_tokens": 100, "output_tokens": 20, "total_tokens": 120}
        if turn < steps:
            call = {"name": "fetch_record", "args": {"record_id": turn}, "id": f"call_{turn}", "type": "tool_call"}
            return {"messages": [AIMessage(content=text, tool_calls=[call], usage_metadata=usage)]}
        return {"messages": [AIMessage(content=text, usage_metadata=usage)]}

    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode([fetch]))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")
    return graph.compile(checkpointer=saver)


@dataclass
class GraphWorker:
    """The compiled graph is shared; the pool hands each invocation a connection."""

    run_task: Callable[[], None]

    def close(self) -> None:
        pass


class LangGraphContender:
    """The same task as a graph on PostgresSaver: one connection for the timed sequential runs, a
    pool for the threads (LangGraph's documented setup: autocommit, dict rows, no prepares)."""

    def __init__(self, conninfo: str, steps: int, durability: str) -> None:
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg import Connection
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        self.name = f"langgraph_postgres_{durability}"
        self.note: str | None = None
        self.steps, self.durability = steps, durability
        self.timings = Timings()
        self._ids = iter(range(10**9))
        self._ids_lock = threading.Lock()
        kwargs: dict[str, Any] = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
        self._conn = Connection.connect(conninfo, **kwargs)
        self.saver = PostgresSaver(self._conn)
        self.saver.setup()
        self.saver.put = self.timings.wrap(self.saver.put)  # type: ignore[method-assign]
        self.saver.put_writes = self.timings.wrap(self.saver.put_writes)  # type: ignore[method-assign]
        self._app = langgraph_app(steps, self.saver, self.timings)
        self._pool = ConnectionPool(conninfo, min_size=1, max_size=8, kwargs=kwargs, open=True)
        self._pool_app = langgraph_app(steps, PostgresSaver(self._pool), None)  # type: ignore[arg-type]
        self._last: dict[str, Any] | None = None

    def _invoke(self, app: Any, timings: Timings | None) -> None:
        from langchain_core.messages import HumanMessage

        with self._ids_lock:
            config: dict[str, Any] = {
                "configurable": {"thread_id": f"{self.durability}-{next(self._ids)}"},
                "recursion_limit": 2 * self.steps + 10,
            }
        result = app.invoke({"messages": [HumanMessage("Fetch the records.")]}, config, durability=self.durability)
        if timings is not None:
            timings.task_ended()
            self._last = config
        assert len(result["messages"]) == 2 * self.steps + 2, len(result["messages"])

    def prepare(self) -> None:
        return None  # PostgreSQL's cost does not grow with what is stored at this size

    def run_sequential(self) -> None:
        self._invoke(self._app, self.timings)

    def make_worker(self) -> Worker:
        return GraphWorker(lambda: self._invoke(self._pool_app, None))

    def close(self) -> None:
        try:  # it did persist: the last task's checkpoint is there to read back
            assert self._last is None or self.saver.get_tuple(self._last) is not None, "PostgresSaver kept no checkpoint"
        finally:
            self._pool.close()
            self._conn.close()


# --------------------------------------------------------------------------- shared


class Worker(Protocol):
    def run_task(self) -> None: ...
    def close(self) -> None: ...


class Contender(Protocol):
    name: str
    note: str | None
    timings: Timings

    def prepare(self) -> None: ...  # untimed, before each task (sequential) and each batch (threads)
    def run_sequential(self) -> None: ...
    def make_worker(self) -> Worker: ...
    def close(self) -> None: ...


def run_threads(make: Callable[[], Worker], count: int, tasks: int) -> float:
    """Run `tasks` tasks on `count` threads, each with its own worker (made in that thread: SQLite
    connections stay in theirs); seconds from all workers ready to the last task done."""
    remaining = iter(range(tasks))
    lock = threading.Lock()
    ready = threading.Barrier(count + 1)
    errors: list[BaseException] = []

    def loop() -> None:
        try:
            worker = make()
        except BaseException as exc:
            errors.append(exc)
            ready.abort()
            return
        try:
            ready.wait()
            while True:
                with lock:
                    if next(remaining, None) is None:
                        return
                worker.run_task()
        except BaseException as exc:  # reported below: a failed task must fail the bench
            errors.append(exc)
        finally:
            worker.close()

    threads = [threading.Thread(target=loop) for _ in range(count)]
    for t in threads:
        t.start()
    try:
        ready.wait()
    except threading.BrokenBarrierError:
        pass
    start = time.perf_counter()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - start


def batches(tasks: int, rounds: int) -> list[int]:
    rounds = max(1, min(rounds, tasks))
    return [tasks // rounds + (1 if i < tasks % rounds else 0) for i in range(rounds)]


def measure(contenders: list[Contender], args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Interleaved rounds, so drifting machine load hits every contender alike. A contender whose
    task fails is reported with its error (and dropped from later rounds), never silently."""
    failed: dict[str, str] = {}

    def attempt(c: Contender, work: Callable[[], float]) -> float:
        if c.name in failed:
            return 0.0
        try:
            return work()
        except Exception as exc:
            failed[c.name] = f"{type(exc).__name__}: {exc}"
            return 0.0

    def sequential_batch(c: Contender, batch: int) -> float:
        spent = 0.0
        for _ in range(batch):
            c.prepare()
            start = time.perf_counter()
            c.run_sequential()
            spent += time.perf_counter() - start
        return spent

    def thread_batch(c: Contender, batch: int) -> float:
        c.prepare()
        return run_threads(c.make_worker, args.workers, batch)

    for c in contenders:  # untimed warm-up: imports, first statements, schema caches
        attempt(c, lambda: sequential_batch(c, 1))
        c.timings.reset()
    sequential = {c.name: 0.0 for c in contenders}
    concurrent = {c.name: 0.0 for c in contenders}
    for batch in batches(args.tasks, args.rounds):
        for c in contenders:
            sequential[c.name] += attempt(c, lambda: sequential_batch(c, batch))
    for batch in batches(args.tasks, args.rounds):
        for c in contenders:
            concurrent[c.name] += attempt(c, lambda: thread_batch(c, batch))
    return {
        c.name: {"failed": failed[c.name]} if c.name in failed else summarize(c, args.tasks, sequential[c.name], concurrent[c.name])
        for c in contenders
    }


def summarize(c: Contender, tasks: int, sequential: float, concurrent: float) -> dict[str, Any]:
    timings = c.timings
    # LangGraph's async durability writes while the next steps run: no per-step write time to attribute.
    overlapped = getattr(c, "durability", "sync") == "async"
    figures: dict[str, Any] = {
        "step_median_ms": ms(statistics.median(timings.steps)),
        "step_p95_ms": ms(p95(timings.steps)),
        "persist_median_ms": None if overlapped else ms(statistics.median(timings.persist)),
        "persist_p95_ms": None if overlapped else ms(p95(timings.persist)),
        "steps_measured": len(timings.steps),
        "tasks_per_s_1_worker": round(tasks / sequential, 3),
        "tasks_per_s_workers": round(tasks / concurrent, 3),
    }
    if any(timings.audit):  # Airlock: how much of the write time is the write-ahead audit records
        figures["persist_audit_median_ms"] = ms(statistics.median(timings.audit))
    if c.note:
        figures["note"] = c.note
    return figures


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def env_set(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def postgres() -> Iterator[Any]:
    import pg_server

    server = pg_server.start(durable=True)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.app_password_file.parent, ignore_errors=True)


def clear_finished_tasks(moto_url: str, table: str) -> None:
    """Delete the finished tasks' items from moto's table (untimed, between tasks).

    moto deep-copies the whole table for every item of a TransactWriteItems (its rollback), so
    in moto a step's time, and the server's memory, grow with everything stored before: 20
    tasks of 20 steps made a step 6x slower, and 60 took the server past 24 GB. AWS has no
    such cost. With the table cleared, every task meets the same small table and the figure
    is the runtime's code path again. The audit head and records stay: the chain goes on.
    """
    import aws_moto

    dynamodb = aws_moto.client(moto_url, "dynamodb")
    keys = [
        item_key
        for page in dynamodb.get_paginator("scan").paginate(TableName=table, ProjectionExpression="pk, sk")
        for item_key in page["Items"]
        if item_key["pk"]["S"] == "tasks" or item_key["pk"]["S"].startswith("task#")
    ]
    for start in range(0, len(keys), 25):
        dynamodb.batch_write_item(RequestItems={table: [{"DeleteRequest": {"Key": k}} for k in keys[start:start + 25]]})


@contextmanager
def moto_process(work: Path) -> Iterator[str]:
    """moto's server in its own process (not sharing this one's GIL with the runner)."""
    import httpx

    port = free_port()
    log = open(work / "moto.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url + "/moto-api/", timeout=2)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto's server did not start: " + (work / "moto.log").read_text()[-2000:]) from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a busy werkzeug server may sit on SIGTERM
            proc.kill()
            proc.wait()
        log.close()


def run_all(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    with ExitStack() as stack:
        pg = stack.enter_context(postgres())
        airlock_db, peer_db = pg.new_database(), pg.new_database().rsplit("/", 1)[1]
        env = dict(pg.env(airlock_db))
        if AWS_AVAILABLE:
            import aws_moto

            moto_url = stack.enter_context(moto_process(work))
            env.update(aws_moto.create_resources(moto_url, moto_url, prefix="bench").env)
        env.pop("AIRLOCK_STORE", None)  # each contender names its store explicitly
        stack.enter_context(env_set(env))
        contenders: list[Contender] = [
            AirlockContender("sqlite", f"sqlite:///{work / 'sqlite'}", args.steps),
            AirlockContender("postgresql", airlock_db, args.steps),
        ]
        if AWS_AVAILABLE:
            contenders.append(AirlockContender("aws_moto", "aws:", args.steps, note=MOTO_NOTE,
                                               prepare=lambda: clear_finished_tasks(moto_url, env["AIRLOCK_CHECKPOINT_TABLE"])))
        conninfo = f"host=127.0.0.1 port={pg.port} dbname={peer_db} user=airlock password={pg.app_password}"
        contenders += [LangGraphContender(conninfo, args.steps, "sync"), LangGraphContender(conninfo, args.steps, "async")]
        for c in contenders:
            stack.callback(c.close)
        figures = measure(contenders, args)
    stores = {name: f for name, f in figures.items() if not name.startswith("langgraph")}
    if not AWS_AVAILABLE:
        stores["aws_moto"] = {"skipped": "runtime.store_aws is not in this tree"}
    peers = {name: f for name, f in figures.items() if name.startswith("langgraph")}
    a, lg = stores["postgresql"], peers["langgraph_postgres_sync"]
    ratio = None if "failed" in a or "failed" in lg else {
        "step_median": round(a["step_median_ms"] / lg["step_median_ms"], 3),
        "persist_median": round(a["persist_median_ms"] / lg["persist_median_ms"], 3),
        "tasks_per_s_1_worker": round(a["tasks_per_s_1_worker"] / lg["tasks_per_s_1_worker"], 3),
        "tasks_per_s_workers": round(a["tasks_per_s_workers"] / lg["tasks_per_s_workers"], 3),
    }
    return {
        "steps": args.steps,
        "tasks": args.tasks,
        "workers": args.workers,
        "rounds": len(batches(args.tasks, args.rounds)),
        "payload_chars": args.payload,
        "stores": stores,
        "peers": peers,
        "ratio_postgresql_airlock_over_langgraph_sync": ratio,
        "cpus": os.cpu_count(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def print_table(result: dict[str, Any]) -> None:
    print(
        f"{result['steps']}-step tool-calling task, {result['payload_chars']}-char messages, zero model latency; "
        f"{result['tasks']} tasks sequential and on {result['workers']} threads"
    )
    print(f"{'':28} {'step ms':>15} {'persist ms':>15} {'audit ms':>8} {'tasks/s':>9} {'tasks/s':>9}")
    print(
        f"{'':28} {'median':>7} {'p95':>7} {'median':>7} {'p95':>7} {'median':>8} {'1 worker':>9}"
        f" {str(result['workers']) + ' thr':>9}"
    )
    rows = [(f"airlock {name}", r) for name, r in result["stores"].items()] + [
        (name.replace("_", " "), r) for name, r in result["peers"].items()
    ]
    for name, r in rows:
        if "skipped" in r or "failed" in r:
            print(f"{name:28} {'skipped' if 'skipped' in r else 'FAILED'}: {r.get('skipped') or r['failed']}")
            continue
        persist = "".join(f" {r[k]:7.2f}" if r[k] is not None else f" {'-':>7}" for k in ("persist_median_ms", "persist_p95_ms"))
        audit = f" {r['persist_audit_median_ms']:8.2f}" if "persist_audit_median_ms" in r else f" {'-':>8}"
        print(
            f"{name:28} {r['step_median_ms']:7.2f} {r['step_p95_ms']:7.2f}{persist}{audit}"
            f" {r['tasks_per_s_1_worker']:9.2f} {r['tasks_per_s_workers']:9.2f}"
        )
    ratio = result["ratio_postgresql_airlock_over_langgraph_sync"]
    if ratio is not None:
        print(
            "PostgreSQL, Airlock / LangGraph PostgresSaver (sync): "
            + ", ".join(f"{k} {v:.2f}x" for k, v in ratio.items())
        )
    if "note" in result["stores"].get("aws_moto", {}):
        print("aws_moto: moto's emulator, not AWS; the figures are the code path's overhead only")
    print(f"(load average {result['loadavg']}, {result['cpus']} CPUs)")


def main(argv: list[str] | None = None) -> int:
    global PAYLOAD_CHARS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--tasks", type=int, default=30)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--payload", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds the tasks are split into")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    PAYLOAD_CHARS = args.payload
    sys.modules.setdefault("store_overhead", sys.modules[__name__])  # the agent's tool target
    work = Path(tempfile.mkdtemp(prefix="airlock-store-bench-"))
    try:
        result = run_all(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result)
    contenders = {**result["stores"], **result["peers"]}
    return 1 if any("failed" in r for r in contenders.values()) else 0  # figures printed, failure not hidden


if __name__ == "__main__":
    sys.exit(main())
