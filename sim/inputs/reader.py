"""Reading the files users write (scenarios, sweep specs): plain data only, every problem an
InputError naming the file, the field path and what was expected.

The YAML loader is PyYAML's safe loader narrowed further:
- no tag constructs anything: Python object tags are unknown to the safe loader anyway, and the
  safe loader's own `!!binary`, `!!set`, `!!omap`, `!!pairs` and `!!timestamp` are refused too,
  so a file can hold only mappings, lists, numbers, booleans, text and null;
- scalars follow YAML 1.2's core schema, not PyYAML's YAML 1.1: `true`/`false` are the only
  booleans (`yes`, `no`, `on`, `off` are text), `010` is ten (not octal eight), `1:30` is text
  (not sexagesimal 90), `2e-2` is a number; dates stay text (`description: 2016-05-19`);
- a key written twice in one mapping is an error (plain PyYAML silently keeps the last one);
- only a regular file of at most MAX_BYTES is read (not a FIFO or a device), and text with a lone
  surrogate is refused;
- nesting deeper than MAX_DEPTH and more than MAX_NODES values once aliases are expanded are
  refused while the file is composed (a "billion laughs" file of a few hundred bytes is refused
  in milliseconds, before anything walks the expanded data);
- an explicit tag on the wrong kind of node (`!!map 5`, `!!str {a: 1}`, `<<: 5`) is an error.
"""

from __future__ import annotations

import difflib
import math
import re
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sim.inputs.errors import InputError

MAX_BYTES = 1_000_000  # a scenario or sweep spec is a few kB
MAX_DEPTH = 20  # the deepest valid file has 4 levels (levers.id.year)
MAX_NODES = 10_000  # values once aliases are expanded: the largest input innosim writes (a
# scenario.resolved.yaml) has about 850, and PyYAML (pure Python) composes some 30,000 values a
# second, so a file at the limit is refused in about a third of a second
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_REFUSED_TAGS = ("binary", "set", "omap", "pairs", "timestamp")


class LimitError(yaml.MarkedYAMLError):
    """A document too deep or too large once its aliases are expanded (found while composing,
    before anything is built); `field` is the path of the node where the limit was crossed."""

    def __init__(self, problem: str, mark, field: str | None = None):
        super().__init__(None, None, problem, mark)
        self.field = field


class PlainLoader(yaml.SafeLoader):
    """Safe loading of plain data: see the module docstring.

    Composition is bounded: an alias (`*name`) stands for its anchor's whole content, so a file
    of a few hundred bytes can expand to billions of values ("billion laughs") that every later
    walk over the data (checks, validation) would visit. While composing, the loader counts
    each node's expanded size and depth (an alias counting its anchor's) and refuses a document
    of more than MAX_NODES values or deeper than MAX_DEPTH levels, at the node that crosses the
    limit, so a hostile file is refused in milliseconds.
    """

    def __init__(self, stream):
        super().__init__(stream)
        self._where: list = []  # labels of the nodes being composed, below the root
        self._total = 0  # expanded nodes composed so far in this document
        self._reach = 0  # the deepest expanded level reached in the current subtree
        self._measure: dict[str, tuple[int, int]] = {}  # anchor -> (expanded size, height)
        self._open: set[str] = set()  # anchors whose node is being composed

    def _field(self) -> str | None:
        where = self._where
        shown = ".".join(field_name(k) for k in where[:4]) + (".…" if len(where) > 4 else "")
        return shown or None

    def _too_deep(self, mark) -> LimitError:
        return LimitError(
            f"nested too deeply (at most {MAX_DEPTH} levels; {_at(mark)})", mark, self._field()
        )

    def _count(self, n: int, mark) -> None:
        self._total += n
        if self._total > MAX_NODES:
            raise LimitError(
                f"more than {MAX_NODES:,} values once aliases (*name) are expanded; "
                "the shipped scenarios hold a few hundred at most",
                mark,
            )

    def compose_node(self, parent, index):
        if parent is not None:
            if isinstance(index, int):
                self._where.append(index)
            elif isinstance(index, yaml.ScalarNode):
                self._where.append(index.value)
            else:
                self._where.append("[key]" if index is None else "[value]")
        try:
            return self._compose_counted(parent, index)
        finally:
            if parent is not None:
                self._where.pop()

    def _compose_counted(self, parent, index):
        depth = len(self._where)
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open:
                raise LimitError(
                    f"the alias *{event.anchor} is inside its own anchor &{event.anchor} "
                    f"(an endless structure; {_at(event.start_mark)})",
                    event.start_mark,
                    self._field(),
                )
            size, height = self._measure.get(event.anchor, (1, 0))
            if depth + height > MAX_DEPTH:
                raise self._too_deep(event.start_mark)
            self._count(size, event.start_mark)
            self._reach = max(self._reach, depth + height)
            return super().compose_node(parent, index)
        if depth > MAX_DEPTH:
            raise self._too_deep(event.start_mark)
        self._count(1, event.start_mark)
        anchor, before, outer = event.anchor, self._total - 1, self._reach
        self._reach = depth
        if anchor is not None:
            self._open.add(anchor)
        node = super().compose_node(parent, index)
        if anchor is not None:
            self._open.discard(anchor)
            self._measure[anchor] = (self._total - before, self._reach - depth)
        self._reach = max(outer, self._reach)
        return node

    # An explicit tag can put any kind of node under a constructor (`!!map 5`, `!!str {a: 1}`,
    # `<<: 5`): each constructor checks the kind it got and names the tag.
    def construct_scalar(self, node):
        if not isinstance(node, yaml.ScalarNode):
            raise _wrong_kind(node, "a single value (text, a number, true/false or null)")
        return super().construct_scalar(node)

    def construct_sequence(self, node, deep=False):
        if not isinstance(node, yaml.SequenceNode):
            raise _wrong_kind(node, "a list")
        return super().construct_sequence(node, deep=deep)

    def construct_mapping(self, node, deep=False):
        if not isinstance(node, yaml.MappingNode):
            raise _wrong_kind(node, "a mapping")
        return super().construct_mapping(node, deep=deep)

    def flatten_mapping(self, node):
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged = (
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                for sub in merged:
                    if not isinstance(sub, yaml.MappingNode):
                        raise yaml.constructor.ConstructorError(
                            None,
                            None,
                            "a merge key (<<) takes a mapping or a list of mappings, "
                            f"got {_kind(sub)}",
                            sub.start_mark,
                        )
        super().flatten_mapping(node)


_MERGE = "tag:yaml.org,2002:merge"


def _at(mark) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return "nothing (an empty value)" if node.value == "" else f"the value {_short(node.value)}"


def _wrong_kind(node: yaml.Node, expected: str) -> yaml.constructor.ConstructorError:
    tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
    return yaml.constructor.ConstructorError(
        None, None, f"the tag {tag} takes {expected}, got {_kind(node)}", node.start_mark
    )


_BOOL, _INT, _FLOAT = (f"tag:yaml.org,2002:{t}" for t in ("bool", "int", "float"))
PlainLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_TIMESTAMP, _BOOL, _INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution)
PlainLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
PlainLoader.add_implicit_resolver(
    _INT, re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)
PlainLoader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)
PlainLoader.yaml_constructors = {
    tag: fn
    for tag, fn in yaml.SafeLoader.yaml_constructors.items()
    if tag is None or tag.rsplit(":", 1)[-1] not in _REFUSED_TAGS
}
# Unknown tags (and the refused ones) fall through to this constructor, which refuses them.
PlainLoader.yaml_constructors[None] = yaml.SafeLoader.construct_undefined


def _short(text: str) -> str:
    return repr(text if len(text) <= 30 else text[:27] + "...")


def _construct_bool(loader: PlainLoader, node: yaml.ScalarNode) -> bool:
    text = loader.construct_scalar(node)
    if text.lower() not in ("true", "false"):
        raise yaml.constructor.ConstructorError(
            None, None, f"{_short(text)} is not a boolean (true or false)", node.start_mark
        )
    return text.lower() == "true"


def _construct_int(loader: PlainLoader, node: yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    try:
        if text.startswith(("0o", "0x")):
            return int(text[2:], 8 if text[1] == "o" else 16)
        return int(text, 10)
    except ValueError:
        digits = text.lstrip("+-")
        problem = (
            f"a whole number of {len(digits):,} digits is too long"
            if digits.isdigit()
            else f"{_short(text)} is not a whole number"
        )
        raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from None


def _construct_float(loader: PlainLoader, node: yaml.ScalarNode) -> float:
    text = loader.construct_scalar(node)
    special = {".inf": math.inf, "+.inf": math.inf, "-.inf": -math.inf, ".nan": math.nan}
    if text.lower() in special:
        return special[text.lower()]
    try:
        return float(text)
    except ValueError:
        raise yaml.constructor.ConstructorError(
            None, None, f"{_short(text)} is not a number", node.start_mark
        ) from None


PlainLoader.add_constructor(_BOOL, _construct_bool)
PlainLoader.add_constructor(_INT, _construct_int)
PlainLoader.add_constructor(_FLOAT, _construct_float)


def _construct_null(loader: PlainLoader, node: yaml.ScalarNode) -> None:
    text = loader.construct_scalar(node)
    if text not in ("", "~", "null", "Null", "NULL"):
        raise yaml.constructor.ConstructorError(
            None, None, f"{_short(text)} is not null (null, ~ or nothing)", node.start_mark
        )


def _mapping_without_duplicates(loader: PlainLoader, node: yaml.MappingNode, deep: bool = False):
    if not isinstance(node, yaml.MappingNode):
        raise _wrong_kind(node, "a mapping")
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # `<<: *base` merges; its keys may be overridden by design
        key = loader.construct_object(key_node, deep=True)
        try:
            first = seen.setdefault(key, key_node)
        except TypeError:  # an unhashable key: construct_mapping explains it
            continue
        if first is not key_node:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first given on line {first.start_mark.line + 1}); "
                "give each key once",
                key_node.start_mark,
            )
    return loader.construct_mapping(node, deep=deep)


PlainLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates
)
PlainLoader.add_constructor("tag:yaml.org,2002:null", _construct_null)


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file as plain data, turning every failure into an InputError naming it."""
    path = check_path(path, None, None)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(str(path), None, "file not found") from None
    except ValueError as e:  # not expected after check_path
        raise InputError(str(path), None, f"cannot open: {e}") from None
    except OSError as e:  # a symlink loop, a name too long, ...
        raise InputError(str(path), None, f"cannot open: {e.strerror or e}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(str(path), None, "is a directory, expected a YAML file")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(str(path), None, "not a regular file (a pipe or a device?)")
    if info.st_size > MAX_BYTES:
        raise InputError(
            str(path), None, f"too large ({info.st_size:,} bytes; at most {MAX_BYTES:,})"
        )
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(str(path), None, "not a UTF-8 text file (binary content?)") from None
    except OSError as e:
        raise InputError(str(path), None, f"cannot read: {e.strerror}") from None
    try:
        data = yaml.load(text, Loader=PlainLoader)  # noqa: S506 - PlainLoader is a SafeLoader
    except RecursionError:  # not expected: PlainLoader bounds the depth while composing
        raise InputError(
            str(path), None, f"nested too deeply (at most {MAX_DEPTH} levels)"
        ) from None
    except LimitError as e:
        mark = e.problem_mark
        raise InputError(
            str(path), e.field or f"line {mark.line + 1}, column {mark.column + 1}", e.problem
        ) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = str(e.problem or e)
        if problem.startswith("could not determine a constructor for the tag"):
            tag = problem.split("tag", 1)[1].strip(" '").replace("tag:yaml.org,2002:", "!!")
            problem = (
                f"YAML tag {tag!r} is not allowed: the file may hold only mappings, lists, "
                "numbers, booleans and text (nothing in it is constructed or run)"
            )
        elif not isinstance(e, yaml.constructor.ConstructorError):
            problem = f"YAML syntax error: {problem}"
        raise InputError(str(path), where, problem) from None
    except yaml.reader.ReaderError as e:  # a control character: say where it is
        line = text.count("\n", 0, e.position) + 1
        column = e.position - (text.rfind("\n", 0, e.position) + 1) + 1
        raise InputError(
            str(path),
            f"line {line}, column {column}",
            f"character U+{e.character:04X} is not allowed in YAML "
            "(special characters are not allowed; binary content?)",
        ) from None
    except yaml.YAMLError as e:
        raise InputError(str(path), None, f"YAML error: {' '.join(str(e).split())}") from None
    except (ValueError, OverflowError) as e:  # e.g. an integer of more than 4,300 digits
        raise InputError(str(path), None, f"cannot read a value: {e}") from None
    problem = _check_plain(data)
    if problem:
        raise InputError(str(path), problem[0] or None, problem[1])
    return data


def _check_plain(data: Any) -> tuple[str, str] | None:
    """(field path, problem) for text that is not valid Unicode (a lone surrogate written as an
    escape); None when fine. The walk is bounded: PlainLoader limits the expanded size."""
    stack = [(data, ())]
    while stack:
        node, where = stack.pop()
        problem = None
        if isinstance(node, dict):
            bad = [k for k in node if isinstance(k, str) and not _valid_text(k)]
            if bad:
                problem = f"a key is not valid Unicode text: {bad[0]!r}"
            stack.extend((v, (*where, k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, (*where, i)) for i, v in enumerate(node))
        elif isinstance(node, str) and not _valid_text(node):
            problem = f"not valid Unicode text (a lone surrogate?): {node[:40]!r}"
        if problem:
            path = ".".join(field_name(k) for k in where[:4]) + (".…" if len(where) > 4 else "")
            return path, problem
    return None


def _valid_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


NAME_MAX = 255  # bytes in one file or folder name (Linux, macOS and Windows file systems)
PATH_MAX = 4096  # bytes in a whole path (Linux; longer paths fail with ENAMETOOLONG)


def path_problem(path: str | Path) -> str | None:
    """Why `path` cannot name a file on any system (a NUL character, a name longer than
    NAME_MAX bytes, a path longer than PATH_MAX bytes), or None. Checked before the path
    reaches the operating system, which would fail with ValueError or ENAMETOOLONG."""
    text = str(path)
    if "\x00" in text:
        return "a path cannot hold a NUL character (\\x00)"
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return "a path cannot hold a lone surrogate character"
    if len(raw) > PATH_MAX:
        return f"the path is {len(raw):,} bytes long; at most {PATH_MAX:,}"
    longest = max(len(part) for part in raw.split(b"/"))
    if longest > NAME_MAX:
        return f"a name in the path is {longest:,} bytes long; at most {NAME_MAX}"
    return None


def check_path(path: str | Path, file: str | None, field: str | None) -> Path:
    """`path` as a Path, or an InputError naming the file and field (or option) it came from
    when no system could open it (see path_problem)."""
    problem = path_problem(path)
    if problem:
        shown = str(path) if len(str(path)) <= 60 else str(path)[:57] + "..."
        raise InputError(file, field, f"{problem}: {shown!r}")
    return Path(path)


def resolve_file(path: str | Path, file: str | None, field: str | None) -> Path:
    """`path` made absolute with symbolic links followed; a loop, a NUL character or an
    over-long name is an InputError naming the file and field that point there."""
    check_path(path, file, field)
    try:
        return Path(path).resolve()
    except (RuntimeError, OSError, ValueError) as e:
        raise InputError(file or str(path), field, f"cannot follow {str(path)!r}: {e}") from None


def read_mapping(path: str | Path, what: str) -> dict:
    """A YAML file that must hold a mapping of `what` (e.g. "scenario fields")."""
    raw = read_yaml(path)
    if raw is None:
        raise InputError(str(path), None, f"empty file, expected a mapping of {what}")
    if not isinstance(raw, dict):
        kind = {list: "a list", str: "text", int: "a number", float: "a number", bool: "a boolean"}
        got = kind.get(type(raw), type(raw).__name__)
        raise InputError(str(path), None, f"expected a mapping of {what}, got {got}")
    for key in raw:
        if not isinstance(key, str):
            raise InputError(str(path), None, f"keys are field names (text), got {_as_yaml(key)}")
    return raw


def did_you_mean(key: Any, known: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest known name, or ''."""
    close = difflib.get_close_matches(str(key), list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def field_name(key: Any) -> str:
    """A key as shown in a field path: plain names as they are, odd ones (empty, blanks, dots,
    control characters) quoted so that the message stays on one line and unambiguous."""
    text = str(key)
    if text and text.isprintable() and not any(c in text for c in " .:'\""):
        return text
    return repr(text)


def unknown(section: str, key: str, known: Iterable[str]) -> ValueError:
    """The error for an unknown lever, shock or parameter name (raised inside validators)."""
    name = field_name(key)
    return ValueError(f"{section}.{name}: unknown {section[:-1]}{did_you_mean(key, known)}")


def explain(
    error: ValidationError,
    file: str | None,
    fields_at: Callable[[tuple], Iterable[str]],
    raw: Any,
) -> InputError:
    """One InputError from pydantic's errors: the most specific one, its field path in the
    user's terms, and for an unknown key the closest field at that level.

    `fields_at(parent_loc)` lists the valid keys of the mapping at `parent_loc`; `raw` is the
    data that was validated (to tell the user's keys from pydantic's union tags in a path).
    """
    errors = error.errors()
    # For a union (a constant or a schedule) the deepest error is the informative one; an unknown
    # key is the user's actual mistake when it sits beside "field required" errors.
    err = max(errors, key=lambda x: (x["type"] == "extra_forbidden", len(x["loc"])))
    loc = _input_path(raw, err["loc"], missing=err["type"] == "missing")
    msg = _plain(err)
    if loc and loc[-1] == "[key]":
        loc = loc[:-1]
        if len(loc) >= 3:  # section.name.KEY: the keys of a schedule
            msg = f"schedule years must be whole numbers (integers), got {loc[-1]!r}"
        else:
            msg = f"keys here are names (text), got {_as_yaml(loc[-1])}"
    elif err["type"] == "invalid_key":
        msg = f"keys are names (text), got {_as_yaml(err.get('input'))}"
    if err["type"] == "extra_forbidden":
        msg = "unknown key" + did_you_mean(loc[-1], fields_at(loc[:-1]))
    path = ".".join(field_name(x) for x in loc)
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
        head = msg.split(": ", 1)[0]
        if ": " in msg and head.replace(".", "").replace("_", "").isalnum():
            path, msg = msg.split(": ", 1)
    return InputError(file, path or None, msg)


def _input_path(raw: Any, loc: tuple, missing: bool) -> tuple:
    """The part of pydantic's error location that exists in the input: keys and list indexes
    found along the way (a missing field: its name at the end; a bad mapping key: "[key]");
    everything else is a union tag such as "float" or "dict[int,float]", whatever its name."""
    out, here = [], raw
    for i, part in enumerate(loc):
        if part == "[key]":
            out.append(part)
        elif isinstance(here, dict) and (part in here or str(part) in map(str, here)):
            key = part if part in here else next(k for k in here if str(k) == str(part))
            out.append(key)
            here = here[key]
        elif isinstance(here, list | tuple) and isinstance(part, int) and 0 <= part < len(here):
            out.append(part)
            here = here[part]
        elif missing and i == len(loc) - 1:
            out.append(part)
    return tuple(out)


_EXPECTED = {
    "dict_type": "a mapping (key: value, ...)",
    "model_type": "a mapping (key: value, ...)",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "string_type": "text",
    "list_type": "a list",
    "finite_number": "a finite number",
    "missing": None,
}


def _as_yaml(x: Any) -> str:
    """A scalar as the user wrote it in YAML."""
    if x is None:
        return "null"
    if isinstance(x, bool):
        return str(x).lower()
    return repr(x)


def _got(x: Any) -> str:
    if x is None:
        return "nothing (an empty value)"
    if isinstance(x, bool):
        return f"a boolean ({str(x).lower()})"
    if isinstance(x, dict):
        return "a mapping"
    if isinstance(x, list | tuple):
        return "a list"
    text = repr(x)
    return text if len(text) <= 40 else text[:37] + "..."


def _plain(err: dict) -> str:
    """pydantic's message in the user's terms: what was expected and what was found."""
    kind, msg = err["type"], err["msg"]
    if kind == "missing":
        return "required field is missing"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {_got(err.get('input'))}"
    if kind == "too_short" and isinstance(err.get("input"), list):
        return f"expected at least {err['ctx']['min_length']} value(s), got none"
    if msg.startswith("Input should be "):
        rest = msg[len("Input should be ") :]
        if rest.startswith(("greater", "less")):
            rest = f"a value {rest}"
        return f"expected {rest}, got {_got(err.get('input'))}"
    return msg
