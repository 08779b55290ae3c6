"""Reading files a planner did not necessarily write: bounded, local, any common encoding.

Every input the tool reads (scenario YAML, tables, hourly CSVs, a plan folder someone sent) goes
through here, so that a hostile or broken file ends in one :class:`UnsafeFileError` naming the
file and the rule, never in a traceback, a hang or an exhausted memory:

- a file must be a regular file (not a folder, ``/dev/zero``, a FIFO) below a size limit;
- a gzip file is decompressed up to a limit (a 1 KB "zip bomb" stops there);
- text is decoded as UTF-8 (with or without BOM), UTF-16 (by its BOM), else Latin-1;
- YAML is parsed safely with limits on nesting depth and on the size after alias expansion (a
  1 KB "billion laughs" document would otherwise expand to gigabytes when walked);
- a path can be required to stay inside a folder tree (symlinks resolved first).
"""

from __future__ import annotations

import codecs
import gzip
import io
import stat
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    import pandas as pd

#: largest input table or hourly file read from disk (1,000 sites x 8,760 hours is ~0.6 GB as CSV)
MAX_TABLE_BYTES = 1 << 30
#: largest decompressed size of a ``.gz`` table
MAX_DECOMPRESSED_BYTES = 2 << 30
#: largest scenario or sweep YAML (the bundled ones are below 2 KB)
MAX_YAML_BYTES = 1 << 20
#: deepest nesting of YAML mappings and lists (a scenario needs 5)
MAX_YAML_DEPTH = 32
#: most nodes a YAML document may hold once its aliases are expanded
MAX_YAML_NODES = 200_000
#: gzip files start with these two bytes (RFC 1952)
GZIP_MAGIC = b"\x1f\x8b"
DECOMPRESS_CHUNK_BYTES = 1 << 20


class UnsafeFileError(ValueError):
    """A file that cannot be read safely: missing, not a regular file, too large, undecodable."""


def checked_file(path: str | Path, max_bytes: int = MAX_TABLE_BYTES, what: str = "file") -> Path:
    """``path`` if it is an existing regular file of at most ``max_bytes``, else UnsafeFileError."""
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise UnsafeFileError(f"{path}: {what} not found") from None
    except NotADirectoryError:
        raise UnsafeFileError(f"{path}: {what} not found (a part of the path is a file, not a folder)") from None
    except PermissionError:
        raise UnsafeFileError(f"{path}: {what} cannot be read (permission denied)") from None
    except OSError as error:
        raise UnsafeFileError(f"{path}: {what} cannot be read ({error.strerror or error})") from None
    if stat.S_ISDIR(info.st_mode):
        raise UnsafeFileError(f"{path}: {what} is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeFileError(f"{path}: {what} is not a regular file (a device, pipe or socket cannot be read as data)")
    if info.st_size > max_bytes:
        raise UnsafeFileError(f"{path}: {what} is {info.st_size:,} bytes, above the limit of {max_bytes:,}")
    return path


def inside(path: Path, root: Path) -> bool:
    """Whether ``path`` (symlinks resolved) lies in the folder tree of ``root``."""
    return path.resolve().is_relative_to(root.resolve())


def confined(path: str | Path, root: Path, what: str) -> Path:
    """``path`` resolved, if it stays inside ``root``'s folder tree, else UnsafeFileError."""
    path = Path(path)
    if not inside(path, root):
        raise UnsafeFileError(f"{path}: {what} lies outside {root}; only files inside it are read")
    return path.resolve()


def read_bytes(path: str | Path, max_bytes: int = MAX_TABLE_BYTES, what: str = "file") -> bytes:
    """The file's bytes, decompressed if it is gzip (by its magic number), within the limits."""
    path = checked_file(path, max_bytes, what)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise UnsafeFileError(f"{path}: {what} cannot be read ({error.strerror or error})") from None
    if raw[:2] == GZIP_MAGIC:
        return _gunzip(raw, path)
    if path.suffix == ".gz":
        raise UnsafeFileError(f"{path}: named .gz but not a gzip file (it does not start with the gzip signature)")
    return raw


def _gunzip(raw: bytes, path: Path) -> bytes:
    """Decompress in chunks, stopping at MAX_DECOMPRESSED_BYTES."""
    out, size = [], 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
            while chunk := stream.read(DECOMPRESS_CHUNK_BYTES):
                size += len(chunk)
                if size > MAX_DECOMPRESSED_BYTES:
                    raise UnsafeFileError(f"{path}: decompresses to more than {MAX_DECOMPRESSED_BYTES:,} bytes")
                out.append(chunk)
    except (OSError, EOFError, zlib.error) as error:
        raise UnsafeFileError(f"{path}: a damaged or truncated gzip file ({error})") from None
    return b"".join(out)


def decode_text(raw: bytes, path: Path) -> str:
    """UTF-8 (a BOM is dropped), UTF-16 when it starts with a BOM, else Latin-1 (Excel's exports)."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as error:
            raise UnsafeFileError(f"{path}: starts as UTF-16 but is not valid UTF-16 ({error.reason})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # every byte is a Latin-1 character: Western-European files from older tools read right
        return raw.decode("latin-1")


def read_text(path: str | Path, max_bytes: int = MAX_TABLE_BYTES, what: str = "file") -> str:
    """The file as text, within the limits, in whichever of the common encodings it uses."""
    path = Path(path)
    text = decode_text(read_bytes(path, max_bytes, what), path)
    if "\x00" in text:
        raise UnsafeFileError(
            f"{path}: {what} holds NUL bytes: a binary file, or text in an encoding other than UTF-8, UTF-16 or Latin-1"
        )
    return text


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with a nesting limit (checked while composing, before any recursion
    gets deep) and a limit on the size of the document with its aliases expanded."""

    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self.depth += 1
        if self.depth > MAX_YAML_DEPTH:
            mark = self.peek_event().start_mark
            raise yaml.YAMLError(f"nesting deeper than {MAX_YAML_DEPTH} levels at line {mark.line + 1}")
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _expanded_nodes(node: yaml.Node) -> int:
    """Nodes of the document once every alias is expanded, counted without expanding them."""
    sizes: dict[int, int] = {}
    order, stack = [], [node]
    while stack:  # post-order without recursion: children are sized before their parent
        current = stack.pop()
        if id(current) in sizes:
            continue
        sizes[id(current)] = 0
        order.append(current)
        stack.extend(_children(current))
    for current in reversed(order):
        sizes[id(current)] = min(1 + sum(sizes[id(child)] for child in _children(current)), MAX_YAML_NODES + 1)
    return sizes[id(node)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    return []


def load_yaml(path: str | Path, what: str = "YAML file") -> object:
    """A YAML document from a bounded regular file, parsed safely within the depth and size limits.

    Raises ``yaml.YAMLError`` for malformed or oversized documents and UnsafeFileError for files.
    """
    path = Path(path)
    text = read_text(path, MAX_YAML_BYTES, what)
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_nodes(node) > MAX_YAML_NODES:
            raise yaml.YAMLError(f"more than {MAX_YAML_NODES:,} values once its aliases (*name) are expanded")
        return loader.construct_document(node)
    finally:
        loader.dispose()


def read_csv(path: str | Path, what: str = "table", max_bytes: int = MAX_TABLE_BYTES, **options: Any) -> pd.DataFrame:
    """A CSV (optionally gzipped) as a DataFrame, read within the limits in any common encoding;
    ``options`` go to ``pandas.read_csv``."""
    import pandas as pd  # pandas stays out of the YAML-only paths' imports

    path = Path(path)
    text = read_text(path, max_bytes, what)
    try:
        return pd.read_csv(io.StringIO(text), **options)
    except pd.errors.EmptyDataError:
        raise UnsafeFileError(f"{path}: {what} is empty (no header row)") from None
    except pd.errors.ParserError as error:
        raise UnsafeFileError(f"{path}: {what} is not a readable CSV: {' '.join(str(error).split())}") from None
