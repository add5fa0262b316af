"""Which string literals of a Python file are for the user but not marked for translation.

A literal counts as user text when it is prose (two words or more), when it goes straight
into a place the user reads (an exception raised for the user, warnings.warn, a file's warning
list, a Qt text setter or widget: USER_SINKS), or when a function that makes user text returns
it (TEXT_FUNCTIONS). It is marked when it is the message argument of _(), N_(), ngettext() or
pgettext(). Not user text: docstrings, literals inside machine calls (logging, SQL, regular
expressions: MACHINE_CALLS), literals compared with something (matching a library's
message), and what the allow-list (machine_strings.py) names with its reason.

The rules know the window's Qt setters already; extending the check to gui/ and the CLI is a
matter of adding their files to the scope (test_marked.py).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

#: Translation functions and the positions of their message arguments.
TRANSLATORS: dict[str, tuple[int, ...]] = {
    "_": (0,),
    "N_": (0,),
    "ngettext": (0, 1),
    "pgettext": (1,),
}

#: Calls whose literal arguments reach the user as they are (by the called name: a function's
#: name or a method's attribute name). The value: which positional arguments (None: all).
USER_SINKS: dict[str, tuple[int, ...] | None] = {
    # the engine's ways of saying something to the user
    "warn": (0,),  # warnings.warn: becomes the file's warnings
    "ConversionError": None,
    "RecipeError": None,
    "BatchError": None,
    "JournalError": None,
    "CodecUnavailable": (1,),
    "BrokenAnimation": None,
    "_say": None,
    "session_warn": None,
    "_add_warning": (1,),
    "job_result": (2,),
    "fail": (1,),
    # the CLI's terminal
    "print": None,
    "write": (0,),
    # Qt: what the window shows
    "setText": (0,),
    "setToolTip": (0,),
    "setStatusTip": (0,),
    "setWhatsThis": (0,),
    "setWindowTitle": (0,),
    "setPlaceholderText": (0,),
    "setTitle": (0,),
    "setLabelText": (0,),
    "setSuffix": (0,),
    "setPrefix": (0,),
    "setSpecialValueText": (0,),
    "setInformativeText": (0,),
    "setDetailedText": (0,),
    "setTabText": (1,),
    "setItemText": (1,),
    "showMessage": (0,),
    "addItem": (0,),
    "addItems": (0,),
    "insertItem": (1,),
    "addTab": (1,),
    "addAction": (0,),
    "addMenu": (0,),
    "addRow": (0,),
    "setHorizontalHeaderLabels": (0,),
    "setHeaderLabels": (0,),
    "setHeaderLabel": (0,),
    "QLabel": (0,),
    "QPushButton": (0,),
    "QToolButton": (0,),
    "QCheckBox": (0,),
    "QRadioButton": (0,),
    "QGroupBox": (0,),
    "QAction": (0, 1),
    "QMenu": (0,),
    "information": (1, 2),
    "warning": (1, 2),
    "critical": (1, 2),
    "question": (1, 2),
    "getSaveFileName": (1,),
    "getOpenFileName": (1,),
    "getOpenFileNames": (1,),
    "getExistingDirectory": (1,),
    "getText": (1, 2),
}
#: Keyword arguments that are user text in any call (argparse's help=, Qt's text=...).
USER_KEYWORDS = frozenset({"help", "description", "epilog", "text", "toolTip", "title"})

#: Calls whose literal arguments are for machines or developers, never shown in the
#: user's language: logging, SQL, regular expressions, environment and struct formats.
MACHINE_CALLS = frozenset(
    {"debug", "info", "exception", "getLogger", "log"}  # logging (log.warning: below)
    | {"execute", "executemany", "executescript", "_read", "_write"}  # SQL
    | {"compile", "search", "match", "fullmatch", "sub", "findall", "split"}  # re
    | {"simplefilter", "filterwarnings", "unpack", "pack", "memfd_create", "Thread", "strftime"}
)
#: Names of loggers: log.warning(...) and logger.error(...) are machine text, while
#: QMessageBox.warning(...) is the user's.
LOGGER_NAMES = frozenset({"log", "logger", "logging", "LOG"})
#: Functions whose returned literals are user text.
TEXT_FUNCTION = re.compile(r"^(describe.*|.*_text|how_it_ended|human_duration|_describe_.*)$")

_PROSE = re.compile(r"[A-Za-z]{2,}[,:;]?\s+(?:[a-z]+\s+)*[A-Za-z]{2,}")
_LETTER = re.compile(r"[A-Za-z]")


@dataclass(frozen=True)
class Finding:
    """A literal that needs marking (or a mark that cannot work), where and why."""

    path: str
    line: int
    text: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.why}: {self.text!r}"


def literal_text(node: ast.AST) -> str | None:
    """A str constant's text, or an f-string's with {} for each replacement field."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _is_logger_call(call: ast.Call) -> bool:
    func = call.func
    return (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id in LOGGER_NAMES
    )


def _is_string_node(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    return isinstance(node, ast.JoinedStr)


def _literals_in(node: ast.AST) -> list[ast.AST]:
    """The string literals an expression is made of directly (through concatenation,
    conditional expressions and tuples), not those inside calls it makes."""
    if _is_string_node(node):
        return [node]
    if isinstance(node, ast.BinOp):
        return _literals_in(node.left) + _literals_in(node.right)
    if isinstance(node, ast.IfExp):
        return _literals_in(node.body) + _literals_in(node.orelse)
    if isinstance(node, ast.Tuple | ast.List):
        return [lit for elt in node.elts for lit in _literals_in(elt)]
    return []


class _Scanner(ast.NodeVisitor):
    def __init__(self, path: str) -> None:
        self.path = path
        self.findings: list[Finding] = []
        #: Literals that are the message of a translation call.
        self.marked: list[tuple[int, str]] = []
        self._skip: set[int] = set()  # ids of nodes already judged
        self._functions: list[str] = []

    # --- what is marked ---------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        name = _called_name(node)
        if isinstance(node.func, ast.Name) and name in TRANSLATORS:
            for pos in TRANSLATORS[name]:
                if pos < len(node.args):
                    arg = node.args[pos]
                    if isinstance(arg, ast.JoinedStr):
                        self._find(arg, "an f-string cannot be translated: use .format()")
                    elif isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        self.marked.append((arg.lineno, arg.value))
                    self._skip.add(id(arg))
            for arg in node.args:  # the context of pgettext, a count
                self._skip_literals(arg)
        elif _is_logger_call(node) or name in MACHINE_CALLS:
            for sub in ast.walk(node):
                if _is_string_node(sub):
                    self._skip.add(id(sub))
        elif name in USER_SINKS:
            positions = USER_SINKS[name]
            for pos, arg in enumerate(node.args):
                if positions is None or pos in positions:
                    for lit in _literals_in(arg):
                        self._judge(lit, f"passed to {name}()", sink=True)
        for kw in node.keywords:
            if kw.arg in USER_KEYWORDS:
                for lit in _literals_in(kw.value):
                    self._judge(lit, f"passed as {kw.arg}=", sink=True)
        self.generic_visit(node)

    def _skip_literals(self, node: ast.AST) -> None:
        if _is_string_node(node):
            self._skip.add(id(node))

    # --- what is not user text ------------------------------------------------------------
    def _docstring(self, node: ast.AST) -> None:
        body = getattr(node, "body", [])
        for stmt in body:
            if isinstance(stmt, ast.Expr) and _is_string_node(stmt.value):
                self._skip.add(id(stmt.value))  # docstrings and attribute docstrings

    def visit_Module(self, node: ast.Module) -> None:
        self._docstring(node)
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._docstring(node)
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._docstring(node)
        for stmt in ast.walk(node):
            if isinstance(stmt, ast.If | ast.For | ast.While | ast.With | ast.Try):
                self._docstring(stmt)
        self._functions.append(node.name)
        self.generic_visit(node)
        self._functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Compare(self, node: ast.Compare) -> None:
        for sub in [node.left, *node.comparators]:
            for lit in _literals_in(sub):
                self._skip.add(id(lit))
        self.generic_visit(node)

    def visit_Return(self, node: ast.Return) -> None:
        if node.value is not None and self._functions and TEXT_FUNCTION.match(self._functions[-1]):
            for lit in _literals_in(node.value):
                self._judge(lit, f"returned by {self._functions[-1]}()", sink=True)
        self.generic_visit(node)

    # --- the rest: prose ------------------------------------------------------------------
    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            self._judge(node, "prose")

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        self._judge(node, "prose")
        for value in node.values:  # the expressions inside may hold literals too
            if isinstance(value, ast.FormattedValue):
                self.visit(value.value)

    def _judge(self, node: ast.AST, why: str, sink: bool = False) -> None:
        if id(node) in self._skip:
            return
        self._skip.add(id(node))
        text = literal_text(node) or ""
        if sink:
            if _LETTER.search(text.replace("{}", "")):
                self._find(node, f"user text {why}")
        elif _PROSE.search(text):
            self._find(node, "unmarked prose")

    def _find(self, node: ast.AST, why: str) -> None:
        self.findings.append(
            Finding(self.path, getattr(node, "lineno", 0), literal_text(node) or "", why)
        )


def scan(path: Path, root: Path) -> tuple[list[Finding], list[tuple[int, str]]]:
    """(unmarked user text, marked messages) of one Python file."""
    rel = path.relative_to(root).as_posix()
    scanner = _Scanner(rel)
    scanner.visit(ast.parse(path.read_text(encoding="utf-8"), filename=rel))
    findings = sorted(scanner.findings, key=lambda f: f.line)
    return findings, scanner.marked


def allowed(finding: Finding, allow: dict[tuple[str, str], str]) -> tuple[str, str] | None:
    """The allow-list entry (path, snippet) that excuses a finding, if any: a snippet of
    the literal's text in the same file."""
    for key in allow:
        path, snippet = key
        if path == finding.path and snippet in finding.text:
            return key
    return None
