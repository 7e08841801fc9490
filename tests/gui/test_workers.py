"""The one background mechanism (issue 23, 4): superqt's workers with latest-per-channel on top.

The policy: a newer request on a channel supersedes an older one that has not
started, and the answer of superseded or cancelled work is dropped, whether it was
waiting or already running. The runner runs one task at a time on one thread; the
loader starts each read at once. gui/ reaches into no private attribute of superqt
or pyqtgraph (an AST walk over gui/, checked to find the two it used to).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import threading
import warnings
from pathlib import Path

import pytest

GUI = Path(__file__).resolve().parents[2] / "gui"
FOREIGN = ("superqt", "pyqtgraph")


def _answers(channels):
    got: list[tuple[str, object]] = []
    channels.finished.connect(lambda channel, task_id, result: got.append((channel, result)))
    channels.failed.connect(
        lambda channel, task_id, message, details: got.append((channel, message))
    )
    return got


def test_a_newer_request_supersedes_waiting_and_running_work(qtbot):
    from fgsm_studio.gui.workers import TaskRunner

    runner = TaskRunner()
    got = _answers(runner)
    release, started = threading.Event(), threading.Event()

    def blocking() -> str:
        started.set()
        release.wait(30)
        return "old attack"

    runner.submit("attack", blocking)
    assert started.wait(30)  # running now: everything below waits behind it
    for eps in (1, 2, 3):
        runner.submit("sweep", lambda eps=eps: f"sweep {eps}")  # 1 and 2 never start
    runner.submit("attack", lambda: "new attack")  # the running one's answer is dropped
    runner.submit("flip", lambda: "flip")
    runner.cancel("flip")  # never starts, never answers
    assert runner.busy
    release.set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=30000)
    assert sorted(got) == [("attack", "new attack"), ("sweep", "sweep 3")]
    assert runner.shutdown() and runner.stopped


def test_a_stoppable_task_stops_when_superseded_cancelled_or_shut_down(qtbot):
    """A long search (the smallest flip) must not hold the one-task runner: its stop()
    turns True when a newer request comes, on cancel, and on shutdown."""
    from fgsm_studio.gui.workers import TaskRunner

    runner = TaskRunner()
    got = _answers(runner)
    seen: list[str] = []

    def search(name):
        def run(stop):
            started.set()
            for _ in range(3000):  # 30 s if nobody stops it
                if stop():
                    seen.append(name)
                    raise RuntimeError("stopped")
                threading.Event().wait(0.01)
            return name

        return run

    for how in ("newer", "cancel", "shutdown"):
        started = threading.Event()
        runner.submit_stoppable("flip", search(how))
        qtbot.waitUntil(started.is_set, timeout=30000)  # the event loop runs meanwhile
        if how == "newer":
            runner.submit("flip", lambda: "quick")
            qtbot.waitUntil(lambda: ("flip", "quick") in got, timeout=20000)
        elif how == "cancel":
            runner.cancel("flip")
        else:
            assert runner.shutdown(timeout_ms=20000)  # returns once the search gave up
        qtbot.waitUntil(lambda how=how: how in seen and not runner.busy, timeout=20000)
    assert seen == ["newer", "cancel", "shutdown"]
    assert got == [("flip", "quick")]  # a stopped search never answers


def test_the_runner_runs_one_task_at_a_time_on_one_thread(qtbot):
    from fgsm_studio.gui.workers import TaskRunner

    runner = TaskRunner()
    got = _answers(runner)
    inside, most = [0], [0]
    lock = threading.Lock()

    def task(i: int) -> int:
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        ident = threading.get_ident()
        with lock:
            inside[0] -= 1
        return ident

    for i in range(6):
        runner.submit(f"c{i}", lambda i=i: task(i))
    qtbot.waitUntil(lambda: len(got) == 6, timeout=30000)
    assert most[0] == 1
    assert len({ident for _, ident in got}) == 1 and got[0][1] != threading.get_ident()
    assert runner.shutdown()


def test_a_failure_comes_back_as_words_with_its_traceback(qtbot):
    from fgsm_studio.gui.workers import Loader, TaskRunner

    loader, runner = Loader(), TaskRunner()
    failures: list[tuple[str, str]] = []
    for channels in (loader, runner):
        channels.failed.connect(lambda c, i, message, details: failures.append((message, details)))
    loader.submit("image", lambda: open("/nonexistent/photo.png"))  # noqa: SIM115
    runner.submit("attack", lambda: 1 / 0)
    qtbot.waitUntil(lambda: len(failures) == 2, timeout=30000)
    messages = sorted(m for m, _ in failures)
    assert "No such file" in messages[0]  # an expected read error: its own sentence
    assert messages[1] == "division by zero"
    assert all("Traceback" in d for _, d in failures)
    assert runner.shutdown()


def test_a_stale_read_is_dropped_and_a_closed_loader_starts_nothing(qtbot):
    from PySide6.QtCore import QCoreApplication

    from fgsm_studio.gui.workers import Loader, wait_for_workers

    loader = Loader()
    got = _answers(loader)
    release = threading.Event()
    loader.submit("model", lambda: release.wait(30) and "old")
    loader.submit("model", lambda: "new")  # starts at once, beside the stalled read
    qtbot.waitUntil(lambda: bool(got), timeout=30000)
    release.set()
    loader.shutdown()
    loader.submit("model", lambda: "after close")
    assert wait_for_workers(30000)  # the stalled read has ended (a condition, not 50 ms)
    QCoreApplication.sendPostedEvents()  # an answer it sent would be delivered by now
    assert got == [("model", "new")] and not loader.busy


def test_a_generator_worker_closes_its_generator_when_stopped(qtbot):
    from fgsm_studio.gui.workers import start_generator, wait_for_workers

    closed, first = threading.Event(), threading.Event()

    def steps():
        try:
            for i in range(10_000):
                first.set()
                yield i
                threading.Event().wait(0.001)
        finally:
            closed.set()

    worker = start_generator(steps)
    assert first.wait(30)
    with qtbot.waitSignal(worker.finished, timeout=30000):
        worker.quit()
    assert closed.is_set() and wait_for_workers(30000)


def test_a_runtime_error_in_a_generator_reaches_errored(qtbot):
    from fgsm_studio.gui.workers import start_generator

    def nan_loss():
        yield 1
        raise RuntimeError("the loss is NaN")

    errors: list[Exception] = []
    finished: list[bool] = []
    start_generator(nan_loss, errored=errors.append, finished=lambda: finished.append(True))
    qtbot.waitUntil(lambda: bool(finished), timeout=30000)
    assert [str(e) for e in errors] == ["the loss is NaN"]


def test_workers_leave_the_process_warning_state_alone(qtbot):
    """Session 7, 1d: superqt's ``run()`` wraps each worker's work in
    ``warnings.catch_warnings()`` on the worker's thread, which swaps the process's
    filters and ``showwarning`` (not thread-safe). A read and a training run that
    overlapped, the first ending first, left ``showwarning`` pointing at the finished
    read's signal and an "always" filter for good. Both kinds of worker, overlapping."""
    from fgsm_studio.gui.workers import Loader, start_generator, wait_for_workers

    filters, show = list(warnings.filters), warnings.showwarning
    read_in, read_go, train_in, train_go = (threading.Event() for _ in range(4))

    def read():
        read_in.set()
        assert read_go.wait(30)
        return "read"

    def train():
        train_in.set()
        assert train_go.wait(30)
        yield 1

    loader = Loader()
    got = _answers(loader)
    loader.submit("image", read)
    assert read_in.wait(30)
    finished: list[bool] = []
    start_generator(train, finished=lambda: finished.append(True))
    assert train_in.wait(30)
    read_go.set()  # the read ends first, while the training runs on
    qtbot.waitUntil(lambda: got == [("image", "read")], timeout=30000)
    train_go.set()
    qtbot.waitUntil(lambda: bool(finished), timeout=30000)
    assert wait_for_workers(30000)
    left = warnings.showwarning, list(warnings.filters)
    warnings.showwarning, warnings.filters[:] = show, filters  # (for the tests after this one)
    assert left[0] is show
    assert left[1] == filters


# ---------------------------------------------------------------- no private attributes


def _foreign_private_names() -> set[str]:
    """Every ``_name`` that superqt or pyqtgraph define on their objects."""
    names: set[str] = set()
    for package in FOREIGN:
        root = Path(pytest.importorskip(package).__file__).parent
        for path in root.rglob("*.py"):
            text = path.read_text(errors="replace")
            names |= set(re.findall(r"self\.(_[a-zA-Z]\w*)\s*=", text))
            names |= set(re.findall(r"def (_[a-zA-Z]\w*)\(", text))
    return {n for n in names if not n.startswith("__")}


def _foreign_bindings(tree: ast.Module) -> dict[str, object]:
    """The names this module binds to superqt or pyqtgraph (``pg``, ``GeneratorWorker``...)."""
    bound: dict[str, object] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] in FOREIGN:
                    bound[a.asname or a.name] = importlib.import_module(a.name)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in FOREIGN:
            module = importlib.import_module(node.module or "")
            for a in node.names:
                bound[a.asname or a.name] = getattr(module, a.name)
    return bound


def _root_name(node: ast.expr) -> str:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""


def _resolve(node: ast.expr, bound: dict[str, object]) -> object:
    if isinstance(node, ast.Name):
        return bound.get(node.id)
    if isinstance(node, ast.Attribute):
        return getattr(_resolve(node.value, bound), node.attr, None)
    return None


def _privates_of(cls: type) -> set[str]:
    """The ``_name``s that ``cls``'s superqt / pyqtgraph ancestors define."""
    names: set[str] = set()
    for klass in inspect.getmro(cls):
        if klass.__module__.split(".")[0] in FOREIGN:
            names |= {n for n in vars(klass) if n.startswith("_") and not n.startswith("__")}
            text = inspect.getsource(klass)
            names |= set(re.findall(r"self\.(_[a-zA-Z]\w*)\s*=", text))
    return names


def private_uses(source: str, foreign: set[str]) -> list[str]:
    """``obj._name`` in ``source`` reaching into superqt or pyqtgraph: ``self._name`` in a
    subclass of theirs where one of their classes defines ``_name``, or ``obj._name`` on
    another object where ``_name`` is theirs and not this module's own."""
    tree = ast.parse(source)
    bound = _foreign_bindings(tree)
    own = {
        n.attr
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store) and _root_name(n) == "self"
    } | {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    found: set[str] = set()
    for cls in [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]:
        bases = [b for b in map(lambda b: _resolve(b, bound), cls.bases) if isinstance(b, type)]
        theirs = set().union(*map(_privates_of, bases)) if bases else set()
        for n in ast.walk(cls):
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name):
                if n.value.id in ("self", "cls") and n.attr in theirs:
                    found.add(f"line {n.lineno}: self.{n.attr}")
    for n in ast.walk(tree):
        if isinstance(n, ast.Attribute) and n.attr in foreign and n.attr not in own:
            if not (isinstance(n.value, ast.Name) and n.value.id in ("self", "cls")):
                found.add(f"line {n.lineno}: .{n.attr}")
    return sorted(found)


def test_gui_uses_no_private_attribute_of_superqt_or_pyqtgraph():
    foreign = _foreign_private_names()
    assert {"_gen", "_sizeHint"} <= foreign
    offences = {
        path.name: uses
        for path in sorted(GUI.rglob("*.py"))
        if (uses := private_uses(path.read_text(), foreign))
    }
    assert offences == {}


@pytest.mark.parametrize(
    "source",
    [
        "import pyqtgraph as pg\nclass L(pg.LabelItem):\n    def f(self):\n        self._sizeHint = {}\n",
        "from superqt.utils import GeneratorWorker\n"
        "class W(GeneratorWorker):\n    def work(self):\n        self._gen.close()\n",
        "class V:\n    def f(self, worker):\n        worker._gen.close()\n",
    ],
)
def test_the_private_attribute_check_can_fail(source):
    assert private_uses(source, _foreign_private_names())
